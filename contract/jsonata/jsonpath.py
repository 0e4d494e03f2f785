"""The older JSONPath dialect: detection, and translation to the equivalent JSONata.

Expressions written before ``{{ }}`` held JSONata used JSONPath (jsonpath-ng): ``[*]``,
recursive descent ``..``, filters ``[?(@.x > 1)]``, slices ``[0:2]``, unions ``[0,1]`` and
bracketed fields ``["a b"]``. They are read with jsonpath-ng and rewritten:

==========================  ===========================================
JSONPath                    JSONata
==========================  ===========================================
``$.nodes.a``               ``nodes.a``
``a[*].id`` / ``a[*]``      ``a.id`` / ``a.$`` (each element)
``a.*``                     ``a.*``
``a..id``                   ``a.**.id``
``a[0,2]``                  ``a[[0, 2]]``
``a[1:3]``                  ``a[[1..2]]``
``a[-2:]``, ``a[::2]``      ``$filter(a, function($v, $i, $a) {…})``
``a[?(@.p > 1 && @.q)]``    ``a[p > 1 and $exists(q)]``
``a[?(@.p < 1 || !@.q)]``   ``a[p < 1 or $not($exists(q))]``
``a[?(@.p > $.vars.m)]``    ``a[p > $$.vars.m]`` (a root, inside brackets)
``a[?(@.n =~ "^x")]``       ``a[$contains(n, /^x/)]``
``a["b c"]``                ``a.`b c```
``secrets.api-key``         ``secrets.`api-key```
==========================  ===========================================

A path that matches one value gives that value, several a list: JSONata's singleton rule,
which is also how this product read JSONPath before JSONata (one match, the value itself),
so routines that relied on it keep working. A loop over a filter wants ``[]`` at its end.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from jsonpath_ng.jsonpath import Child, Descendants, Fields, Index, JSONPath, Root, Slice, This, Wildcard

from contract.errors import RoutinesError
from contract.jsonata.lexer import Token, field_text, quote_string

_parsers = threading.local()
_WORDS = ("and", "or", "in")
ROOT_NAMES = frozenset({"trigger", "nodes", "vars", "loop", "execution", "secrets", "item"})


class JsonPathError(RoutinesError, ValueError):
    """A JSONPath expression that does not parse, or that has no JSONata equivalent here."""


def looks_like_jsonpath(tokens: Sequence[Token]) -> bool:
    """Whether the tokens use a JSONPath-only construct (see the module docstring).

    JSONata's own ``..`` (a range inside an array constructor, ``[1..5]``) is not one."""
    stack: list[bool] = []  # per open '[': is it an array constructor?
    prev: Token | None = None
    for i, tok in enumerate(tokens):
        if tok.is_op("["):
            operand = prev is None or (prev.kind == "op" and prev.value not in (")", "]", "}", "*"))
            operand = operand or (prev is not None and prev.kind == "name" and prev.value in _WORDS)
            if not operand and _bracket_is_jsonpath(tokens, i + 1):
                return True
            stack.append(operand)
        elif tok.is_op("]") and stack:
            stack.pop()
        elif (tok.is_op("..") and not (stack and stack[-1])) or (tok.is_op("-") and _hyphenated(tokens, i)):
            return True
        prev = tok
    return False


def _hyphenated(tokens: Sequence[Token], i: int) -> bool:
    """``secrets.api-key``: a '-' touching a field step and a name that is no root — a
    field name with a hyphen to JSONPath, a subtraction to JSONata (``secrets.`api-key```)."""
    if i < 2 or i + 1 >= len(tokens):
        return False
    before, after = tokens[i - 1], tokens[i + 1]
    return (
        tokens[i - 2].is_op(".")
        and before.kind == "name"
        and after.kind == "name"
        and before.end == tokens[i].start
        and tokens[i].end == after.start
        and after.value not in ROOT_NAMES
    )


def _bracket_is_jsonpath(tokens: Sequence[Token], j: int) -> bool:
    """After a '[' that follows an operand: ``*]``, ``?``, a slice, a union or ``"field"]``."""
    if j >= len(tokens):
        return False
    first = tokens[j]
    if first.is_op("?"):
        return True
    if first.is_op("*") and j + 1 < len(tokens) and tokens[j + 1].is_op("]"):
        return True
    if first.kind == "string" and j + 1 < len(tokens) and tokens[j + 1].is_op("]", ","):
        return True
    inside: list[Token] = []
    for tok in tokens[j:]:
        if tok.is_op("]"):
            break
        inside.append(tok)
    simple = all(t.kind == "number" or t.is_op("-", ":", ",") for t in inside)
    return simple and any(t.is_op(":", ",") for t in inside)


def _parse(source: str) -> Any:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        from jsonpath_ng.ext.parser import ExtendedJsonPathParser

        parser = _parsers.parser = ExtendedJsonPathParser()
    return parser.parse(source)


def to_jsonata(source: str, tokens: Sequence[Token] = ()) -> str:
    """The JSONata text meaning what the JSONPath ``source`` meant here (see above: one
    match is the value itself). Inside a filter, ``$`` (the root) is ``$$``."""
    if source.lstrip()[:1] in ("'", '"'):
        raise JsonPathError("a quoted string is text, not a path")
    try:
        parsed = _parse(source)
    except Exception as exc:  # jsonpath-ng raises bare Exceptions from its lexer and parser
        raise JsonPathError(f"not a valid path: {exc}") from None
    # '[*]' and '.*' parse alike; the text tells them apart, in order.
    styles = [tokens[i - 1].is_op("[") for i, t in enumerate(tokens) if t.is_op("*") and i > 0]
    writer = _Writer(styles)
    try:
        text = writer.path(parsed)
    except JsonPathError:
        raise
    except Exception:  # a construct of jsonpath-ng's this translator does not know
        raise JsonPathError("a part of this path has no JSONata equivalent here") from None
    return text


_OR, _AND = 1, 2  # precedences, loosest first


class _Writer:
    def __init__(self, bracket_wildcards: list[bool]) -> None:
        self.bracket_wildcards = bracket_wildcards
        self.depth = 0  # > 0 inside a filter condition

    def path(self, node: Any) -> str:
        chain = _flatten(node)
        text = ""
        for index, segment in enumerate(chain):
            text = self.step(text, segment, index == len(chain) - 1)
        return text or "$"

    def step(self, text: str, segment: Any, last: bool) -> str:
        if isinstance(segment, Root):
            return "$$" if self.depth else text  # inside brackets a root is reached from '$$'
        if type(segment) is This:  # not a subclass: a sort ('[/price]') is one
            return text  # '@': the item in hand, which a JSONata predicate starts from
        if isinstance(segment, tuple):  # ("descend", right): recursive descent
            if not text or text == "$$":
                raise JsonPathError("'$..' searches the whole state: start from a root, e.g. nodes.fetch..id")
            return self.step(f"{text}.**", segment[1], last)
        if isinstance(segment, Wildcard) or (isinstance(segment, Slice) and _all(segment)):
            bracket = self.bracket_wildcards.pop(0) if self.bracket_wildcards else True
            if isinstance(segment, Slice) or bracket:
                return f"{text}.$" if last else text  # each element
            return f"{text}.*" if text else "*"
        if isinstance(segment, Fields):
            if len(segment.fields) != 1:
                raise JsonPathError("a union of fields has no JSONata path equivalent: write an object")
            name = field_text(segment.fields[0])
            return f"{text}.{name}" if text else name
        if isinstance(segment, Index):
            if len(segment.indices) == 1:
                return f"{text}[{segment.indices[0]}]"
            return f"{text}[[{', '.join(str(i) for i in segment.indices)}]]"
        if isinstance(segment, Slice):
            return _slice(text, segment)
        if _kind(segment) == "Filter":
            self.depth += 1
            try:
                return f"{text}[{self.conjunction(segment.expressions, _OR)}]"
            finally:
                self.depth -= 1
        raise JsonPathError(f"'{segment}' has no JSONata equivalent here")

    def conjunction(self, expressions: Sequence[Any], outer: int) -> str:
        """``&&`` of ``expressions``, parenthesized when ``outer`` binds tighter."""
        if len(expressions) == 1:
            return self.condition(expressions[0], outer)
        text = " and ".join(self.condition(e, _AND) for e in expressions)
        return f"({text})" if outer > _AND else text

    def condition(self, expression: Any, outer: int) -> str:
        kind = _kind(expression)  # jsonpath_ng.ext.filter's classes, which load with its parser
        if kind == "Or":
            text = " or ".join(self.condition(e, _OR) for e in expression.operands)
            return f"({text})" if outer > _OR else text
        if kind == "And":
            return self.conjunction(expression.operands, outer)
        if kind != "Expression":
            raise JsonPathError(f"the filter '{expression}' has no JSONata equivalent here")
        target = self.path(expression.target)
        op, value = expression.op, expression.value
        if op is None:
            return f"$exists({target})"
        if op == "!":
            return f"$not($exists({target}))"
        if op == "=~":
            if not isinstance(value, str):
                raise JsonPathError("'=~' needs a regular expression in quotes")
            return f"$contains({target}, /{value}/)"
        ops = {"==": "=", "=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        if op not in ops:
            raise JsonPathError(f"the filter operator '{op}' has no JSONata equivalent here")
        right = self.path(value) if isinstance(value, JSONPath) else _literal(value)
        return f"{target} {ops[op]} {right}"


def _kind(node: Any) -> str:
    return type(node).__name__


def _all(segment: Slice) -> bool:
    return segment.start is None and segment.end is None and segment.step in (None, 1)


def _slice(text: str, segment: Slice) -> str:
    start, end, step = segment.start, segment.end, segment.step
    if (start or 0) >= 0 and end is not None and end >= 0 and step in (None, 1):
        first = start or 0
        if end <= first:
            return f"{text}[false]"
        return f"{text}[[{first}..{end - 1}]]"
    tests: list[str] = []
    if start is not None:
        tests.append(f"$i >= {start}" if start >= 0 else f"$i >= $count($a) - {-start}")
    if end is not None:
        tests.append(f"$i < {end}" if end >= 0 else f"$i < $count($a) - {-end}")
    if step not in (None, 1):
        if step <= 0:
            raise JsonPathError("a slice step must be positive")
        tests.append(f"($i - {max(start or 0, 0)}) % {step} = 0" if (start or 0) >= 0 else f"$i % {step} = 0")
    body = " and ".join(tests) or "true"
    return f"$filter({text}, function($v, $i, $a) {{ {body} }})"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return quote_string(value)
    return json.dumps(value)


def _flatten(node: Any) -> list[Any]:
    """Left-deep Child/Descendants chains → segments (descents marked), iteratively."""
    out: list[Any] = []
    while isinstance(node, Child | Descendants):
        right = _flatten(node.right)
        if isinstance(node, Descendants):
            right[0] = ("descend", right[0])
        out[:0] = right
        node = node.left
    out.insert(0, node)
    return out


__all__ = ["JsonPathError", "looks_like_jsonpath", "to_jsonata"]
