"""Conditions → native Choice rules, with exactly the meaning of :func:`conditions.evaluate`.

Every comparison on a document path is guarded (``IsPresent`` plus a type test), so a
missing value or one of the wrong type makes the comparison false instead of failing the
execution — as in the reference semantics, where a missing value is ``null``. Operands the
compiler already knows (variables, nodes that cannot have run) are folded to constants, so
a condition may vanish entirely. What Choice rules cannot express exactly (``matches``,
``isEmpty``, equality of objects, two-path equality, interpolated text) yields ``None``: the
compiler then asks the condition-evaluator Lambda instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.conditions import evaluate
from contract.expressions import has_expression, parse_template

MAX_IN_LIST = 32  # 'in' against a longer literal list goes to the evaluator
_GLOB = re.compile(r"[*?\[\]\\]")


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class DocPath:
    path: str  # an ASL reference path into the state document


Operand = Const | DocPath | None  # None: not expressible as a Choice operand
Rule = dict[str, Any] | bool | None  # a Choice rule, a constant outcome, or "use the evaluator"
Resolver = Callable[[Any], Operand]

_FLIP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte", "eq": "eq", "ne": "ne"}
_NUMERIC = {"gt": "NumericGreaterThan", "gte": "NumericGreaterThanEquals", "lt": "NumericLessThan"}
_NUMERIC["lte"] = "NumericLessThanEquals"
_STRING = {k: v.replace("Numeric", "String") for k, v in _NUMERIC.items()}


def choice_rule(condition: dict[str, Any], resolve: Resolver) -> Rule:
    """The Choice rule for a valid condition (see the module docstring for the outcomes)."""
    if "all" in condition or "any" in condition:
        conjunction = "all" in condition
        parts = [choice_rule(c, resolve) for c in condition["all" if conjunction else "any"]]
        return _combine("And" if conjunction else "Or", parts)
    if "not" in condition:
        inner = choice_rule(condition["not"], resolve)
        return inner if inner is None else (not inner if isinstance(inner, bool) else {"Not": inner})
    return _leaf(condition, resolve)


def _combine(operator: str, parts: list[Rule]) -> Rule:
    if any(p is None for p in parts):
        return None
    absorbing = operator == "Or"  # True absorbs an Or; False absorbs an And
    if any(p is absorbing for p in parts):
        return absorbing
    rules = [p for p in parts if isinstance(p, dict)]
    if not rules:
        return not absorbing
    return rules[0] if len(rules) == 1 else {operator: rules}


def _leaf(leaf: dict[str, Any], resolve: Resolver) -> Rule:
    if "expression" in leaf or not all(_plain_path(leaf[k]) for k in ("left", "right") if k in leaf):
        return None  # a JSONata expression beyond one plain path: the evaluator Lambda decides
    op = leaf["op"]
    left = resolve(leaf["left"])
    right = resolve(leaf["right"]) if "right" in leaf else Const(None)
    if left is None or right is None:
        return None
    if isinstance(left, Const) and isinstance(right, Const):
        constant = {"left": left.value, "op": op}
        if "right" in leaf:
            constant["right"] = right.value
        return evaluate(constant, lambda value: value)
    if op == "exists":
        assert isinstance(left, DocPath)
        return _and(_present(left.path), {"Not": _is(left.path, "IsNull")})
    if isinstance(left, Const):  # constant on the left: mirror the comparison if we can
        if op not in _FLIP:
            return None
        left, right, op = right, left, _FLIP[op]
    assert isinstance(left, DocPath)
    if isinstance(right, DocPath):
        return _path_vs_path(op, left.path, right.path)
    return _path_vs_const(op, left.path, right.value)


def _path_vs_path(op: str, left: str, right: str) -> Rule:
    if op not in _NUMERIC:
        return None  # equality of two paths may compare objects: the evaluator decides
    numbers = _and(
        *_typed(left, "IsNumeric"),
        *_typed(right, "IsNumeric"),
        {"Variable": left, f"{_NUMERIC[op]}Path": right},
    )
    strings = _and(
        *_typed(left, "IsString"), *_typed(right, "IsString"), {"Variable": left, f"{_STRING[op]}Path": right}
    )
    return {"Or": [numbers, strings]}


def _path_vs_const(op: str, path: str, value: Any) -> Rule:
    if isinstance(value, str) and value.startswith("$"):
        # Since workflow variables, a JSONPath state reads "$name…" as a variable: a
        # literal that starts with '$' cannot be written in a rule.
        return None
    if op == "eq":
        return _equals(path, value)
    if op == "ne":
        rule = _equals(path, value)
        return rule if rule is None else (not rule if isinstance(rule, bool) else {"Not": rule})
    if op in _NUMERIC:
        if _is_number(value):
            return _and(*_typed(path, "IsNumeric"), {"Variable": path, _NUMERIC[op]: value})
        if isinstance(value, str):
            return _and(*_typed(path, "IsString"), {"Variable": path, _STRING[op]: value})
        return False  # ordered comparisons hold only between numbers or between strings
    if op == "in":
        if not isinstance(value, list):
            return False
        if len(value) > MAX_IN_LIST:
            return None
        return _combine("Or", [_equals(path, item) for item in value])
    if op in ("contains", "startsWith", "endsWith"):
        if not isinstance(value, str):
            return False
        if _GLOB.search(value):
            # AWS treats only '*' as special (escaped as '\\*'); moto's interpreter uses
            # fnmatch, where '?' and '[' are special too and '\\' escapes nothing.
            return None
        pattern = {"contains": f"*{value}*", "startsWith": f"{value}*", "endsWith": f"*{value}"}[op]
        return _and(*_typed(path, "IsString"), {"Variable": path, "StringMatches": pattern})
    return None  # matches, isEmpty: the evaluator


def _equals(path: str, value: Any) -> Rule:
    if value is None:  # a missing value is null, as in the reference semantics
        return {"Or": [{"Not": _present(path)}, _is(path, "IsNull")]}
    if isinstance(value, bool):
        return _and(*_typed(path, "IsBoolean"), {"Variable": path, "BooleanEquals": value})
    if _is_number(value):
        return _and(*_typed(path, "IsNumeric"), {"Variable": path, "NumericEquals": value})
    if isinstance(value, str):
        return None if value.startswith("$") else string_equals(path, value)
    return None  # objects and lists


def string_equals(path: str, value: str) -> dict[str, Any]:
    """The guarded rule 'the value at path is the string value'."""
    return _and(*_typed(path, "IsString"), {"Variable": path, "StringEquals": value})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _present(path: str) -> dict[str, Any]:
    return {"Variable": path, "IsPresent": True}


def _is(path: str, test: str) -> dict[str, Any]:
    return {"Variable": path, test: True}


def _typed(path: str, test: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # IsPresent first: a type test or comparison on a missing path is a runtime error.
    return _present(path), _is(path, test)


def _plain_path(operand: Any) -> bool:
    """A literal, or a template that is exactly one plain path (``{{ nodes.a.b[0] }}``)."""
    if not isinstance(operand, str) or not has_expression(operand):
        return True
    single = parse_template(operand).whole
    return single is not None and single.path is not None


def _and(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"And": list(rules)}
