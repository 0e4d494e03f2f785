from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from statemachines.expressions import (
    MAX_CACHED_TEMPLATE,
    ExpressionSyntaxError,
    parse_expression,
    parse_template,
)

CONTEXT = {
    "trigger": {"body": {"orderId": 7, "tags": ["a", "b"]}},
    "nodes": {"fetch": {"body": {"items": [{"id": "x"}, {"id": "y"}], "total": 120.5}}},
    "vars": {"threshold": 100},
}


def test_whole_expression_yields_the_raw_value() -> None:
    assert parse_template("{{ nodes.fetch.body.total }}").render(CONTEXT) == 120.5
    assert parse_template("  {{ trigger.body.tags }} ").render(CONTEXT) == ["a", "b"]
    assert parse_template("{{ nodes.fetch.body.items[0] }}").render(CONTEXT) == {"id": "x"}


def test_mixed_text_interpolates() -> None:
    text = parse_template("order {{ trigger.body.orderId }} > {{ vars.threshold }}: {{ trigger.body.tags }}")
    assert text.render(CONTEXT) == 'order 7 > 100: ["a","b"]'


def test_missing_values_are_null_or_empty_text() -> None:
    assert parse_template("{{ nodes.ghost.body }}").render(CONTEXT) is None
    assert parse_template("x{{ nodes.fetch.nope }}y").render(CONTEXT) == "xy"


def test_wildcards_yield_lists_and_dollar_prefix_is_allowed() -> None:
    assert parse_template("{{ nodes.fetch.body.items[*].id }}").render(CONTEXT) == ["x", "y"]
    assert parse_template("{{ $.vars.threshold }}").render(CONTEXT) == 100


def test_references_name_root_and_first_segment() -> None:
    ref = parse_template("{{ nodes.fetch.body.items[0].id }}").expressions[0].reference
    assert (ref.root, ref.name, ref.steps) == ("nodes", "fetch", ("fetch", "body", "items", 0, "id"))
    assert parse_template("{{ vars }}").expressions[0].reference.name is None


@pytest.mark.parametrize(
    "bad", ["{{ }}", "{{ a b }}", "x {{ y", "{{ [0] }}", "{{ nodes..x }}", "{{ " + "a." * 600 + "b }}"]
)
def test_bad_expressions_raise_syntax_errors(bad: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_template(bad)


# JSON values with the shapes paths meet: maps, lists, tuples (what a caller may hand in),
# scalars and strings (no fields), None.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "x y"]), inner, max_size=3)
    ),
    max_leaves=12,
)
plain_steps = st.lists(st.sampled_from(["a", "b", "0", "x y"]) | st.integers(-3, 3), min_size=1, max_size=4)


def path_text(steps: list[str | int]) -> str:
    return "nodes" + "".join(f"[{s}]" if isinstance(s, int) else f'."{s}"' for s in steps)


@settings(max_examples=300, deadline=None)
@given(value=json_values, steps=plain_steps)
@example(value=[1, 2, 3], steps=[-3])  # the first item, counted from the end
@example(value=(1, [2]), steps=[1, -1])
@example(value={"a": None}, steps=["a"])  # a field holding null is found
@example(value={"a": "text"}, steps=["a", 0])  # strings have no indices here
def test_plain_paths_find_what_jsonpath_finds(value: Any, steps: list[str | int]) -> None:
    """A plain path is walked step by step; the walk finds exactly what jsonpath-ng finds."""
    expression = parse_expression(path_text(steps))
    assert expression.walk == tuple(steps)
    found = [match.value for match in expression.path.find(value)] if value is not None else []
    assert expression.find({"nodes": value}) == found


def test_only_plain_paths_are_walked() -> None:
    for source in ("nodes.a.*", "nodes.a[*]", "nodes.a[0:2]", "nodes.a[0,1]", "nodes"):
        assert parse_expression(source).walk is None, source
    assert parse_expression("nodes.a[-1].b").walk == ("a", -1, "b")


def test_templates_are_parsed_once_and_long_texts_each_time() -> None:
    short = "total {{ nodes.fetch.body.total }}"
    assert parse_template(short) is parse_template(short)
    long = "x" * MAX_CACHED_TEMPLATE + "{{ vars.threshold }}"
    assert parse_template(long) is not parse_template(long)
    assert parse_template(long).render(CONTEXT) == "x" * MAX_CACHED_TEMPLATE + "100"
