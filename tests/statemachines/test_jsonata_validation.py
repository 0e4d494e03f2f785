"""What ``routines validate`` says about JSONata expressions, at which paths."""

from __future__ import annotations

from typing import Any

from contract.conditions import check_condition, evaluate
from statemachines.validator import validate_document
from tests.conftest import link, node, problems, routine

FIELDS = "nodes[b].parameters.fields.x"


def reading(expression: str, **extra: Any) -> dict[str, Any]:
    return routine(
        node("a", "static-data", parameters={"data": {"items": [{"p": 1}]}}),
        {"id": "b", "plugin": "transform", "parameters": {"fields": {"x": expression}}},
        connections=[link("a", "b")],
        **extra,
    )


def test_jsonata_expressions_are_valid() -> None:
    for text in (
        "{{ $sum(nodes.a.items.p) * 1.1 }}",
        "{{ nodes.a.items[p > $$.vars.min].p }}",
        "{{ ($n := $count(nodes.a.items); $n > 1 ? 'many' : 'one') }}",
        "{{ $map(nodes.a.items, function($v) { $v.p }) }}",
        "total: {{ $string(nodes.a.items[0].p) & '!' }}",
    ):
        report = validate_document(reading(text, variables={"min": 0}))
        assert report.valid, (text, report.errors)
        assert {p.code for p in report.warnings} <= {"unused_variable"}, text


def test_unknown_names_and_variables_are_unknown_references() -> None:
    assert problems(validate_document(reading("{{ price * 2 }}"))) == {("unknown_reference", FIELDS)}
    report = validate_document(reading("{{ $limit + nodes.a.items[0].p }}"))
    assert problems(report) == {("unknown_reference", FIELDS)}
    assert "use vars.limit" in report.errors[0].message
    both = validate_document(reading("{{ nodes.ghost.x + vars.nope }}"))
    assert [p.code for p in both.errors] == ["unknown_reference", "unknown_reference"]


def test_syntax_errors_are_invalid_expressions() -> None:
    for text in ("{{ nodes.a.items[ }}", "{{ $ }}", "{{ $$[0] }}", "{{ 1 + }}"):
        assert problems(validate_document(reading(text))) == {("invalid_expression", FIELDS)}, text


def test_jsonpath_expressions_warn_with_their_jsonata_form() -> None:
    report = validate_document(reading("{{ nodes.a.items[*].p }}"))
    assert report.valid
    assert problems(report, "warnings") == {("jsonpath_expression", FIELDS)}
    assert "{{ nodes.a.items.p }}" in report.warnings[0].message


def test_every_reference_of_an_expression_is_checked() -> None:
    doc = routine(
        node("a"),
        node("b"),
        {"id": "c", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.a.a + nodes.b.a }}"}}},
        connections=[link("a", "c")],
    )
    report = validate_document(doc)
    assert problems(report) == {("unknown_reference", "nodes[c].parameters.fields.x")}
    assert "'b' is not upstream" in report.errors[0].message


def test_item_only_in_filter_conditions() -> None:
    doc = routine(
        node("a", "static-data", parameters={"data": [1, 2]}),
        node(
            "f",
            "filter",
            parameters={"items": "{{ nodes.a }}", "condition": {"expression": "{{ item > 1 and item < 9 }}"}},
        ),
        connections=[link("a", "f")],
    )
    assert validate_document(doc).valid
    assert problems(validate_document(reading("{{ item }}"))) == {("unknown_reference", FIELDS)}


def test_expression_condition_leaves() -> None:
    assert check_condition({"expression": "{{ nodes.a.x > 1 }}"}, "c") == []
    assert check_condition({"expression": "x {{ nodes.a.x }}"}, "c") == [
        ("c.expression", "'expression' must be exactly one {{ … }}, with no text around it")
    ]
    assert check_condition({"expression": "{{ 1 }}", "op": "eq"}, "c")[0][0] == "c.op"
    assert check_condition({"expression": True}, "c")[0][0] == "c.expression"
    # true only for JSONata's true: nothing merely truthy
    assert evaluate({"expression": True}, lambda v: v) is True
    assert evaluate({"expression": 1}, lambda v: v) is False
    assert evaluate({"not": {"expression": "yes"}}, lambda v: v) is True


def test_an_if_on_an_expression_condition_compiles_to_the_evaluator() -> None:
    from statemachines.compiler import compile_routine

    doc = routine(
        node("a", "static-data", parameters={"data": {"n": 3}}),
        node("c", "if", parameters={"condition": {"expression": "{{ nodes.a.n * 2 > 5 }}"}}),
        connections=[link("a", "c")],
    )
    assert validate_document(doc).valid
    assert "routines-sys-evaluate" in str(compile_routine(doc))
