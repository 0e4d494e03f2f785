"""Rewriting a JSONata expression: root references become whatever the caller binds them to.

:func:`translate` gives the text with each root reference's head (``nodes.fetch``,
``$$.vars.limit``, a bare ``trigger``) replaced by ``root_text(reference)`` — ``$states…``
in a Step Functions definition, a bound variable in the plugin Lambdas — and every string
literal re-quoted with single quotes (Step Functions writes ``{% %}`` inside JSON strings,
where double quotes would need escaping).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from contract.jsonata.lexer import Token, quote_string
from contract.jsonata.references import Reference

RootText = Callable[[Reference], str]
_SIMPLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|`[^`]*`))*")


def is_simple(text: str) -> bool:
    """A ``$name(.field)*`` chain: safe to splice into a path without parentheses."""
    return _SIMPLE.fullmatch(text) is not None


def translate(
    expression: str, root_text: RootText, references: Sequence[Reference], tokens: Sequence[Token]
) -> str:
    """``expression`` with its root references replaced and its strings single-quoted.

    ``references`` and ``tokens`` are the expression's own (see
    :func:`contract.jsonata.references.analyze`)."""
    edits: list[tuple[int, int, str]] = []
    for ref in references:
        replacement = root_text(ref)
        edits.append((ref.start, ref.end, replacement if is_simple(replacement) else f"({replacement})"))
    heads = [(ref.start, ref.end) for ref in references]
    for token in tokens:
        if token.kind == "string" and not any(s <= token.start < e for s, e in heads):
            quoted = quote_string(token.value)
            if quoted != expression[token.start : token.end]:
                edits.append((token.start, token.end, quoted))
    edits.sort()
    out: list[str] = []
    pos = 0
    for start, end, text in edits:
        out.append(expression[pos:start])
        out.append(text)
        pos = end
    out.append(expression[pos:])
    return "".join(out)


def whole(expression: str) -> str:
    """One expression whose undefined (no match) is ``null``: Step Functions fails a field
    whose expression yields nothing, and an output never holds JSONata's undefined."""
    return f"($v := {_operand(expression)}; $exists($v) ? $v : null)"


def piece(expression: str) -> str:
    """One interpolated expression, as text: undefined and null are ``""``, strings raw,
    anything else as ``$string`` writes it (which ``&`` applies)."""
    return f"($v := {_operand(expression)}; $v = null ? '' : $v)"


def _operand(expression: str) -> str:
    if is_simple(expression) or re.fullmatch(r"[A-Za-z_][\w.]*", expression):
        return expression
    return f"({expression})"


def concatenate(parts: Sequence[str | tuple[str]]) -> str:
    """``'lit' & piece & 'lit'``: strings are literals, 1-tuples hold expressions."""
    pieces = [quote_string(p) if isinstance(p, str) else piece(p[0]) for p in parts]
    if not pieces:
        return "''"
    if len(pieces) == 1 and isinstance(parts[0], tuple):
        return f"'' & {pieces[0]}"  # & makes the text of a lone piece
    return " & ".join(pieces)


__all__ = ["RootText", "concatenate", "is_simple", "piece", "translate", "whole"]
