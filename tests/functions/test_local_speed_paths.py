"""The local runtime's fast paths change no execution: the history the runner reads from
moto's interpreter equals what the Step Functions API returns, event for event, and the
patches are gone once the local AWS is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from functions.local import LocalAWS, run_routine
from functions.local.fastpaths import interpreter as accelerate
from functions.local.lambdas import Pin
from functions.local.runner import start_routine

GOLDEN = Path(__file__).resolve().parent.parent / "statemachines" / "golden"
CASES = ["chain", "parallel_merge", "nested_loops", "loop_with_switch", "stop_fail", "evaluator_matches"]


@pytest.mark.parametrize("case", CASES)
def test_the_history_read_in_process_is_the_apis(aws: LocalAWS, case: str) -> None:
    document = json.loads((GOLDEN / f"{case}.routine.json").read_text())
    expected = json.loads((GOLDEN / f"{case}.run.json").read_text())
    result = run_routine(aws, document, expected["input"])
    assert result.status == expected["status"]
    api = aws.client("stepfunctions").get_execution_history(executionArn=result.execution_arn)["events"]
    assert result.history == api
    # the timestamps are the same datetimes, in the same zone as botocore reads them
    assert [repr(event["timestamp"]) for event in result.history] == [repr(e["timestamp"]) for e in api]


def test_a_failing_lambda_reads_the_same_through_the_direct_invoke(aws: LocalAWS) -> None:
    document = {
        "name": "t",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "a", "plugin": "static-data", "parameters": {"data": 1}, "onError": "continue"}],
        "connections": [],
    }
    result = run_routine(aws, document, pins={"a": Pin(error="Routines.UserError", message="no")})
    failed = [e for e in result.history if e["type"] == "LambdaFunctionFailed"]
    assert failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "Routines.UserError"
    api = aws.client("stepfunctions").get_execution_history(executionArn=result.execution_arn)["events"]
    assert result.history == api


def test_the_fast_paths_are_removed_with_the_local_aws() -> None:
    parse, client_for = AmazonStateLanguageParser.parse, lambda_eval_utils.boto_client_for
    with LocalAWS():
        assert AmazonStateLanguageParser.parse is not parse
        accelerate.FAST_PATH.install()  # another user of the fast paths comes and goes
        accelerate.FAST_PATH.uninstall()
        assert lambda_eval_utils.boto_client_for is not client_for
    assert AmazonStateLanguageParser.parse is parse
    assert lambda_eval_utils.boto_client_for is client_for


def what_happened(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The events of an execution without ids, times or payloads, in an order that does
    not depend on how concurrent Map iterations and branches interleaved."""
    steps = []
    for event in history:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        steps.append((event["type"], str(details.get("name", ""))))
    return sorted(steps)


SHARED = ["nested_loops", "loop_with_switch", "parallel_merge", "if_inside_parallel", "wide_fanout"]


@pytest.mark.parametrize("case", SHARED)
def test_executions_sharing_a_program_run_as_a_fresh_one(aws: LocalAWS, case: str) -> None:
    """The first run builds the program; the next ones (one after another, then two at
    once) share it, and each does exactly what the first did."""
    document = json.loads((GOLDEN / f"{case}.routine.json").read_text())
    expected = json.loads((GOLDEN / f"{case}.run.json").read_text())
    first = run_routine(aws, document, expected["input"])
    again = run_routine(aws, document, expected["input"])
    together = [start_routine(aws, document, expected["input"]) for _ in range(2)]
    results = [first, again, *(running.wait(timeout=120) for running in together)]
    for result in results:
        assert result.status == expected["status"]
        assert result.transitions == expected["transitions"]
        assert what_happened(result.history) == what_happened(first.history)
        assert result.output == first.output
        assert {k: v["status"] for k, v in result.nodes.items()} == {
            k: v["status"] for k, v in first.nodes.items()
        }


def test_a_retried_task_counts_its_attempts_per_execution(aws: LocalAWS) -> None:
    """Retry counters live in each execution's environment, keyed by the shared
    component: two executions of one program count their own attempts."""
    document = {
        "name": "t",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "a",
                "plugin": "static-data",
                "parameters": {"data": 1},
                "retry": {"maxAttempts": 2, "intervalSeconds": 1, "backoffRate": 1},
                "onError": "continue",
            }
        ],
        "connections": [],
    }
    pins = {"a": Pin(error="Routines.Flaky", message="again")}
    first = run_routine(aws, document, pins=pins)  # builds the program
    together = [start_routine(aws, document, pins=pins) for _ in range(2)]
    for result in [first, *(running.wait(timeout=60) for running in together)]:
        failures = [e for e in result.history if e["type"] == "LambdaFunctionFailed"]
        assert len(failures) == 2  # the first attempt and one retry, in each execution
        assert result.nodes["a"]["status"] == "failed"
        assert what_happened(result.history) == what_happened(first.history)
