"""``{{ }}`` holds JSONata: values, text, missing paths, and the parser's verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from contract.expressions import (
    MAX_CACHED_TEMPLATE,
    ExpressionError,
    ExpressionSyntaxError,
    parse_expression,
    parse_template,
)

CONTEXT: dict[str, Any] = {
    "trigger": {"body": {"orderId": 7, "tags": ["a", "b"], "name": "ada"}},
    "nodes": {
        "fetch": {"body": {"items": [{"id": "x", "price": 3}, {"id": "y", "price": 12}], "total": 120.5}},
        "one": {"items": [{"id": "only"}]},
        "big": {"id": 12345678901234567},
        "text": {"s": 'quote " backslash \\ é 😀'},
    },
    "vars": {"threshold": 100, "min": 5},
}


def render(text: str, context: dict[str, Any] = CONTEXT) -> Any:
    return parse_template(text).render(context)


def test_whole_expression_yields_the_raw_value() -> None:
    assert render("{{ nodes.fetch.body.total }}") == 120.5
    assert render("  {{ trigger.body.tags }} ") == ["a", "b"]
    assert render("{{ nodes.fetch.body.items[0] }}") == {"id": "x", "price": 3}


def test_mixed_text_interpolates() -> None:
    text = "order {{ trigger.body.orderId }} > {{ vars.threshold }}: {{ trigger.body.tags }}"
    assert render(text) == 'order 7 > 100: ["a","b"]'
    assert render("total {{ nodes.fetch.body.total * 2 }} / {{ nodes.fetch.body.items[0] }}") == (
        'total 241 / {"id":"x","price":3}'
    )


def test_missing_values_are_null_or_empty_text_never_undefined() -> None:
    assert render("{{ nodes.ghost.body }}") is None
    assert render("{{ nodes.fetch.body.items[price > 1000] }}") is None
    assert render("x{{ nodes.fetch.nope }}y{{ nodes.ghost }}z") == "xyz"
    assert render("{{ $uppercase(nodes.ghost.name) }}") is None
    assert render("n={{ null }}") == "n="


def test_functions_operators_and_conditionals() -> None:
    assert render("{{ $uppercase(trigger.body.name) }}") == "ADA"
    assert render("{{ $sum(nodes.fetch.body.items.price) }}") == 15
    assert render("{{ $count(nodes.fetch.body.items) }}") == 2
    assert render("{{ nodes.fetch.body.items[0].price * 1.1 }}") == pytest.approx(3.3)
    assert render("{{ trigger.body.name & '-' & trigger.body.orderId }}") == "ada-7"
    assert render("{{ nodes.fetch.body.total > vars.threshold ? 'big' : 'small' }}") == "big"
    assert render("{{ $partition([1,2,3], 2) }}") == [[1, 2], [3]]


def test_predicates_are_relative_and_reach_roots_through_double_dollar() -> None:
    assert render("{{ nodes.fetch.body.items[price > 10].id }}") == "y"
    assert render("{{ nodes.fetch.body.items[price > $$.vars.min].id }}") == "y"
    assert render("{{ $$.vars.threshold }}") == 100
    assert render("{{ $.vars.threshold }}") == 100


def test_singleton_rule_and_forced_arrays() -> None:
    assert render("{{ nodes.one.items.id }}") == "only"
    assert render("{{ nodes.one.items.id[] }}") == ["only"]
    assert render("{{ nodes.fetch.body.items.id }}") == ["x", "y"]
    assert render("{{ nodes.one.items }}") == [{"id": "only"}]  # an array in the data stays one


def test_long_numbers_pass_through_plain_paths_exactly() -> None:
    # Plain paths are walked in Python: the number is the one in the data. Anything JSONata
    # computes uses doubles, as on AWS: 12345678901234567 becomes 12345678901234568.
    assert render("{{ nodes.big.id }}") == 12345678901234567
    assert render("id {{ nodes.big.id }}") == "id 12345678901234567"
    assert render("{{ nodes.big.id + 0 }}") == 12345678901234568


def test_quotes_backslashes_and_unicode_in_literals_and_data() -> None:
    assert render("{{ nodes.text.s }}") == 'quote " backslash \\ é 😀'
    assert render('{{ "it\'s \\"q\\" \\\\ \\u00e9" }}') == 'it\'s "q" \\ é'
    assert render("{{ nodes.text.s & '!' }}") == 'quote " backslash \\ é 😀!'
    assert render("[{{ nodes.text.s }}]") == '[quote " backslash \\ é 😀]'


def test_objects_in_expressions_may_hold_closing_braces() -> None:
    assert render('{{ {"a": {"b": vars.min}} }}') == {"a": {"b": 5}}
    assert render("x {{ {'k': '}}'} }} y") == 'x {"k":"}}"} y'


def test_jsonpath_dialect_is_translated_and_keeps_its_meaning() -> None:
    expression = parse_expression("nodes.fetch.body.items[*].id")
    assert expression.dialect == "jsonpath" and expression.jsonata == "nodes.fetch.body.items.id"
    assert render("{{ nodes.fetch.body.items[*].id }}") == ["x", "y"]
    assert render("{{ nodes.fetch.body.items[?(@.price > 10)].id }}") == "y"
    assert parse_expression("nodes.fetch.body.items[0].id").dialect == "jsonata"
    assert parse_expression("[1..5]").dialect == "jsonata"


def test_references_name_root_first_segment_and_every_path() -> None:
    ref = parse_expression("nodes.fetch.body.items[0].id").references[0]
    assert (ref.root, ref.name, ref.steps, ref.plain) == (
        "nodes",
        "fetch",
        ("fetch", "body", "items", 0, "id"),
        True,
    )
    assert parse_expression("vars").references[0].name is None
    both = parse_expression("nodes.a.x + nodes.b.y")
    assert [(r.root, r.name) for r in both.references] == [("nodes", "a"), ("nodes", "b")]
    assert both.path is None and parse_expression("nodes.a.x").path is not None


@pytest.mark.parametrize(
    "bad",
    [
        "{{ }}",
        "{{ a b }}",
        "x {{ y",
        "{{ nodes..x[ }}",
        "{{ $ }}",
        "{{ $$ }}",
        "{{ $[0] }}",
        "{{ $eval('1') }}",
        "{{ ($__routine := 1; nodes.a) }}",
        "{{ 'open }}",
        "{{ " + "a." * 600 + "b }}",
    ],
)
def test_bad_expressions_raise_syntax_errors(bad: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_template(bad)


def test_unknown_variables_are_recorded_not_bound_ones() -> None:
    assert parse_expression("$x + 1").unknown_variables == ("x",)
    assert parse_expression("($x := 1; $x + 1)").unknown_variables == ()
    assert parse_expression("$map(nodes.a.l, function($v, $i) { $v + $i })").unknown_variables == ()
    assert parse_expression("$string(1) & $uuid()").unknown_variables == ()


def test_evaluation_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError):
        render("{{ trigger.body.name + 1 }}")


def test_templates_are_parsed_once_and_long_texts_each_time() -> None:
    short = "total {{ nodes.fetch.body.total }}"
    assert parse_template(short) is parse_template(short)
    long = "x" * MAX_CACHED_TEMPLATE + "{{ vars.threshold }}"
    assert parse_template(long) is not parse_template(long)
    assert parse_template(long).render(CONTEXT) == "x" * MAX_CACHED_TEMPLATE + "100"
