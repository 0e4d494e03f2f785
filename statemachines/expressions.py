"""``{{ ... }}`` expressions: parsing, the references they make, and evaluation.

An expression is a JSONPath (jsonpath-ng) whose first segment is a root: ``trigger``,
``nodes``, ``vars``, ``loop``, ``execution``, ``secrets`` or, inside filter conditions,
``item``. A string that is exactly one expression yields the raw value; any other string
containing expressions yields interpolated text. The same parser serves the save-time
validator, the compiler's liveness analysis and the plugin runtime.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonpath_ng import jsonpath
from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This
from jsonpath_ng.parser import JsonPathParser

from statemachines.limits import MAX_EXPRESSION_LENGTH

ROOTS = ("trigger", "nodes", "vars", "loop", "execution", "secrets", "item")
EXECUTION_FIELDS = ("id", "routineId", "startedAt")
LOOP_FIELDS = ("item", "index")

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# jsonpath_ng.parse() builds a new lexer and LALR parser per call, which dominates the cost
# of validating large routines; keep one parser per thread instead (ply parsers hold state).
_parsers = threading.local()


def _jsonpath_parse(source: str) -> Any:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = JsonPathParser()
    return parser.parse(source)


class ExpressionSyntaxError(ValueError):
    """An expression that does not parse; ``message`` says why, for the user."""


class ExpressionTooLong(ExpressionSyntaxError):
    """An expression over the product limit (reported as ``limit_exceeded``)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """What one expression reads: its root, the name under the root, and the full path.

    ``nodes.fetch.body.id`` → root ``nodes``, name ``fetch``, steps ``("body", "id")``.
    ``steps`` stops at the first segment that is not a plain field or index.
    """

    source: str
    root: str
    name: str | None
    steps: tuple[str | int, ...]
    plain: bool = True  # steps spell out the whole path (no wildcard, slice or filter)


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    reference: Reference
    path: Any  # the parsed jsonpath, relative to the root
    # The path's steps when it is plain fields and indices (``nodes.a.items[0].sku``):
    # found by walking them, as jsonpath-ng would find them (see ``_walk``).
    walk: tuple[str | int, ...] | None = None

    def find(self, context: Mapping[str, Any]) -> list[Any]:
        """All values the path selects in ``context`` (empty when absent)."""
        root_value = context.get(self.reference.root)
        if self.path is None:
            return [] if root_value is None and self.reference.root not in context else [root_value]
        if root_value is None:
            return []
        if self.walk is not None and jsonpath.auto_id_field is None:
            return _walk(root_value, self.walk)
        return [match.value for match in self.path.find(root_value)]


def _walk(value: Any, steps: tuple[str | int, ...]) -> list[Any]:
    """jsonpath-ng's ``Fields``/``Index`` chain, step by step: a field is ``value.get``
    (no match when absent, or when the value has no ``get``); an index matches a list or
    tuple it lies within, counting from the end when negative."""
    for step in steps:
        if type(step) is int:
            if not isinstance(value, list | tuple) or not -len(value) <= step < len(value):
                return []
            value = value[step]
        else:
            try:
                found = value.get(step, _ABSENT)
            except (TypeError, AttributeError):
                return []
            if found is _ABSENT:
                return []
            value = found
    return [value]


_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Template:
    """A string parameter split into literal text and expressions."""

    parts: tuple[str | Expression, ...]

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p for p in self.parts if isinstance(p, Expression))

    @property
    def whole(self) -> Expression | None:
        """The expression, when the string is exactly one (so it yields a raw value)."""
        parts = [p for p in self.parts if not (isinstance(p, str) and not p.strip())]
        return parts[0] if len(parts) == 1 and isinstance(parts[0], Expression) else None

    def render(self, context: Mapping[str, Any]) -> Any:
        whole = self.whole
        if whole is not None:
            return first_or_none(whole.find(context))
        out: list[str] = []
        for part in self.parts:
            out.append(part if isinstance(part, str) else _as_text(first_or_none(part.find(context))))
        return "".join(out)


def has_expression(text: str) -> bool:
    return "{{" in text


def parse_template(text: str) -> Template:
    """Split ``text`` into literals and parsed expressions; raise on the first bad one."""
    # A template is immutable: every invocation of a node parses the same few texts.
    return _cached_template(text) if len(text) <= MAX_CACHED_TEMPLATE else _parse_template(text)


MAX_CACHED_TEMPLATE = 4_096  # characters: longer texts (an e-mail body) are parsed each time


@lru_cache(maxsize=8_192)
def _cached_template(text: str) -> Template:
    return _parse_template(text)


def _parse_template(text: str) -> Template:
    parts: list[str | Expression] = []
    pos = 0
    for match in _TEMPLATE.finditer(text):
        literal = text[pos : match.start()]
        _reject_unclosed(literal)
        if literal:
            parts.append(literal)
        parts.append(parse_expression(match.group(1)))
        pos = match.end()
    tail = text[pos:]
    _reject_unclosed(tail)
    if tail:
        parts.append(tail)
    return Template(tuple(parts))


def _reject_unclosed(literal: str) -> None:
    if "{{" in literal:
        raise ExpressionSyntaxError("'{{' is never closed by '}}'")


def parse_expression(source: str) -> Expression:
    return _parse_expression(source.strip())


@lru_cache(maxsize=32_768)  # a routine has at most ~10k expressions: keep them all parsed
def _parse_expression(source: str) -> Expression:
    if not source:
        raise ExpressionSyntaxError("empty expression '{{ }}'")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionTooLong(
            f"the expression is {len(source):,} characters; expressions are at most {MAX_EXPRESSION_LENGTH:,}"
        )
    try:
        parsed = _jsonpath_parse(source)
    except Exception as exc:  # jsonpath-ng raises bare Exceptions from its lexer and parser
        raise ExpressionSyntaxError(f"'{source}' is not a valid path: {exc}") from None
    chain = _flatten(parsed)
    if chain and isinstance(chain[0], Root):
        chain = chain[1:]
    if not chain or not _is_single_field(chain[0]):
        raise ExpressionSyntaxError(
            f"'{source}' must start with one of: {', '.join(r for r in ROOTS if r != 'item')}"
        )
    root = chain[0].fields[0]
    steps = _plain_steps(chain[1:])
    name = steps[0] if steps and isinstance(steps[0], str) else None
    plain = len(steps) == len(chain) - 1
    reference = Reference(source=source, root=root, name=name, steps=steps, plain=plain)
    wildcards = any(getattr(segment, "_deprecated_wildcard_use", False) for segment in chain[1:])
    walk = steps if plain and steps and not wildcards else None
    return Expression(source=source, reference=reference, path=_rebuild(chain[1:]), walk=walk)


def _flatten(node: Any) -> list[Any]:
    """Left-deep ``Child`` chains → list of segments, iteratively (no recursion limit)."""
    out: list[Any] = []
    while isinstance(node, Child):
        out.append(node.right)
        node = node.left
    out.append(node)
    out.reverse()
    return out


def _is_single_field(segment: Any) -> bool:
    return isinstance(segment, Fields) and len(segment.fields) == 1


def _plain_steps(chain: list[Any]) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    for segment in chain:
        if _is_single_field(segment):
            steps.append(segment.fields[0])
        elif isinstance(segment, Index) and len(segment.indices) == 1:
            steps.append(segment.indices[0])
        else:
            break
    return tuple(steps)


def _rebuild(chain: list[Any]) -> Any:
    if not chain:
        return None
    path: Any = chain[0]
    for segment in chain[1:]:
        path = Child(path, segment)
    return path if not isinstance(path, This) else None


def first_or_none(values: list[Any]) -> Any:
    """One match is the value; none is ``null``; several (a wildcard) are the list."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def iter_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside a JSON value, with its relative path, without recursion."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            yield here, item
        elif isinstance(item, dict):
            stack.extend(((*here, str(k)), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend(((*here, i), v) for i, v in reversed(list(enumerate(item))))


def map_strings(value: Any, text: Callable[[str], Any], key: Callable[[str], str] | None = None) -> Any:
    """A copy of a JSON value with ``text`` applied to every string (and ``key`` to every
    object key), without recursion: a deep value cannot overflow the stack."""
    if isinstance(value, str):
        return text(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            copy: Any = {}
            parent[slot] = copy
            for k, v in item.items():  # keys placed now, in their order; values filled later
                name = key(k) if key is not None and isinstance(k, str) else k
                copy[name] = None
                stack.append((v, copy, name))
        elif isinstance(item, list):
            copy = [None] * len(item)
            parent[slot] = copy
            stack.extend((v, copy, i) for i, v in enumerate(item))
        elif isinstance(item, str):
            parent[slot] = text(item)
        else:
            parent[slot] = item
    return root[0]


__all__ = [
    "EXECUTION_FIELDS",
    "LOOP_FIELDS",
    "ROOTS",
    "Expression",
    "ExpressionSyntaxError",
    "Reference",
    "Template",
    "first_or_none",
    "has_expression",
    "iter_strings",
    "map_strings",
    "parse_expression",
    "parse_template",
]
