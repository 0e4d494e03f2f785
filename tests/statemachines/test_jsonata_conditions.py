"""Conditions as JSONata booleans agree with the reference semantics on every value."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.conditions import BINARY_OPS, UNARY_OPS, evaluate
from contract.jsonata import evaluate as jsonata
from contract.jsonata.conditions import condition_jsonata, literal

NAMES = ("a", "b", "c")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, -1.5, 1e16]),
    st.sampled_from(["", "a", "ab", "b", "ba", "x'y", 'q"', "1", "true", "é", "a\\b"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "l"]), inner, max_size=2)
    ),
    max_leaves=6,
)
operands = st.one_of(values, st.sampled_from([f"{{{{ {n} }}}}" for n in NAMES]))
leaves = st.builds(
    lambda left, op, right: (
        {"left": left, "op": op} if op in UNARY_OPS else {"left": left, "op": op, "right": right}
    ),
    operands,
    st.sampled_from(sorted((UNARY_OPS | BINARY_OPS) - {"matches"})),
    operands,
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=4,
)
TEMPLATE = re.compile(r"^\{\{ (\w+) \}\}$")


def operand(text: str) -> str:
    match = TEMPLATE.match(text)
    assert match, text
    return f"$v_{match.group(1)}"


@settings(max_examples=600, deadline=None)
@given(conditions, st.dictionaries(st.sampled_from(NAMES), values))
def test_native_conditions_agree_with_the_reference_semantics(
    condition: dict[str, Any], bound: dict[str, Any]
) -> None:
    text = condition_jsonata(condition, operand)
    assert text is not None

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and (match := TEMPLATE.match(value)):
            return bound.get(match.group(1))
        return value

    expected = evaluate(condition, resolve)
    got = jsonata(text, None, {f"v_{k}": v for k, v in bound.items()})
    assert got is expected, (text, bound)


def test_a_condition_on_a_path_reads_as_a_person_would_write_it() -> None:
    condition = {"left": "{{ total }}", "op": "gt", "right": 100}
    assert condition_jsonata(condition, lambda _: "$fetch.body.total") == (
        "($l := $fetch.body.total; $type($l) = 'number' and $l > 100)"
    )


def test_matches_has_no_native_form() -> None:
    assert condition_jsonata({"any": [{"left": "a", "op": "matches", "right": "a+"}]}, operand) is None


def test_an_expression_leaf_is_true_only_for_true() -> None:
    for value, truth in [(True, True), (1, False), ("true", False), (None, False), ([True], False)]:
        text = condition_jsonata({"expression": "{{ a }}"}, operand)
        assert text is not None
        assert jsonata(text, None, {"v_a": value}) is truth, value
    assert jsonata(str(condition_jsonata({"expression": "{{ a }}"}, operand)), None, {}) is False


def test_literals_round_trip_through_jsonata() -> None:
    for value in [
        "it's",
        'say "hi"',
        "back\\slash",
        "tab\tnew\nline",
        "é😀",
        "{% x %}",
        [1, {"a": None}],
        {"k'": True},
    ]:
        assert jsonata(literal(value)) == value
