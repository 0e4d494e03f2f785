"""AWS's ASL validator (tools/asl, npm amazon-states-language-service) as a test tool: it
catches broken machines in both query languages, passes a correct JSONata machine, and
passes what the compiler emits for every example routine (and every golden routine).

The compiled machines are validated in one batch (one node process) per test module.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from statemachines.compiler import compile_validated
from statemachines.options import CompileOptions
from statemachines.validator import analyse
from tests.asl_validator import AslResult, Validate
from tests.conftest import EXAMPLES, ROOT

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.routine.json"))
ROUTINES = {path.relative_to(ROOT).as_posix(): path for path in [*EXAMPLES, *GOLDEN]}
AWS = "amazon-states-language-service"
QUERY_LANGUAGE = "routines-query-language"  # tools/asl/validate.mjs's own rules
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:routines-dev-transform"


def _one(asl_validator: Validate, definition: dict[str, Any] | str) -> AslResult:
    [result] = asl_validator([definition])
    return result


def _errors(result: AslResult) -> set[tuple[str, str]]:
    return {(d.path, d.source) for d in result.errors}


def compile_like_the_cli(path: Path) -> str:
    """The definition ``routines compile PATH`` prints (functions/cli/main.py), as deployed."""
    validation = analyse(json.loads(path.read_text()))
    assert validation.report.valid, (path, validation.report.errors)
    return compile_validated(validation, CompileOptions(routine_id="local")).definition


# --- the tool catches errors ------------------------------------------------------------


def test_a_next_that_names_no_state_is_an_error(asl_validator: Validate) -> None:
    machine = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}},
    }
    result = _one(asl_validator, machine)
    assert not result.ok
    assert ("States.A.Next", AWS) in _errors(result), result.describe()
    assert any("existing state" in d.message for d in result.errors), result.describe()


def test_aws_json_schema_is_applied(asl_validator: Validate) -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": True}}}
    result = _one(asl_validator, machine)
    assert ("States.A.Type", AWS) in _errors(result), result.describe()


def test_parameters_in_a_jsonata_machine_is_an_error(asl_validator: Validate) -> None:
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": LAMBDA, "Payload": {"a": 1}},
                "End": True,
            }
        },
    }
    result = _one(asl_validator, machine)
    assert not result.ok
    assert _errors(result) == {("States.Call.Parameters", QUERY_LANGUAGE)}, result.describe()


def test_a_jsonpath_dollar_key_in_a_jsonata_machine_is_an_error(asl_validator: Validate) -> None:
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": LAMBDA, "Payload": {"order.$": "$.order"}},
                "End": True,
            }
        },
    }
    result = _one(asl_validator, machine)
    assert not result.ok
    assert _errors(result) == {('States.Call.Arguments.Payload."order.$"', QUERY_LANGUAGE)}, result.describe()


def test_a_state_may_not_fall_back_to_jsonpath_in_a_jsonata_machine(asl_validator: Validate) -> None:
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    assert ("States.A.QueryLanguage", QUERY_LANGUAGE) in _errors(_one(asl_validator, machine))


def test_jsonata_fields_in_a_jsonpath_machine_are_errors(asl_validator: Validate) -> None:
    machine = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": LAMBDA},
                "Output": "{% $states.result.Payload %}",
                "Next": "Pick",
            },
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.a = 1 %}", "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    assert _errors(_one(asl_validator, machine)) == {
        ("States.Call.Arguments", QUERY_LANGUAGE),
        ("States.Call.Output", QUERY_LANGUAGE),
        ("States.Pick.Choices.0.Condition", QUERY_LANGUAGE),
    }


def test_nested_jsonata_states_are_checked(asl_validator: Validate) -> None:
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Pass", "ResultPath": "$.x", "End": True}},
                },
                "End": True,
            }
        },
    }
    result = _one(asl_validator, machine)
    assert _errors(result) == {("States.Each.ItemProcessor.States.Inner.ResultPath", QUERY_LANGUAGE)}


# --- the tool passes a correct JSONata machine ------------------------------------------

JSONATA_MACHINE: dict[str, Any] = {
    "Comment": "Every state type, in JSONata",
    "QueryLanguage": "JSONata",
    "StartAt": "Fetch",
    "States": {
        "Fetch": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": LAMBDA, "Payload": {"order": "{% $states.input.order %}"}},
            "Assign": {"orderId": "{% $states.result.Payload.id %}"},
            "Output": "{% $states.result.Payload %}",
            "TimeoutSeconds": 30,
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3}],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Failed"}
            ],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $states.input.total > 100 %}", "Next": "Both"},
                {"Condition": "{% $count($states.input.items) = 0 %}", "Next": "Done"},
            ],
            "Default": "Each",
        },
        "Both": {
            "Type": "Parallel",
            "Arguments": "{% $states.input %}",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {"Left": {"Type": "Pass", "Output": {"side": "left"}, "End": True}},
                },
                {
                    "StartAt": "Right",
                    "States": {
                        "Right": {
                            "Type": "Pass",
                            "Output": {"side": "right", "id": "{% $orderId %}"},
                            "End": True,
                        }
                    },
                },
            ],
            "Output": "{% $merge($states.result) %}",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "MaxConcurrency": 4,
            "ItemSelector": {"item": "{% $states.context.Map.Item.Value %}", "orderId": "{% $orderId %}"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Price",
                "States": {
                    "Price": {
                        "Type": "Pass",
                        "Output": "{% $states.input.item.price * 2 %}",
                        "End": True,
                    }
                },
            },
            "Assign": {"prices": "{% $states.result %}"},
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": "{% $count($prices) %}", "Next": "Done"},
        "Done": {"Type": "Succeed", "Output": {"orderId": "{% $orderId %}", "prices": "{% $prices %}"}},
        "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "{% $states.input.Cause %}"},
    },
}


def test_a_correct_jsonata_machine_passes(asl_validator: Validate) -> None:
    result = _one(asl_validator, JSONATA_MACHINE)
    assert result.ok, result.describe()
    assert result.errors == [], result.describe()


def test_one_batch_keeps_the_order_of_its_definitions(asl_validator: Validate) -> None:
    broken = copy.deepcopy(JSONATA_MACHINE)
    broken["States"]["Pause"]["Next"] = "Gone"
    text = json.dumps(JSONATA_MACHINE, separators=(",", ":"))  # as deployed: JSON text
    results = asl_validator([JSONATA_MACHINE, broken, text, broken])
    assert [r.ok for r in results] == [True, False, True, False]
    assert ("States.Pause.Next", AWS) in _errors(results[1])


# --- what the compiler emits: every example routine (and golden routine) passes ----------


@pytest.fixture(scope="module")
def compiled() -> dict[str, str]:
    """Each example and golden routine, compiled as ``routines compile`` does."""
    return {name: compile_like_the_cli(path) for name, path in ROUTINES.items()}


@pytest.fixture(scope="module")
def verdicts(asl_validator: Validate, compiled: dict[str, str]) -> dict[str, AslResult]:
    """All of them, validated in one batch."""
    return dict(zip(compiled, asl_validator(list(compiled.values())), strict=True))


def test_every_example_is_covered() -> None:
    assert len(EXAMPLES) >= 7 and all(p.name.endswith(".json") for p in EXAMPLES)
    assert len(GOLDEN) >= 20


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_the_compiled_routine_passes_aws_validation(name: str, verdicts: dict[str, AslResult]) -> None:
    result = verdicts[name]
    assert result.ok, f"{name}: AWS's ASL validator rejects the compiled machine:\n{result.describe()}"
    # Warnings do not fail; they are shown with -rA (none today).
    for warning in result.warnings:
        print(f"{name}: {warning}")
