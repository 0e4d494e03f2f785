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
