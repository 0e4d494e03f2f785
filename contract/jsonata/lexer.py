"""A JSONata tokenizer, with positions: for finding references and rewriting text.

It follows jsonata.js's tokenizer (strings with JSON escapes, backtick names, numbers,
``/regex/flags`` where an operand is expected, ``/* */`` comments, ``$name``/``$``/``$$``
variables, names ending at whitespace or an operator character). The engine's parser has
the final word on syntax (:func:`contract.jsonata.engine.compile_expression`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from contract.errors import RoutinesError

Kind = Literal["string", "number", "value", "name", "variable", "regex", "op"]

# Operator characters end names (jsonata.js's ``operators`` table).
_OPERATOR_CHARS = frozenset(".[]{}(),@#;:?+-*/%|=<>^&!~")
_TWO = ("..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??")
_NUMBER = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WORD_OPS = frozenset({"and", "or", "in"})
_VALUES: dict[str, Any] = {"true": True, "false": False, "null": None}
# After these an operand ends, so a '/' divides; anywhere else it starts a regex.
_OPERAND_END_OPS = frozenset({")", "]", "}"})


class LexError(RoutinesError, ValueError):
    """Text that is not JSONata tokens; ``position`` is the offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``value`` is the decoded string, the number, the name (without ``$`` for
    a variable: ``""`` for ``$``, ``"$"`` for ``$$``), or the operator text. ``start`` and
    ``end`` are offsets in the source; ``quoted`` marks a backtick name."""

    kind: Kind
    value: Any
    start: int
    end: int
    quoted: bool = False

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    @property
    def ends_operand(self) -> bool:
        if self.kind == "op":
            return self.value in _OPERAND_END_OPS
        return not (self.kind == "name" and not self.quoted and self.value in _WORD_OPS)


def tokenize(text: str, start: int = 0) -> list[Token]:
    """The tokens of ``text`` from ``start``."""
    return _scan(text, start, stop_at_close=False)[0]


def template_end(text: str, start: int) -> int:
    """The offset of the ``}}`` that closes a ``{{`` whose expression starts at ``start``
    (a ``}}`` closing an object inside the expression, or inside a string, is not it)."""
    return _scan(text, start, stop_at_close=True)[1]


def _scan(text: str, start: int, *, stop_at_close: bool) -> tuple[list[Token], int]:
    tokens: list[Token] = []
    pos = start
    length = len(text)
    depth = 0
    while True:
        pos = _skip_space(text, pos)
        if pos >= length:
            if stop_at_close:
                raise LexError("'{{' is never closed by '}}'", start)
            return tokens, pos
        char = text[pos]
        if stop_at_close and depth == 0 and text.startswith("}}", pos):
            return tokens, pos
        prev = tokens[-1] if tokens else None
        if char == "/" and (prev is None or not prev.ends_operand):
            token = _regex(text, pos)
        elif text[pos : pos + 2] in _TWO:
            token = Token("op", text[pos : pos + 2], pos, pos + 2)
        elif char in _OPERATOR_CHARS:
            token = Token("op", char, pos, pos + 1)
            depth += 1 if char == "{" else -1 if char == "}" else 0
        elif char in "\"'":
            token = _string(text, pos)
        elif char == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise LexError("a name in backticks is never closed", pos)
            token = Token("name", text[pos + 1 : end], pos, end + 1, quoted=True)
        elif (number := _NUMBER.match(text, pos)) is not None:
            token = Token("number", _number(number.group()), pos, number.end())
        else:
            token = _word(text, pos)
        tokens.append(token)
        pos = token.end


def _skip_space(text: str, pos: int) -> int:
    length = len(text)
    while pos < length:
        if text[pos] in " \t\n\r\v":
            pos += 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise LexError("a comment is never closed ('*/')", pos)
            pos = end + 2
        else:
            break
    return pos


def _number(text: str) -> int | float:
    value = float(text)
    return int(text) if text.isdigit() else value


def _string(text: str, pos: int) -> Token:
    quote = text[pos]
    out: list[str] = []
    i = pos + 1
    length = len(text)
    while i < length:
        char = text[i]
        if char == quote:
            return Token("string", "".join(out), pos, i + 1)
        if char == "\\":
            escape = text[i + 1 : i + 2]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
                i += 2
                continue
            if escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                code = int(text[i + 2 : i + 6], 16)
                i += 6
                # a surrogate pair written as two escapes is one character
                if 0xD800 <= code < 0xDC00 and re.fullmatch(
                    r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", text[i : i + 6]
                ):
                    low = int(text[i + 2 : i + 6], 16)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                out.append(chr(code))
                continue
            raise LexError(f"unsupported escape '\\{escape}' in a string", i)
        out.append(char)
        i += 1
    raise LexError("a string is never closed", pos)


def _regex(text: str, pos: int) -> Token:
    """``/pattern/flags`` as jsonata.js scans it (brackets nest; ``\\/`` is no end)."""
    depth = 0
    i = pos + 1
    length = len(text)
    while i < length:
        char = text[i]
        if char == "/" and depth == 0 and _unescaped(text, i):
            pattern = text[pos + 1 : i]
            if not pattern:
                raise LexError("an empty regular expression", pos)
            i += 1
            flags_start = i
            while i < length and text[i] in "im":
                i += 1
            return Token("regex", (pattern, text[flags_start:i]), pos, i)
        if char in "([{" and text[i - 1] != "\\":
            depth += 1
        elif char in ")]}" and text[i - 1] != "\\":
            depth -= 1
        i += 1
    raise LexError("a regular expression is never closed ('/')", pos)


def _unescaped(text: str, i: int) -> bool:
    backslashes = 0
    while text[i - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 0


def _word(text: str, pos: int) -> Token:
    i = pos
    length = len(text)
    while i < length and text[i] not in " \t\n\r\v" and text[i] not in _OPERATOR_CHARS:
        if i > pos and text[i] in "\"'`":
            break
        i += 1
    word = text[pos:i]
    if word.startswith("$"):
        return Token("variable", word[1:], pos, i)
    if word in _VALUES:
        return Token("value", _VALUES[word], pos, i)
    if not word:
        raise LexError(f"unexpected character {text[pos]!r}", pos)
    return Token("name", word, pos, i)


def quote_string(value: str) -> str:
    """``value`` as a single-quoted JSONata string literal (``'`` written ``\\u0027``:
    JSONata has no ``\\'`` escape)."""
    out: list[str] = []
    for char in value:
        if char == "'":
            out.append("\\u0027")
        elif char == "\\":
            out.append("\\\\")
        elif char < " " or char in "\u2028\u2029":
            named = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
            out.append(named or f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_text(name: str) -> str:
    """A field name as JSONata spells it: bare when it is a plain name, else in backticks."""
    if _PLAIN_NAME.fullmatch(name) and name not in _WORD_OPS and name not in _VALUES and name != "function":
        return name
    return f"`{name}`"


__all__ = ["LexError", "Token", "field_text", "quote_string", "template_end", "tokenize"]
