"""JSONata-mode state machines on the local AWS (functions/local/jsonata.py): hand-written
Pass/Choice/Parallel/Map machines whose results are what AWS gives."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

from contract.names import PAYLOAD_BUCKET
from functions.local import LocalAWS
from functions.local import jsonata as seam
from functions.local.fastpaths.guard import SeamError

TRICKY = {
    "quote": 'she said "hi"',
    "path": "C:\\temp\\new",
    "unicode": "žluťoučký kůň 🐴",
    "big": 12345678901234567,
}


def machine(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def run(aws: LocalAWS, definition: dict[str, Any], data: Any = None) -> dict[str, Any]:
    """The finished execution's description, with its history under ``events``."""
    sfn = aws.client("stepfunctions")
    _, arn = aws.state_machine(json.dumps(definition))
    execution = sfn.start_execution(
        stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps({} if data is None else data)
    )
    deadline = time.monotonic() + 60
    describe = sfn.describe_execution
    while (described := describe(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.01)
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return {**described, "events": events}


def output(result: dict[str, Any]) -> Any:
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    return json.loads(result["output"])


def test_choice_conditions_on_input_and_on_a_variable(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Start": {"Type": "Pass", "Assign": {"limit": 10}, "Next": "Pick"},
            "Pick": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n > $limit %}", "Next": "Big"},
                    {"Condition": "{% $states.input.kind = 'small' %}", "Next": "Small"},
                ],
                "Default": "Other",
            },
            "Big": {"Type": "Pass", "Output": {"r": "big"}, "End": True},
            "Small": {"Type": "Pass", "Output": {"r": "small"}, "End": True},
            "Other": {"Type": "Pass", "Output": {"r": "other"}, "End": True},
        }
    )
    assert output(run(aws, definition, {"n": 11})) == {"r": "big"}
    assert output(run(aws, definition, {"n": 10, "kind": "small"})) == {"r": "small"}
    assert output(run(aws, definition, {"n": 1, "kind": "x"})) == {"r": "other"}


def test_a_condition_that_is_not_a_boolean_fails(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n %}", "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        }
    )
    result = run(aws, definition, {"n": 1})
    assert result["status"] == "FAILED"
    assert result["error"] == "States.QueryEvaluationError"
    assert "Expected 'boolean', but was 'number'" in result["cause"]


def test_variables_round_trip_exactly(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Keep": {
                "Type": "Pass",
                "Assign": {name: f"{{% $states.input.{name} %}}" for name in TRICKY},
                "Next": "Use",
            },
            # Every later expression still parses with those values in scope (moto pasted
            # them into the text, so a quote broke it), and computes with them.
            "Use": {
                "Type": "Pass",
                "Assign": {"joined": "{% $quote & '|' & $path & '|' & $unicode %}"},
                "Next": "Give",
            },
            "Give": {
                "Type": "Pass",
                "Output": {**{name: f"{{% ${name} %}}" for name in TRICKY}, "joined": "{% $joined %}"},
                "End": True,
            },
        }
    )
    result = run(aws, definition, TRICKY)
    got = output(result)
    assert {name: got[name] for name in TRICKY} == TRICKY
    assert got["joined"] == f"{TRICKY['quote']}|{TRICKY['path']}|{TRICKY['unicode']}"
    assigned = next(
        e["stateExitedEventDetails"]["assignedVariables"]
        for e in result["events"]
        if e.get("stateExitedEventDetails", {}).get("name") == "Keep"
    )
    assert {name: json.loads(text) for name, text in assigned.items()} == TRICKY  # JSON, as on AWS


def test_parallel_branches_read_an_outer_variable(aws: LocalAWS) -> None:
    branches = [
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Output": f"{{% $base + {i} %}}", "End": True}}}
        for i in range(100)
    ]
    definition = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"base": 1000}, "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": branches,
                "Assign": {"all": "{% $states.result %}"},
                "Next": "Give",
            },
            "Give": {"Type": "Pass", "Output": "{% $all %}", "End": True},
        }
    )
    assert output(run(aws, definition)) == [1000 + i for i in range(100)]


def test_a_failing_branch_is_caught_with_assign_and_output(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "No",
                        "States": {"No": {"Type": "Fail", "Error": "Custom.Bad", "Cause": "nope"}},
                    },
                ],
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"caught": "{% $states.errorOutput %}"},
                        "Output": {
                            "error": "{% $states.errorOutput.Error %}",
                            "input": "{% $states.input %}",
                        },
                        "Next": "Give",
                    }
                ],
                "Next": "Give",
            },
            "Give": {
                "Type": "Pass",
                "Output": {"out": "{% $states.input %}", "caught": "{% $caught %}"},
                "End": True,
            },
        }
    )
    got = output(run(aws, definition, {"x": 1}))
    assert got["out"] == {"error": "Custom.Bad", "input": {"x": 1}}
    assert got["caught"] == {"Error": "Custom.Bad", "Cause": "nope"}


def test_map_items_and_item_selector_with_an_outer_variable(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Set": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.values[$ > 0] %}",
                "ItemSelector": {
                    "value": "{% $states.context.Map.Item.Value %}",
                    "index": "{% $states.context.Map.Item.Index %}",
                },
                "ItemProcessor": {
                    "StartAt": "Times",
                    "States": {
                        "Times": {
                            "Type": "Pass",
                            "Output": {
                                "i": "{% $states.input.index %}",
                                "v": "{% $states.input.value * $factor %}",
                                "id": "{% $states.context.Execution.Id %}",
                                "start": "{% $states.context.Execution.StartTime %}",
                                "whole": "{% $states.context.Execution.Input %}",
                            },
                            "End": True,
                        }
                    },
                },
                "Output": "{% $states.result %}",
                "End": True,
            },
        }
    )
    data = {"values": [3, -1, 5]}
    result = run(aws, definition, data)
    got = output(result)
    assert [(item["i"], item["v"]) for item in got] == [(0, 30), (1, 50)]
    assert {item["id"] for item in got} == {result["executionArn"]}
    assert all(item["whole"] == data for item in got)
    assert all(item["start"].endswith("Z") and item["start"].startswith("20") for item in got)


def test_the_context_inside_parallel_and_in_arguments(aws: LocalAWS) -> None:
    definition = machine(
        {
            "Fan": {
                "Type": "Parallel",
                "Arguments": {"started": "{% $states.context.Execution.StartTime %}"},
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {
                                "Type": "Pass",
                                "Output": {
                                    "id": "{% $states.context.Execution.Id %}",
                                    "input": "{% $states.context.Execution.Input %}",
                                    "started": "{% $states.input.started %}",
                                },
                                "End": True,
                            }
                        },
                    }
                ],
                "Output": "{% $states.result[0] %}",
                "End": True,
            }
        }
    )
    result = run(aws, definition, {"k": "v"})
    got = output(result)
    assert got["id"] == result["executionArn"]
    assert got["input"] == {"k": "v"}
    assert got["started"].endswith("Z")


def test_a_distributed_map_reads_its_items_from_s3(aws: LocalAWS) -> None:
    aws.client("s3").put_object(
        Bucket=PAYLOAD_BUCKET, Key="items.json", Body=json.dumps([{"n": 1}, {"n": 2}])
    )
    definition = machine(
        {
            "Each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Arguments": {"Bucket": PAYLOAD_BUCKET, "Key": "items.json"},
                },
                "ItemSelector": {"n": "{% $states.context.Map.Item.Value.n %}"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "End": True}
                    },
                },
                "End": True,
            }
        }
    )
    assert output(run(aws, definition)) == [2, 4]


def test_step_functions_own_functions(aws: LocalAWS) -> None:
    definition = machine(
        {
            "F": {
                "Type": "Pass",
                "Output": {
                    "hash": "{% $hash('abc', 'SHA-256') %}",
                    "uuid": "{% $uuid() %}",
                    "same": "{% $random(42) = $random(42) %}",
                    "seeded": "{% $random(7) %}",
                    "partition": "{% $partition([1, 2, 3, 4, 5], 2) %}",
                    "range": "{% $range(0, 10, 5) %}",
                    "parse": "{% $parse('{\"a\": [1, 2]}') %}",
                },
                "End": True,
            }
        }
    )
    got = output(run(aws, definition))
    assert got["hash"] == hashlib.sha256(b"abc").hexdigest()
    assert uuid.UUID(got["uuid"]).version == 4
    assert got["same"] is True and 0 <= got["seeded"] < 1
    assert got["partition"] == [[1, 2], [3, 4], [5]]
    assert got["range"] == [0, 5, 10]
    assert got["parse"] == {"a": [1, 2]}

    failed = run(aws, machine({"F": {"Type": "Pass", "Output": "{% $eval('1') %}", "End": True}}))
    assert failed["status"] == "FAILED" and failed["error"] == "States.QueryEvaluationError"
    assert "$eval" in failed["cause"]


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "Output": "{% $states.input.absent %}", "End": True},
        {"Type": "Pass", "Assign": {"x": "{% $nothing %}"}, "End": True},
        {
            "Type": "Parallel",
            "Arguments": {"a": "{% $states.input.absent %}"},
            "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}],
            "End": True,
        },
    ],
    ids=["output", "assign", "arguments"],
)
def test_an_undefined_result_fails_the_state(aws: LocalAWS, state: dict[str, Any]) -> None:
    result = run(aws, machine({"S": state}))
    assert result["status"] == "FAILED"
    assert result["error"] == "States.QueryEvaluationError"
    assert "returned nothing (undefined)" in result["cause"]
    assert result["cause"].startswith("An error occurred while executing the state 'S'")
    assert any(e["type"] == "EvaluationFailed" for e in result["events"])


def test_a_jsonata_error_fails_with_a_readable_cause(aws: LocalAWS) -> None:
    result = run(aws, machine({"S": {"Type": "Pass", "Output": "{% 1 + 'a' %}", "End": True}}))
    assert result["status"] == "FAILED"
    assert result["error"] == "States.QueryEvaluationError"
    assert "The JSONata expression '1 + 'a'' failed: T2002" in result["cause"]
    assert "must evaluate to a number" in result["cause"]


def test_variable_size_limits(aws: LocalAWS) -> None:
    def assign(**values: str) -> dict[str, Any]:
        return machine({"S": {"Type": "Pass", "Assign": values, "End": True}})

    def kib(count: int) -> str:
        return "{% $join($map([1.." + str(count) + "], function($i) { $pad('', 1024, 'x') })) %}"

    within = run(aws, assign(a=kib(255)))
    assert within["status"] == "SUCCEEDED", within.get("cause")

    one = run(aws, assign(a=kib(257)))
    assert one["status"] == "FAILED"
    assert one["error"] == "States.Runtime"
    assert "variable 'a'" in one["cause"] and str(seam.VARIABLE_LIMIT) in one["cause"]

    together = run(aws, assign(a=kib(200), b=kib(100)))
    assert together["status"] == "FAILED"
    assert together["error"] == "States.Runtime"
    assert "one Assign" in together["cause"]


def test_the_seam_refuses_a_moto_that_calls_it_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not seam.SEAM.installed, "a local AWS is up"

    def changed(self: Any, env: Any, field: Any) -> None:  # a moto with another signature
        return None

    original = vars(StringJSONata)["_eval_body"]
    monkeypatch.setattr(StringJSONata, "_eval_body", changed)
    with pytest.raises(
        SeamError, match=r"StringJSONata\._eval_body takes \(self, env, field\), not \(self, env\)"
    ):
        seam.install()
    assert not seam.SEAM.installed and moto_jsonata._eval_jsonata is None
    monkeypatch.setattr(StringJSONata, "_eval_body", original)

    before = {key: vars(owner)[attribute] for key, owner, attribute, _ in seam._patches()}
    evaluator = moto_jsonata._eval_jsonata
    seam.install()
    try:
        assert moto_jsonata._eval_jsonata is not evaluator
        assert moto_jsonata._eval_jsonata is not None and moto_jsonata._eval_jsonata("1 + 1") == 2
        assert all(vars(owner)[attribute] is not before[key] for key, owner, attribute, _ in seam._patches())
    finally:
        seam.uninstall()
    assert all(vars(owner)[attribute] is before[key] for key, owner, attribute, _ in seam._patches())
    assert moto_jsonata._eval_jsonata is evaluator
