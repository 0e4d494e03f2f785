from __future__ import annotations

from typing import Any

import pytest

from contract.conditions import check_condition, evaluate


def ident(value: Any) -> Any:
    return value


@pytest.mark.parametrize(
    "left,op,right,expected",
    [
        (1, "eq", 1.0, True),
        (True, "eq", 1, False),
        ("1", "eq", 1, False),
        ({"a": [1]}, "eq", {"a": [1]}, True),
        (1, "ne", 2, True),
        (3, "gt", 2, True),
        (2, "gte", 2, True),
        (1, "lt", 2, True),
        (2, "lte", 1, False),
        ("b", "gt", "a", True),
        ("10", "gt", 9, False),
        ("a", "in", ["a", "b"], True),
        ("c", "in", ["a"], False),
        ("hello", "contains", "ell", True),
        ([1, 2], "contains", 2, False),  # membership is 'in', so Choice rules can do 'contains'
        ({"k": 1}, "contains", "k", False),
        (2, "in", [1, 2], True),
        ("hello", "startsWith", "he", True),
        ("hello", "endsWith", "lo", True),
        ("abc-123", "matches", r"^[a-z]+-\d+$", True),
        (5, "matches", "5", False),
    ],
)
def test_binary_operators(left: Any, op: str, right: Any, expected: bool) -> None:
    assert evaluate({"left": left, "op": op, "right": right}, ident) is expected


@pytest.mark.parametrize(
    "value,exists,empty",
    [
        (None, False, True),
        ("", True, True),
        ([], True, True),
        ({}, True, True),
        (0, True, False),
        ("x", True, False),
    ],
)
def test_unary_operators(value: Any, exists: bool, empty: bool) -> None:
    assert evaluate({"left": value, "op": "exists"}, ident) is exists
    assert evaluate({"left": value, "op": "isEmpty"}, ident) is empty


def test_groups() -> None:
    yes, no = {"left": 1, "op": "eq", "right": 1}, {"left": 1, "op": "eq", "right": 2}
    assert evaluate({"all": [yes, yes]}, ident) and not evaluate({"all": [yes, no]}, ident)
    assert evaluate({"any": [no, yes]}, ident) and not evaluate({"any": [no]}, ident)
    assert evaluate({"not": no}, ident)


@pytest.mark.parametrize(
    "condition,path",
    [
        ([], "c"),
        ({"all": []}, "c.all"),
        ({"all": {"left": 1, "op": "exists"}}, "c.all"),
        ({"all": [{"left": 1, "op": "exists"}], "any": []}, "c"),
        ({"op": "eq", "right": 1}, "c.left"),
        ({"left": 1, "op": "approx", "right": 1}, "c.op"),
        ({"left": 1, "op": "eq"}, "c.right"),
        ({"left": 1, "op": "exists", "right": 1}, "c.right"),
        ({"left": 1, "op": "in", "right": "a"}, "c.right"),
        ({"left": 1, "op": "matches", "right": "("}, "c.right"),
        ({"left": 1, "op": "eq", "right": 1, "extra": 2}, "c.extra"),
        ({"any": [{"left": 1, "op": "exists"}, {"not": {"left": 1}}]}, "c.any[1].not.op"),
    ],
)
def test_structural_problems_have_paths(condition: Any, path: str) -> None:
    found = check_condition(condition, "c")
    assert [p for p, _ in found] == [path]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (True, [1], False),
        (1, [True], False),
        (1, [1.0], True),
        ([True], [[1]], False),
        ({"a": 1}, [{"a": True}], False),
        ({"a": [1]}, [{"a": [1.0]}], True),
        (None, [None], True),
    ],
)
def test_in_uses_json_equality(left: Any, right: Any, expected: bool) -> None:
    assert evaluate({"left": left, "op": "in", "right": right}, lambda v: v) is expected
    assert evaluate({"left": [left], "op": "eq", "right": [right[0]]}, lambda v: v) is expected
