"""Conditions as JSONata booleans: what a Choice ``Condition`` evaluates natively.

The text has exactly the meaning of :func:`contract.conditions.evaluate`, the
reference semantics: a missing operand is ``null``, ordering compares numbers with numbers
and strings with strings (anything else is false), ``eq`` is JSON equality at every depth
(``1 = 1.0``, ``true`` is not ``1``: JSONata's ``=`` is deep and typed), ``in`` is
membership by that equality, ``contains``/``startsWith``/``endsWith`` are string tests.

Each leaf binds its operands once — ``($l := <left>; $r := <right>; <test>)`` — so a long
path is written once and evaluated once; a literal operand is written in place, and the
type tests a literal makes unnecessary are left out, so the common case reads as a person
would write it: ``($l := $fetch.body.total; $type($l) = 'number' and $l > 100)``.

``matches`` has no native form: JSONata builds regular expressions only from literals,
and Python's, Rust's (jsonatapy, locally) and JavaScript's (AWS) regular expressions
differ. :func:`condition_jsonata` returns ``None`` for a condition that uses it; the
compiler asks the evaluator Lambda instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract.conditions import evaluate
from contract.expressions import has_expression, iter_strings
from contract.jsonata.lexer import quote_string
from contract.problems import json_type

# The JSONata text of an operand: a template's expression (yielding a value, or nothing
# for a missing path) — the caller translates roots; literals are handled here, and so
# are lists and objects, whose templates (at any depth) each become the operand's text.
Operand = Callable[[str], str]

_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def condition_jsonata(condition: dict[str, Any], operand: Operand) -> str | None:
    """A JSONata boolean with the meaning of ``condition`` (None: it uses ``matches``)."""
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        parts = [condition_jsonata(c, operand) for c in condition[key]]
        if any(p is None for p in parts):
            return None
        joined = f" {'and' if key == 'all' else 'or'} ".join(f"({p})" for p in parts if p is not None)
        return joined if len(parts) > 1 else str(parts[0])
    if "not" in condition:
        inner = condition_jsonata(condition["not"], operand)
        return None if inner is None else f"$not({inner})"
    if "expression" in condition:
        return f"({operand(condition['expression'])}) = true"
    return _leaf(condition, operand)


def _leaf(leaf: dict[str, Any], operand: Operand) -> str | None:
    op = leaf["op"]
    if op == "matches":
        return None
    left = _Side(leaf["left"], operand, "$l")
    if op == "exists":
        return left.bind(f"$type({left}) != 'null'")
    if op == "isEmpty":
        return left.bind(_is_empty(str(left)))
    right = _Side(leaf["right"], operand, "$r")
    return left.bind(right.bind(_BINARY[op](left, right)))


class _Side:
    """One operand: a literal written in place, or a template — or a list or object holding
    templates — bound to a local variable."""

    def __init__(self, value: Any, operand: Operand, name: str) -> None:
        self.literal = not _has_template(value)
        self.value = value
        if self.literal:
            self.text = literal(value)
        elif isinstance(value, str):
            self.text = operand(value)
        else:  # each template as a whole string keeps its value's type, within text is text
            self.text = value_text(value, lambda text: f"({operand(text)})" if has_expression(text) else None)
        # A list or object is one whatever its templates yield: its type is known here.
        self.known = self.literal or not isinstance(value, str)
        self.name = name

    def __str__(self) -> str:
        return self.text if self.literal else self.name

    def bind(self, test: str) -> str:
        return test if self.literal else f"({self.name} := {self.text}; {test})"

    def is_type(self, kind: str) -> str | None:
        """The test that this side is of JSON type ``kind`` (None: a literal that is)."""
        if self.known:
            return None if json_type(self.value) == kind else "false"
        return f"$type({self.name}) = '{kind}'"


def _is_empty(value: str) -> str:
    return (
        f"$not($exists({value})) or $type({value}) = 'null'"
        f" or ($type({value}) = 'string' and $length({value}) = 0)"
        f" or ($type({value}) = 'array' and $count({value}) = 0)"
        f" or ($type({value}) = 'object' and $count($keys({value})) = 0)"
    )


def _ordered(symbol: str) -> Callable[[_Side, _Side], str]:
    def test(left: _Side, right: _Side) -> str:
        compare = f"{left} {symbol} {right}"
        kinds = []
        for kind in ("number", "string"):
            checks = [c for c in (left.is_type(kind), right.is_type(kind)) if c is not None]
            if "false" in checks:
                continue
            kinds.append(" and ".join(checks) if checks else "true")
        if not kinds:
            return "false"
        if "true" in kinds:
            return compare
        typed = " or ".join(f"({k})" if len(kinds) > 1 and " and " in k else k for k in kinds)
        return f"({typed}) and {compare}" if len(kinds) > 1 else f"{typed} and {compare}"

    return test


def _string_test(make: Callable[[str, str], str]) -> Callable[[_Side, _Side], str]:
    def test(left: _Side, right: _Side) -> str:
        checks = [c for c in (left.is_type("string"), right.is_type("string")) if c is not None]
        if "false" in checks:
            return "false"
        return " and ".join([*checks, make(str(left), str(right))])

    return test


def _equal(left: _Side, right: _Side) -> str:
    # JSONata's = is deep and typed; a missing side is undefined, and undefined = x is
    # false even for null, where the reference semantics (missing is null) says true.
    if left.literal and right.literal:
        return "true" if _json_equal(left.value, right.value) else "false"
    null_literal = (left.literal and left.value is None) or (right.literal and right.value is None)
    if null_literal:
        other = right if left.literal else left
        return f"$type({other}) = 'null' or $not($exists({other}))"
    return f"{_defined(left)} = {_defined(right)}"


def _defined(side: _Side) -> str:
    return str(side) if side.known else f"($exists({side}) ? {side} : null)"


def _in(left: _Side, right: _Side) -> str:
    if right.literal and not isinstance(right.value, list):
        return "false"
    kind = right.is_type("array")
    member = f"$exists($filter({right}, function($x) {{ $x = {_defined(left)} }}))"
    return member if kind is None else f"{kind} and {member}"


_BINARY: dict[str, Callable[[_Side, _Side], str]] = {
    **{op: _ordered(symbol) for op, symbol in _ORDER.items()},
    "eq": _equal,
    "ne": lambda left, right: f"$not({_equal(left, right)})",
    "in": _in,
    "contains": _string_test(lambda a, b: f"$contains({a}, {b})"),
    "startsWith": _string_test(lambda a, b: f"$substring({a}, 0, $length({b})) = {b}"),
    "endsWith": _string_test(
        lambda a, b: f"$length({a}) >= $length({b}) and $substring({a}, $length({a}) - $length({b})) = {b}"
    ),
}


def literal(value: Any) -> str:
    """A JSON value as JSONata text, strings in single quotes (Step Functions writes
    expressions inside JSON strings, where double quotes would need escaping)."""
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def value_text(value: Any, template: Callable[[str], str | None]) -> str:
    """A JSON value as one JSONata expression: a string ``template`` gives a text for is
    evaluated in place (None: written as a literal).

    Each string is one item of its list, whatever it yields: an array constructor splices in
    an item that yields an array unless the item is itself a constructor (``[$x, 1]`` is
    ``[1, 2, 1]`` when ``$x`` is ``[1, 2]``), so a list holding evaluated items is joined with
    ``$append`` from one-item lists — ``[[$x]]`` is ``[[1, 2]]`` (``[$x]`` of an array is
    the array itself)."""
    if isinstance(value, str):
        text = template(value)
        return literal(value) if text is None else text
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{literal(str(k))}: {value_text(v, template)}" for k, v in value.items()) + "}"
        )
    if not isinstance(value, list):
        return literal(value)
    texts = [value_text(v, template) for v in value]
    if all(text == literal(v) or isinstance(v, dict) for text, v in zip(texts, value, strict=True)):
        return "[" + ", ".join(texts) + "]"
    parts: list[str] = []
    run: list[str] = []  # literal items in a row: one constructor
    for text, item in zip(texts, value, strict=True):
        if text == literal(item) or isinstance(item, dict):  # an object is one item
            run.append(text)
            continue
        if run:
            parts.append("[" + ", ".join(run) + "]")
            run = []
        parts.append(f"($e := {text}; $type($e) = 'array' ? [[$e]] : [$e])")
    if run:
        parts.append("[" + ", ".join(run) + "]")
    joined = parts[0]
    for part in parts[1:]:
        joined = f"$append({joined}, {part})"
    return joined


def _has_template(value: Any) -> bool:
    return any(has_expression(text) for _, text in iter_strings(value))


def _json_equal(left: Any, right: Any) -> bool:
    return evaluate({"left": left, "op": "eq", "right": right}, lambda v: v)


__all__ = ["condition_jsonata", "literal", "value_text"]
