"""``routines migrate FILE [--write]``: JSONPath-dialect expressions rewritten as JSONata.

The file is edited in place, byte for byte: only the JSON strings holding a rewritten
expression change (re-encoded with ``json.dumps``, non-ASCII kept); whitespace, key order,
number spelling and every other string stay exactly as they were. Inside a rewritten
string only the expression between ``{{`` and ``}}`` changes.
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
        rewritten, found = _rewrite(value)
        if not found:
            continue
        out.append(text[pos : match.start()])
        out.append(json.dumps(rewritten, ensure_ascii=False))
        pos = match.end()
        where = join_path("", *path)
        changes.extend((where, old, new) for old, new in found)
    out.append(text[pos:])
    return "".join(out), changes


def _rewrite(value: str) -> tuple[str, list[tuple[str, str]]]:
    """The string with each JSONPath expression replaced by its JSONata form."""
    found: list[tuple[str, str]] = []
    out: list[str] = []
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
        out.append(value[pos : opening + 2])
        if expression is not None and expression.dialect == "jsonpath":
            lead = inner[: len(inner) - len(inner.lstrip())]
            trail = inner[len(inner.rstrip()) :]
            out.append(f"{lead}{expression.jsonata}{trail}")
            found.append((expression.source, expression.jsonata))
        else:
            out.append(inner)
        out.append("}}")
        pos = close + 2
    out.append(value[pos:])
    return "".join(out), found


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
