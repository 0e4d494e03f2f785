"""Errors that say what to write instead (a new-user walk): the operators people bring from
JavaScript and Python, and a misspelt function's closest name."""

from __future__ import annotations

import pytest

from contract.expressions import ExpressionSyntaxError, parse_expression
from statemachines.validator import validate_document
from tests.conftest import routine


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("trigger.a == 1", "(JSONata writes =, not ==)"),
        ("trigger.a === 1", "(JSONata writes =, not ==)"),
        ("trigger.a && trigger.b", "(JSONata writes and, not &&)"),
        ("trigger.a || trigger.b", "(JSONata writes or, not ||)"),
        ("!trigger.a", "(JSONata writes $not(…), not !)"),
        ("'it\\'s'", "write text with an apostrophe in double quotes"),
    ],
)
def test_a_foreign_operator_is_named_with_what_jsonata_writes(source: str, hint: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(source)
    assert hint in str(caught.value)


@pytest.mark.parametrize("source", ["trigger.a + ", "trigger.a != 1 and", "'==' & trigger.a +"])
def test_no_hint_where_none_applies(source: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(source)
    assert "JSONata writes" not in str(caught.value)
    assert parse_expression("trigger.a != 1 and $not(trigger.b)").dialect == "jsonata"


def _problems(template: str) -> list[tuple[str, str, str]]:
    report = validate_document(
        routine({"id": "t", "plugin": "transform", "parameters": {"fields": {"x": template}}})
    )
    return [(p.code, p.path, p.message) for p in report.errors]


def test_a_misspelt_function_is_named_with_the_closest_one() -> None:
    [(code, path, message)] = _problems("{{ $upercase(trigger.name) }}")
    assert (code, path) == ("unknown_reference", "nodes[t].parameters.fields.x")
    assert message.endswith("there is no function $upercase; did you mean $uppercase?")


def test_an_unbound_variable_that_is_not_called_points_to_the_roots() -> None:
    [(_, _, unknown)] = _problems("{{ $upercase + 1 }}")
    assert "use vars.upercase / nodes.upercase" in unknown and "did you mean" not in unknown


@pytest.mark.parametrize(("text", "kind"), [("{{ 'yes' }}", "string"), ("{{ 42 }}", "number")])
def test_an_expression_condition_that_is_a_constant_text_or_number_is_refused(text: str, kind: str) -> None:
    """Only JSONata's true is true: the condition could never hold (a new-user walk)."""
    gate = {"id": "gate", "plugin": "if", "parameters": {"condition": {"expression": text}}}
    report = validate_document(routine(gate))
    assert [(p.code, p.path) for p in report.errors] == [
        ("invalid_parameter", "nodes[gate].parameters.condition.expression")
    ]
    assert f"is a constant {kind}, never true" in report.errors[0].message
    for fine in ("{{ true }}", "{{ trigger.count > 2 }}", "{{ trigger.flag }}"):
        assert (
            validate_document(routine({**gate, "parameters": {"condition": {"expression": fine}}})).errors
            == []
        )
