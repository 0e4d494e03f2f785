"""``errorRoutine`` and the ``error`` trigger: a routine's failures (FAILED, TIMED_OUT,
ABORTED) start its error routine once, through the recorder, with the failure as trigger
data; never for a success, never a chain, never twice for one failed execution; checked
at save and at activation (paths ``errorRoutine``, ``trigger.type``); an error routine
deleted since is a note on the failed execution's record, never a crash."""

from __future__ import annotations

import time
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.local.status_events import StatusEvents, status_event
from functions.recorder.error_routines import StoredErrorRoutines, execution_name, pass_on
from functions.recorder.handler import StoredRoutines
from functions.recorder.recorder import Recorder
from functions.store import ExecutionRecord, ExecutionStore
from functions.triggers.start import RunMeta
from statemachines.validator import validate_document
from tests.api.conftest import Api


def handler_routine(fail: bool = False) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {
            "id": "note",
            "plugin": "transform",
            "parameters": {
                "fields": {
                    "failed": "{{ trigger.routine.name }}",
                    "status": "{{ trigger.execution.status }}",
                    "at": "{{ trigger.execution.failedNode }}",
                }
            },
        }
    ]
    connections = []
    if fail:
        nodes.append({"id": "again", "plugin": "stop", "parameters": {"status": "fail", "error": "Handler"}})
        connections.append({"sourceNodeId": "note", "targetNodeId": "again"})
    return {"name": "on error", "trigger": {"type": "error"}, "nodes": nodes, "connections": connections}


def failing(error_routine: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "fragile",
        "trigger": {"type": "manual"},
        "errorRoutine": error_routine,
        "nodes": [
            {"id": "prepare", "plugin": "transform", "parameters": {"fields": {"a": 1}}},
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Broken", "cause": "the order is broken"},
            },
        ],
        "connections": [{"sourceNodeId": "prepare", "targetNodeId": "boom"}],
        **extra,
    }


def sleeper(error_routine: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "sleepy",
        "trigger": {"type": "manual"},
        "errorRoutine": error_routine,
        "nodes": [{"id": "nap", "plugin": "wait", "parameters": {"seconds": 5}}],
        **extra,
    }


def activated(api: Api, document: dict[str, Any], user: str = "alice") -> str:
    routine_id: str = api.ok("POST", "/routines", document, user=user)["id"]
    api.ok("POST", f"/routines/{routine_id}/activate", user=user)
    return routine_id


def start(api: Api, routine_id: str) -> str:
    started: str = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
    return started


def settled(events: StatusEvents, execution_id: str) -> ExecutionRecord:
    assert events.settle(60)
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.terminal, record
    return record


def error_executions(aws: LocalAWS, routine_id: str) -> list[dict[str, Any]]:
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:routines-{routine_id}"
    listed = aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    return list(listed)


def test_a_failure_starts_the_error_routine_once_with_the_failure(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    handler = activated(api, handler_routine())
    routine_id = activated(api, failing(handler))
    failed_id = start(api, routine_id)
    failed = settled(events, failed_id)
    assert failed.status == "FAILED"
    assert failed.error_routine is not None and failed.error_routine["note"] is None
    assert failed.error_routine["routineId"] == handler
    error_id = failed.error_routine["executionId"]
    assert error_id == f"routines-{handler}:{execution_name(failed_id)}"
    ran = ExecutionStore().find(error_id)
    assert ran is not None and ran.status == "SUCCEEDED" and ran.trigger_type == "error"
    assert ran.trigger == {
        "routine": {"id": routine_id, "name": "fragile", "version": 1},
        "execution": {
            "id": failed_id,
            "status": "FAILED",
            "error": {"type": "Broken", "message": "the order is broken"},
            "failedNode": "boom",
            "startedAt": api.ok("GET", f"/executions/{failed_id}")["startedAt"],
            "stoppedAt": api.ok("GET", f"/executions/{failed_id}")["stoppedAt"],
        },
    }
    assert ran.output == {"note": {"failed": "fragile", "status": "FAILED", "at": "boom"}}
    assert len(error_executions(aws, handler)) == 1
    # The API shows both ends of the link.
    shown = api.ok("GET", f"/executions/{failed_id}")
    assert shown["errorRoutine"] == {"routineId": handler, "executionId": error_id, "note": None}
    assert api.ok("GET", f"/executions/{error_id}")["triggerType"] == "error"


def test_a_timeout_starts_it(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    handler = activated(api, handler_routine())
    routine_id = activated(api, sleeper(handler, timeoutSeconds=1))
    failed = settled(events, start(api, routine_id))
    assert failed.status == "TIMED_OUT" and failed.error_routine is not None
    ran = ExecutionStore().find(failed.error_routine["executionId"])
    assert ran is not None and ran.status == "SUCCEEDED"
    assert ran.trigger["execution"]["status"] == "TIMED_OUT"
    assert ran.trigger["execution"]["error"]["type"] == "States.Timeout"
    assert ran.output["note"]["status"] == "TIMED_OUT"


def test_a_stop_starts_it(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    handler = activated(api, handler_routine())
    routine_id = activated(api, sleeper(handler, execution="standard"))  # only Standard stops
    execution_id = start(api, routine_id)
    record = None
    for _ in range(200):  # in its wait state
        record = ExecutionStore().find(execution_id)
        if record is not None and record.execution_arn:
            history = aws.client("stepfunctions").get_execution_history(executionArn=record.execution_arn)
            if any(e["type"] == "WaitStateEntered" for e in history["events"]):
                break
        time.sleep(0.02)
    assert api("POST", f"/executions/{execution_id}/stop", {"reason": "enough"})[0] == 202
    failed = settled(events, execution_id)
    assert failed.status == "ABORTED" and failed.error_routine is not None
    ran = ExecutionStore().find(failed.error_routine["executionId"])
    assert ran is not None and ran.status == "SUCCEEDED"
    assert ran.trigger["execution"]["status"] == "ABORTED"
    assert ran.trigger["execution"]["error"] == {
        "type": "Routines.Stopped",
        "message": "stopped by alice: enough",
    }


def test_a_success_starts_nothing(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    handler = activated(api, handler_routine())
    fine = {**failing(handler), "nodes": failing(handler)["nodes"][:1], "connections": []}
    record = settled(events, start(api, activated(api, fine)))
    assert record.status == "SUCCEEDED" and record.error_routine is None
    assert error_executions(aws, handler) == []


def test_a_failing_error_routine_never_starts_another(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    handler = activated(api, handler_routine(fail=True))
    routine_id = activated(api, failing(handler))
    failed = settled(events, start(api, routine_id))
    assert failed.error_routine is not None
    ran = ExecutionStore().find(failed.error_routine["executionId"])
    assert ran is not None and ran.status == "FAILED" and ran.error_routine is None
    # A manual run of the error routine (testing it) that fails passes nothing on either.
    manual = settled(events, start(api, handler))
    assert manual.status == "FAILED" and manual.error_routine is None
    assert len(error_executions(aws, handler)) == 2  # the error run and the manual run


def test_the_same_terminal_event_twice_starts_it_once(api: Api, aws: LocalAWS) -> None:
    handler = activated(api, handler_routine())
    routine_id = activated(api, failing(handler))
    execution_id = start(api, routine_id)
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.execution_arn is not None
    sfn = aws.client("stepfunctions")
    while (description := sfn.describe_execution(executionArn=record.execution_arn))["status"] == "RUNNING":
        time.sleep(0.02)
    recorder = Recorder(ExecutionStore(), StoredRoutines(), StoredErrorRoutines())
    event = status_event(description)
    assert recorder.handle(event)["result"] == "recorded"
    assert recorder.handle(event)["result"] == "duplicate"
    assert len(error_executions(aws, handler)) == 1
    # Even when the first delivery started it but its write was lost: the name is taken.
    failed = ExecutionStore().find(execution_id)
    assert failed is not None and failed.error_routine is not None
    meta = RunMeta("alice", routine_id, 1, "manual")
    again = pass_on(StoredErrorRoutines(), ExecutionStore(), failed, meta, failing(handler))
    assert again == failed.error_routine
    assert len(error_executions(aws, handler)) == 1


def test_an_error_routine_deleted_since_is_a_note(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    handler = activated(api, handler_routine())
    routine_id = activated(api, failing(handler))
    api.ok("POST", f"/routines/{handler}/deactivate")
    failed = settled(events, start(api, routine_id))
    assert failed.status == "FAILED" and failed.error is not None
    assert failed.error_routine == {
        "routineId": handler,
        "executionId": None,
        "note": f"routine '{handler}' is not active; the error routine was not started",
    }
    assert api("DELETE", f"/routines/{handler}")[0] == 204
    failed = settled(events, start(api, routine_id))
    assert failed.error_routine is not None
    assert (
        failed.error_routine["note"] == f"there is no routine '{handler}'; the error routine was not started"
    )


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"errorRoutine": 7}, "errorRoutine", "must be a routine id"),
        ({"errorRoutine": "no spaces"}, "errorRoutine", "must be a routine id"),
        ({"errorRoutine": ""}, "errorRoutine", "must be a routine id"),
        ({"errorRoutine": "abc", "trigger": {"type": "error"}}, "errorRoutine", "no chains"),
        ({"errorRoutine": None, "trigger": {"type": "error", "extra": 1}}, "trigger.extra", ""),
        ({"trigger": {"type": "oops"}}, "trigger.type", "error"),
    ],
)
def test_save_time_errors_have_paths(changes: dict[str, Any], path: str, words: str) -> None:
    document = {k: v for k, v in {**failing("abc"), **changes}.items() if v is not None}
    errors = validate_document(document).errors
    assert [e.path for e in errors] == [path], errors
    assert words in errors[0].message


def test_an_error_trigger_and_an_error_routine_validate() -> None:
    assert validate_document(handler_routine()).valid
    assert validate_document(failing("a1b2-c_3")).valid


def test_activation_checks_the_error_routine(api: Api, aws: LocalAWS) -> None:
    def refused(document: dict[str, Any], user: str = "alice") -> str:
        routine_id = api.ok("POST", "/routines", document, user=user)["id"]
        status, body, _ = api("POST", f"/routines/{routine_id}/activate", user=user)
        assert status == 422, body
        assert [(e["code"], e["path"]) for e in body["errors"]] == [("invalid_error_routine", "errorRoutine")]
        message: str = body["errors"][0]["message"]
        return message

    assert "there is no routine 'nothere'" in refused(failing("nothere"))
    alices = activated(api, handler_routine())
    assert "there is no routine" in refused(failing(alices), user="bob")  # another owner's
    manual = activated(api, {"name": "m", "trigger": {"type": "manual"}, "nodes": failing("x")["nodes"][:1]})
    assert "has a manual trigger, not an error trigger" in refused(failing(manual))
    inactive = api.ok("POST", "/routines", handler_routine())["id"]
    assert "is not active" in refused(failing(inactive))
    # Activated once the error routine is.
    api.ok("POST", f"/routines/{inactive}/activate")
    assert api("POST", f"/routines/{activated(api, failing(inactive))}/activate")[0] == 200


def test_an_error_routine_takes_no_webhook_calls(api: Api, aws: LocalAWS) -> None:
    from functions.local.lambdas import LambdaContext
    from functions.webhook import handler as webhook
    from tests.api.conftest import proxy_event

    handler = activated(api, handler_routine())
    event = proxy_event("POST", f"/hooks/{handler}", user=None, raw="{}")
    context = LambdaContext("routines-webhook", "arn:aws:lambda:us-east-1:123456789012:function:w", 512, 30)
    assert webhook.lambda_handler(event, context)["statusCode"] == 404
