"""A node that fails with a ``States.*`` error (an expression that fails in the machine, a
timeout) fails its routine by that name, on Express machines (whose body runs in the
record-writing wrapper's Parallel) and inside Parallel branches and Map iterations alike.

Before: moto handed a branch's error on as a ``CustomErrorName``, which refuses ``States.``
names, so the routine failed with ``States.Runtime: ValueError(Custom Error Names MUST NOT
begin with the prefix 'States.' …)``; the wrapper's own Fail state re-raised the name ASL
reserves; and an Express execution started through the API stayed RUNNING until the sweep
timed it out five minutes later (functions.local.states_errors, records.py)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.local import LocalAWS, run_routine, states_errors
from functions.local.status_events import StatusEvents
from functions.store import ExecutionStore
from functions.trace import clean_error
from tests.api.conftest import Api
from tests.conftest import link, routine

NOT_A_NUMBER = {"qty": "abc"}
FAILS = "D3030: Cannot convert 'abc' to number"


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def failing_expression(node_id: str = "t") -> dict[str, Any]:
    return transform(node_id, n="{{ $number(trigger.qty) }}")


def ok(node_id: str) -> dict[str, Any]:
    return transform(node_id, at=node_id)


def shown(result: Any) -> dict[str, Any]:
    return clean_error(result.error, result.cause)


@pytest.mark.parametrize("execution", ["express", "standard"])
def test_a_failing_expression_fails_the_routine_by_its_own_name(aws: LocalAWS, execution: str) -> None:
    result = run_routine(aws, routine(failing_expression(), execution=execution), NOT_A_NUMBER)
    assert result.status == "FAILED"
    assert shown(result)["type"] == "States.QueryEvaluationError"
    assert FAILS in shown(result)["message"]
    assert result.nodes["t"]["status"] == "failed"
    assert result.nodes["t"]["error"]["type"] == "States.QueryEvaluationError"


def test_the_express_wrapper_never_raises_a_name_asl_reserves(aws: LocalAWS) -> None:
    result = run_routine(aws, routine(failing_expression(), execution="express"), NOT_A_NUMBER)
    raw = aws.client("stepfunctions").describe_execution(executionArn=result.execution_arn)
    assert raw["error"] == "Routines.States.QueryEvaluationError"  # the execution's own error
    assert result.error == "States.QueryEvaluationError"  # what the routine failed with


@pytest.mark.parametrize("execution", ["express", "standard"])
def test_a_branch_that_fails_with_a_states_error_fails_its_parallel_by_that_name(
    aws: LocalAWS, execution: str
) -> None:
    doc = routine(
        ok("start"),
        failing_expression("bad"),
        ok("good"),
        {"id": "join", "plugin": "merge"},
        connections=[link("start", "bad"), link("start", "good"), link("bad", "join"), link("good", "join")],
        execution=execution,
    )
    result = run_routine(aws, doc, NOT_A_NUMBER)
    assert result.status == "FAILED"
    assert any(e["type"] == "ParallelStateEntered" for e in result.history)
    assert shown(result)["type"] == "States.QueryEvaluationError" and FAILS in shown(result)["message"]
    assert result.nodes["bad"]["status"] == "failed"


def test_an_error_route_after_a_parallel_catches_a_branchs_states_error(aws: LocalAWS) -> None:
    """The branch's node routes its error on: the route runs, the routine succeeds."""
    bad = {**failing_expression("bad"), "onError": "route"}
    doc = routine(
        ok("start"),
        bad,
        ok("good"),
        transform("why", type="{{ nodes.bad.error.type }}"),
        connections=[link("start", "bad"), link("start", "good"), link("bad", "why", "error")],
        execution="standard",
    )
    result = run_routine(aws, doc, NOT_A_NUMBER)
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["why"]["output"] == {"type": "States.QueryEvaluationError"}


@pytest.mark.parametrize("execution", ["express", "standard"])
def test_an_iteration_that_fails_with_a_states_error_fails_its_loop_by_that_name(
    aws: LocalAWS, execution: str
) -> None:
    # A literal list: an Express loop needs a bound
    each = {"id": "each", "plugin": "loop", "parameters": {"items": ["1", "abc"]}}
    body = {"id": "n", "plugin": "transform", "parameters": {"fields": {"n": "{{ $number(loop.item) }}"}}}
    doc = routine(each, body, connections=[link("each", "n", "body")], execution=execution)
    result = run_routine(aws, doc, {})
    assert result.status == "FAILED"
    assert shown(result)["type"] == "States.QueryEvaluationError" and FAILS in shown(result)["message"]


def test_an_express_execution_that_fails_with_a_states_error_is_recorded_failed_at_once(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    routine_id: str = api.ok("POST", "/routines", routine(failing_expression()))["id"]
    api.ok("POST", f"/routines/{routine_id}/activate")
    started = api.ok("POST", f"/routines/{routine_id}/executions", {"input": NOT_A_NUMBER})
    assert events.settle(60)
    record = ExecutionStore().find(started["executionId"])
    assert record is not None and record.status == "FAILED"  # not RUNNING until the sweep
    assert record.error is not None and record.error["type"] == "States.QueryEvaluationError"
    assert FAILS in record.error["message"]
    execution = api.ok("GET", f"/executions/{started['executionId']}")
    assert execution["status"] == "FAILED" and execution["error"]["type"] == "States.QueryEvaluationError"


def test_the_seam_stays_off_over_another_moto_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert states_errors.changed() == []  # the moto this was written for
    monkeypatch.setattr(
        states_errors, "WRITTEN_FOR", {k: {"0" * 16: "other"} for k in states_errors.WRITTEN_FOR}
    )
    monkeypatch.setattr(states_errors, "_told", [])
    assert states_errors.changed()
    if states_errors.SEAM._users == 0:
        assert states_errors.install() is False
        assert not states_errors.SEAM.installed
        assert "fails as States.Runtime on moto's own code" in capsys.readouterr().err


def test_a_states_name_moto_does_not_know_is_handed_on_too() -> None:
    assert states_errors.error_name("States.Timeout").error_name == "States.Timeout"
    assert states_errors.error_name("States.SomethingNew").error_name == "States.SomethingNew"
    assert states_errors.error_name("Routines.UserError").error_name == "Routines.UserError"
    assert states_errors.error_name(None).error_name is None


PLUS = "T2001: The left side of the + operator must evaluate to a number"


def test_a_failed_expression_is_told_with_the_users_own_expression(aws: LocalAWS) -> None:
    """Step Functions quotes the machine's translation ($states.context…, guards); people
    are shown what they wrote, or the state when the machine's text does not carry it."""
    fields = {"n": "{{ $number(trigger.qty) }}", "text": "total: {{ trigger.qty + 1 }}"}
    message = shown(run_routine(aws, routine(transform("t", **fields)), NOT_A_NUMBER))["message"]
    assert message in (
        "{{ $number(trigger.qty) }} failed: " + FAILS,
        f"total: {{{{ trigger.qty + 1 }}}} failed: {PLUS}",
    )
    literal = shown(run_routine(aws, routine(transform("t", n="{{ 'a' + 1 }}")), {}))["message"]
    assert literal == f"an expression of state 't' failed: {PLUS}"


@pytest.mark.parametrize("on_error", ["continue", "route"])
def test_a_node_whose_expression_failed_and_was_routed_on_is_failed_in_the_trace(
    aws: LocalAWS, on_error: str
) -> None:
    """As a node whose Lambda failed is: it was 'succeeded' with no error, its error record
    as its output, because no Lambda ran to log it. The record's message, which the error
    route reads, names the user's expression, not the machine's translation of it."""
    after = transform("after", type="{{ nodes.t.error.type }}", message="{{ nodes.t.error.message }}")
    port = "error" if on_error == "route" else None
    doc = routine(
        {**failing_expression(), "onError": on_error}, after, connections=[link("t", "after", port)]
    )
    result = run_routine(aws, doc, NOT_A_NUMBER)
    assert result.status == "SUCCEEDED", result.cause
    told = "{{ $number(trigger.qty) }} failed: " + FAILS  # what the error route reads, too
    assert result.nodes["after"]["output"] == {"type": "States.QueryEvaluationError", "message": told}
    node = result.nodes["t"]
    assert node["status"] == "failed"
    assert node["error"] == {
        "type": "States.QueryEvaluationError",
        "message": "{{ $number(trigger.qty) }} failed: " + FAILS,
    }
