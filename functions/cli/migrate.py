"""``routines migrate FILE [--write]``: JSONPath-dialect expressions rewritten as JSONata.

The file is edited in place, byte for byte: only the expressions between ``{{`` and ``}}``
that are rewritten change (the new text encoded with ``json.dumps``, non-ASCII kept);
whitespace, key order, number spelling, every other string and the rest of a rewritten
string, escapes (``\\u2014``) included, stay exactly as they were.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from contract.expressions import ExpressionSyntaxError, iter_strings, parse_expression
from contract.jsonata.lexer import LexError, template_end
from contract.problems import join_path
from functions.cli.loading import UnreadableFile, read_source

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEY_FOLLOWS = re.compile(r"\s*:")
_HIGH = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_LOW = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def migrate_text(text: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(new text, [(path, old expression, JSONata)]) for a routine document's text."""
    document = json.loads(text)
    values = [(path, value) for path, value in iter_strings(document)]
    changes: list[tuple[str, str, str]] = []
    out: list[str] = []
    pos = 0
    index = 0
    for match in _JSON_STRING.finditer(text):
        if _KEY_FOLLOWS.match(text, match.end()):
            continue  # an object key
        path, value = values[index]
        index += 1
        if "{{" not in value:
            continue
        edits, found = _rewrite(value)
        if not found:
            continue
        offsets = _raw_offsets(match.group())
        for start, end, replacement in edits:
            raw_start = match.start() + offsets[start]
            out.append(text[pos:raw_start])
            out.append(json.dumps(replacement, ensure_ascii=False)[1:-1])
            pos = match.start() + offsets[end]
        where = join_path("", *path)
        changes.extend((where, old, new) for old, new in found)
    out.append(text[pos:])
    return "".join(out), changes


def _rewrite(value: str) -> tuple[list[tuple[int, int, str]], list[tuple[str, str]]]:
    """([(start, end, JSONata)]: the spans of ``value`` holding a JSONPath expression, in
    order, with their replacement), [(old expression, JSONata)]."""
    edits: list[tuple[int, int, str]] = []
    found: list[tuple[str, str]] = []
    pos = 0
    while (opening := value.find("{{", pos)) >= 0:
        try:
            close = template_end(value, opening + 2)
        except LexError:
            close = value.find("}}", opening + 2)
            if close < 0:
                break
        inner = value[opening + 2 : close]
        try:
            expression = parse_expression(inner)
        except ExpressionSyntaxError:
            expression = None
        if expression is not None and expression.dialect == "jsonpath":
            start = opening + 2 + len(inner) - len(inner.lstrip())
            end = opening + 2 + len(inner.rstrip())
            edits.append((start, end, expression.jsonata))
            found.append((expression.source, expression.jsonata))
        pos = close + 2
    return edits, found


def _raw_offsets(literal: str) -> list[int]:
    """For a JSON string literal (quotes included), the offset in ``literal`` of each
    character of its decoded value, and of the end: escapes are several characters."""
    offsets: list[int] = []
    i, end = 1, len(literal) - 1
    while i < end:
        offsets.append(i)
        if literal[i] != "\\":
            i += 1
        elif literal[i + 1] != "u":
            i += 2
        elif _HIGH.fullmatch(literal, i, i + 6) and _LOW.fullmatch(literal, i + 6, i + 12):
            i += 12  # a surrogate pair: one character once decoded
        else:
            i += 6
    offsets.append(end)
    return offsets


def cmd_migrate(args: Any) -> int:
    raw = read_source(args.file)
    try:
        text = raw.decode("utf-8")
        new_text, changes = migrate_text(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableFile(f"cannot migrate {args.file}: not a JSON document ({exc})") from None
    for path, old, new in changes:
        print(f"{path or '(document)'}: {{{{ {old} }}}} → {{{{ {new} }}}}", file=sys.stderr)
    print(f"{len(changes)} expression(s) rewritten", file=sys.stderr)
    if args.write:
        if args.file == "-":
            raise UnreadableFile("--write needs a file, not '-'")
        if changes:
            Path(args.file).write_text(new_text, encoding="utf-8")
    else:
        sys.stdout.write(new_text)
    return 0


__all__ = ["cmd_migrate", "migrate_text"]
