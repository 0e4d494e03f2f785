"""Conditions of ``if``, ``switch`` and ``filter``: their grammar, checks and meaning.

Grammar: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` and leaves
``{"left", "op", "right"}`` or ``{"expression": "{{ … }}"}`` (any JSONata expression,
true when it yields ``true``). Evaluation here is the reference semantics: the compiler maps
what it can onto native Choice rules with the same meaning, and the condition evaluator
Lambda and the filter plugin call :func:`evaluate` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from contract.expressions import ExpressionSyntaxError, has_expression, parse_template
from contract.problems import join_path

UNARY_OPS = frozenset({"exists", "isEmpty"})
BINARY_OPS = frozenset(
    {"eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "startsWith", "endsWith", "matches"}
)
OPS = UNARY_OPS | BINARY_OPS
GROUPS = ("all", "any", "not")

Finding = tuple[str, str]  # (path, message)


def check_condition(value: Any, path: str) -> list[Finding]:
    """Every structural problem of a condition, as (path, message) pairs.

    Nesting has no limit of its own: the document's depth limit (``limit_exceeded``, once,
    at the condition's path) bounds it, and any depth that fits compiles — Choice rules
    nest freely, and what they cannot express goes to the evaluator."""
    if not isinstance(value, dict):
        return [(path, "a condition must be an object: {all|any|not}, {left, op, right} or {expression}")]
    groups = [k for k in GROUPS if k in value]
    if groups:
        if len(value) != 1:
            return [(path, f"'{groups[0]}' must be the condition's only key")]
        return _check_group(groups[0], value[groups[0]], path)
    return _check_leaf(value, path)


def _check_group(key: str, body: Any, path: str) -> list[Finding]:
    here = join_path(path, key)
    if key == "not":
        return check_condition(body, here)
    if not isinstance(body, list) or not body:
        return [(here, f"'{key}' takes a non-empty list of conditions")]
    findings: list[Finding] = []
    for index, item in enumerate(body):
        findings.extend(check_condition(item, join_path(here, index)))
    return findings


def _check_leaf(leaf: dict[str, Any], path: str) -> list[Finding]:
    if "expression" in leaf:
        return _check_expression_leaf(leaf, path)
    unknown = sorted(set(leaf) - {"left", "op", "right"})
    if unknown:
        return [(join_path(path, unknown[0]), f"unknown key '{unknown[0]}' in a condition")]
    if "left" not in leaf:
        return [(join_path(path, "left"), "a comparison needs 'left'")]
    op = leaf.get("op")
    if op not in OPS:
        return [(join_path(path, "op"), f"'op' must be one of {', '.join(sorted(OPS))}")]
    if op in UNARY_OPS:
        if "right" in leaf:
            return [(join_path(path, "right"), f"'{op}' compares nothing: remove 'right'")]
        return []
    if "right" not in leaf:
        return [(join_path(path, "right"), f"'{op}' needs 'right'")]
    return _check_right(op, leaf["right"], join_path(path, "right"))


def _check_expression_leaf(leaf: dict[str, Any], path: str) -> list[Finding]:
    """``{"expression": "{{ … }}"}``: one whole JSONata expression, true when it yields true."""
    extra = sorted(set(leaf) - {"expression"})
    if extra:
        return [(join_path(path, extra[0]), "an expression condition has only 'expression'")]
    text = leaf["expression"]
    here = join_path(path, "expression")
    if not isinstance(text, str) or not has_expression(text):
        return [(here, "'expression' must be one {{ … }} expression, e.g. \"{{ nodes.a.total > 100 }}\"")]
    try:
        whole = parse_template(text).whole
    except ExpressionSyntaxError:
        return []  # reported as invalid_expression by the reference checks
    if whole is None:
        return [(here, "'expression' must be exactly one {{ … }}, with no text around it")]
    tokens = whole.tokens
    if len(tokens) == 1 and tokens[0].kind in ("string", "number"):
        # Only JSONata's true is true: a constant text or number never is.
        return [
            (
                here,
                f"{{{{ {whole.source} }}}} is a constant {tokens[0].kind}, never true: compare, "
                "e.g. \"{{ nodes.a.status = 'paid' }}\"",
            )
        ]
    return []


def _check_right(op: str, right: Any, path: str) -> list[Finding]:
    if isinstance(right, str) and has_expression(right):
        return []
    if op == "in" and not isinstance(right, list):
        return [(path, "'in' needs a list (or an expression that yields one)")]
    if op in ("startsWith", "endsWith", "matches") and not isinstance(right, str):
        return [(path, f"'{op}' needs a string")]
    if op == "matches":
        try:
            re.compile(right)
        except re.error as exc:
            return [(path, f"not a valid regular expression: {exc}")]
    return []


def references_ops(condition: Any) -> set[str]:
    """The set of ops used anywhere in a (valid) condition."""
    ops: set[str] = set()
    stack = [condition]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        if "op" in item:
            ops.add(str(item["op"]))
        for key in GROUPS:
            if key in item:
                body = item[key]
                stack.extend(body if isinstance(body, list) else [body])
    return ops


# --- evaluation ---------------------------------------------------------------------------

Resolve = Callable[[Any], Any]


def evaluate(condition: dict[str, Any], resolve: Resolve) -> bool:
    """Truth of a valid condition; ``resolve`` turns a literal or template into its value."""
    if "all" in condition:
        return all(evaluate(c, resolve) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, resolve) for c in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], resolve)
    if "expression" in condition:
        return resolve(condition["expression"]) is True  # JSONata's true, nothing truthy
    op = condition["op"]
    left = resolve(condition["left"])
    if op in UNARY_OPS:
        return _UNARY[op](left)
    return _BINARY[op](left, resolve(condition["right"]))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Numbers compare with numbers and strings with strings; anything else is false."""

    def compare(left: Any, right: Any) -> bool:
        if _is_number(left) and _is_number(right):
            return test(left, right)
        if isinstance(left, str) and isinstance(right, str):
            return test(left, right)
        return False

    return compare


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1`` and ``"1" != 1``, as in Choice rules —
    at every depth (Python's ``[True] == [1]`` and ``True in [1]`` would say otherwise)."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_equal(v, right[k]) for k, v in left.items())
    return bool(left == right)


def _in(left: Any, right: Any) -> bool:
    """Membership by :func:`_equal` — what the native rule (an ``Or`` of equalities) does."""
    return isinstance(right, list) and any(_equal(left, item) for item in right)


def _contains(left: Any, right: Any) -> bool:
    """Substring test on strings only — what a Choice ``StringMatches "*x*"`` can do natively.
    Membership in a list is ``in``: ``{"left": "vip", "op": "in", "right": "{{ ...tags }}"}``."""
    return isinstance(left, str) and isinstance(right, str) and right in left


def _matches(left: Any, right: Any) -> bool:
    return isinstance(left, str) and isinstance(right, str) and re.search(right, left) is not None


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


_UNARY: dict[str, Callable[[Any], bool]] = {
    "exists": lambda v: v is not None,
    "isEmpty": _is_empty,
}
_BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: _equal(a, b),
    "ne": lambda a, b: not _equal(a, b),
    "gt": _ordered(lambda a, b: a > b),
    "gte": _ordered(lambda a, b: a >= b),
    "lt": _ordered(lambda a, b: a < b),
    "lte": _ordered(lambda a, b: a <= b),
    "in": _in,
    "contains": _contains,
    "startsWith": lambda a, b: isinstance(a, str) and isinstance(b, str) and a.startswith(b),
    "endsWith": lambda a, b: isinstance(a, str) and isinstance(b, str) and a.endswith(b),
    "matches": _matches,
}
