"""The local runtime's fast paths change no execution: the history the runner reads from
moto's interpreter equals what the Step Functions API returns, event for event, and the
patches are gone once the local AWS is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from functions.local import LocalAWS, accelerate, run_routine
from functions.local.lambdas import Pin

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
        accelerate.install()  # another user of the fast paths comes and goes
        accelerate.uninstall()
        assert lambda_eval_utils.boto_client_for is not client_for
    assert AmazonStateLanguageParser.parse is parse
    assert lambda_eval_utils.boto_client_for is client_for
