from __future__ import annotations

import pytest

from statemachines.expressions import ExpressionSyntaxError, parse_template

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
