"""POST /executions/{id}/stop: the execution ends ABORTED, its record says who stopped it
and why; a second stop, another user's execution, bad bodies and a later approval are
refused precisely."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.recorder.recorder import Recorder
from functions.serve import running
from functions.store import ExecutionRecord, ExecutionStore
from tests.api.conftest import Api
from tests.api.test_actions import approval_routine, final, run, waiting
from tests.api.test_serve import http


def long_wait(seconds: int = 30) -> dict[str, Any]:
    return {
        "execution": "standard",  # Step Functions stops Standard executions only
        "name": "sleeper",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "nap", "plugin": "wait", "parameters": {"seconds": seconds}}],
    }


def entered(aws: LocalAWS, execution_id: str) -> None:
    """Wait until the execution is RUNNING on Step Functions, in its first state."""
    store = ExecutionStore()
    for _ in range(500):
        record = store.find(execution_id)
        if record is not None and record.execution_arn:
            history = aws.client("stepfunctions").get_execution_history(executionArn=record.execution_arn)
            if any(e["type"].endswith("StateEntered") for e in history["events"]):
                return
        time.sleep(0.02)
    raise AssertionError("the execution never started")


def test_a_stopped_execution_ends_aborted_with_who_and_why(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    _, execution_id = run(api, long_wait())
    entered(aws, execution_id)
    began = time.monotonic()
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "deploy freeze"})
    assert status == 202, body
    assert body == {"executionId": execution_id, "status": "ABORTED"}
    record = final(events, execution_id)
    assert time.monotonic() - began < 10  # not the 30 s wait
    assert record.status == "ABORTED"
    assert record.stopped_by == "alice" and record.stop_reason == "deploy freeze"
    assert record.error == {"type": "Routines.Stopped", "message": "stopped by alice: deploy freeze"}
    shown = api.ok("GET", f"/executions/{execution_id}")
    assert shown["status"] == "ABORTED" and shown["stoppedBy"] == "alice"
    assert shown["stopReason"] == "deploy freeze"
    assert shown["error"] == {"type": "Routines.Stopped", "message": "stopped by alice: deploy freeze"}
    # The wait was stopped, it did not fail (an error routine is told of no failed node).
    assert shown["nodes"]["nap"]["status"] == "cancelled" and shown["nodes"]["nap"]["error"] is None
    # Stopping twice: it already ended.
    status, body, _ = api("POST", f"/executions/{execution_id}/stop")
    assert status == 409 and body["errors"][0]["code"] == "not_running"
    assert "ABORTED" in body["errors"][0]["message"]
    # Listed with who stopped it.
    routine_id = record.routine_id
    listed = api.ok("GET", f"/routines/{routine_id}/executions")["items"][0]
    assert listed["status"] == "ABORTED" and listed["stoppedBy"] == "alice"


def test_an_express_execution_cannot_be_stopped_409(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    """Step Functions does not stop Express executions: a precise 409, the record untouched."""
    _, execution_id = run(api, long_wait(5) | {"execution": "express"})
    entered(aws, execution_id)
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "deploy freeze"})
    assert status == 409 and body["errors"][0]["code"] == "not_stoppable", body
    assert "Express" in body["errors"][0]["message"]
    record = final(events, execution_id)
    assert record.status == "SUCCEEDED" and record.stopped_by is None


def test_a_second_stop_before_the_recorder_wrote_is_409(api: Api, aws: LocalAWS) -> None:
    # No status events delivered: the record stays RUNNING, the stop request is on it.
    _, execution_id = run(api, long_wait())
    entered(aws, execution_id)
    assert api("POST", f"/executions/{execution_id}/stop")[0] == 202
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "again"})
    assert status == 409 and body["errors"][0]["code"] == "not_running"
    # Read before the recorder: already shown as the record will say it.
    shown = api.ok("GET", f"/executions/{execution_id}")
    assert shown["status"] == "ABORTED"
    assert shown["error"] == {"type": "Routines.Stopped", "message": "stopped by alice"}
    assert shown["stopReason"] is None and shown["stoppedBy"] == "alice"


def test_another_user_or_an_unknown_id_is_404(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    _, execution_id = run(api, long_wait())
    entered(aws, execution_id)
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "mine"}, user="mallory")
    assert status == 404 and body["errors"][0]["code"] == "not_found"
    assert api("POST", "/executions/routines-nope:nothing/stop")[0] == 404
    assert api("POST", f"/executions/{execution_id}/stop", user=None)[0] == 401
    # Still running, and still alice's to stop.
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.status == "RUNNING" and record.stopped_by is None
    assert api("POST", f"/executions/{execution_id}/stop")[0] == 202
    assert final(events, execution_id).stopped_by == "alice"


@pytest.mark.parametrize(
    ("raw", "status", "code", "path"),
    [
        ('{"reason": 5}', 422, "invalid_request", "body.reason"),
        ('{"reason": "' + "x" * 1001 + '"}', 422, "invalid_request", "body.reason"),
        ('{"reason": "ok", "force": true}', 422, "invalid_request", "body.force"),
        ('["reason"]', 422, "invalid_request", "body"),
        ('{"reason": ', 400, "invalid_json", None),
        ('{"reason": "a", "reason": "b"}', 400, "invalid_json", None),
    ],
)
def test_bad_bodies_are_precise_4xx(
    api: Api, aws: LocalAWS, raw: str, status: int, code: str, path: str | None
) -> None:
    _, execution_id = run(api, long_wait())
    answer, body, _ = api("POST", f"/executions/{execution_id}/stop", raw=raw)
    assert answer == status, body
    assert body["errors"][0]["code"] == code
    if path is not None:
        assert body["errors"][0]["path"] == path
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.stopped_by is None  # nothing was requested


def test_a_reason_of_1000_characters_and_no_body_are_accepted(api: Api, aws: LocalAWS) -> None:
    _, first = run(api, long_wait())
    _, second = run(api, long_wait())
    entered(aws, first)
    entered(aws, second)
    assert api("POST", f"/executions/{first}/stop", {"reason": "y" * 1000})[0] == 202
    assert api("POST", f"/executions/{second}/stop")[0] == 202
    record = ExecutionStore().find(first)
    assert record is not None and record.stop_reason == "y" * 1000


def test_stopping_a_paused_approval_closes_it(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    _, execution_id = run(api, approval_routine())
    waiting(aws, execution_id)
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "no longer needed"})
    assert status == 202 and body["status"] == "ABORTED", body
    status, body, _ = api("POST", f"/executions/{execution_id}/approvals/ask", {"decision": "approve"})
    assert status == 409 and body["errors"][0]["code"] == "not_waiting"
    record = final(events, execution_id)
    assert record.status == "ABORTED" and record.stop_reason == "no longer needed"
    assert record.error == {"type": "Routines.Stopped", "message": "stopped by alice: no longer needed"}
    assert record.nodes is not None and record.nodes["ship"]["status"] == "skipped"


def test_an_ended_execution_is_409(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    document = {
        "name": "quick",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "t", "plugin": "transform", "parameters": {"fields": {"a": 1}}}],
    }
    _, execution_id = run(api, document)
    assert final(events, execution_id).status == "SUCCEEDED"
    status, body, _ = api("POST", f"/executions/{execution_id}/stop", {"reason": "late"})
    assert status == 409 and "SUCCEEDED" in body["errors"][0]["message"]
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.stopped_by is None


def aborted_event(record: ExecutionRecord, error: str | None, cause: str | None) -> dict[str, Any]:
    assert record.execution_arn is not None
    machine = record.execution_arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    return {
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": record.execution_arn,
            "stateMachineArn": machine,
            "name": record.execution_arn.rsplit(":", 1)[1],
            "status": "ABORTED",
            "startDate": int(record.started_at * 1000),
            "stopDate": int(record.started_at * 1000) + 500,
            "input": None,
            "inputDetails": {"included": False},
            "error": error,
            "cause": cause,
        },
    }


def test_the_recorder_keeps_who_and_why_whichever_write_comes_first(api: Api, aws: LocalAWS) -> None:
    """The API notes the stop on the record before StopExecution, so the ABORTED event
    (AWS: error Routines.Stopped, cause the reason) always finds it; the recorder owns the
    terminal write, and a later RUNNING event or a re-delivered ABORTED one changes nothing."""
    _, execution_id = run(api, long_wait())
    entered(aws, execution_id)
    store = ExecutionStore()
    assert api("POST", f"/executions/{execution_id}/stop", {"reason": "why"})[0] == 202
    record = store.find(execution_id)
    assert record is not None and record.status == "RUNNING" and record.stopped_by == "alice"
    recorder = Recorder(store)
    event = aborted_event(record, "Routines.Stopped", "why")
    assert recorder.handle(event)["result"] == "recorded"
    assert recorder.handle(event)["result"] == "duplicate"
    running = aborted_event(record, None, None)
    running["detail"]["status"] = "RUNNING"
    assert recorder.handle(running)["result"] == "duplicate"
    done = store.find(execution_id)
    assert done is not None and done.status == "ABORTED"
    assert (done.stopped_by, done.stop_reason) == ("alice", "why")
    assert done.error == {"type": "Routines.Stopped", "message": "stopped by alice: why"}


def test_an_abort_without_a_stop_request_keeps_step_functions_words(api: Api, aws: LocalAWS) -> None:
    _, execution_id = run(api, long_wait())
    record = ExecutionStore().find(execution_id)
    assert record is not None
    Recorder(ExecutionStore()).handle(aborted_event(record, "Console", "stopped in the console"))
    done = ExecutionStore().find(execution_id)
    assert done is not None and done.status == "ABORTED" and done.stopped_by is None
    assert done.error == {"type": "Console", "message": "stopped in the console"}


def test_cli_stop_against_a_running_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routine_file = tmp_path / "sleeper.json"
    routine_file.write_text(json.dumps(long_wait()))
    monkeypatch.setenv("ROUTINES_USER", "alice")
    with running() as server:
        assert main(["push", str(routine_file), "--api", server.url, "--json"]) == 0
        routine_id = json.loads(capsys.readouterr().out)["routine"]["id"]
        started = http(server.url, "POST", f"/routines/{routine_id}/executions", {"input": {}}, user="alice")
        execution_id = started[1]["executionId"]
        # Another user's execution is not found: exit 1, nothing stopped.
        assert main(["stop", execution_id, "--api", server.url, "--user", "bob"]) == 1
        assert "404" in capsys.readouterr().err
        assert main(["stop", execution_id, "--reason", "testing", "--api", server.url, "--json"]) == 0
        said = capsys.readouterr()
        assert json.loads(said.out) == {"executionId": execution_id, "status": "ABORTED"}
        deadline = time.monotonic() + 30
        while (shown := http(server.url, "GET", f"/executions/{execution_id}", user="alice")[1])[
            "stopReason"
        ] is None or shown["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert shown["status"] == "ABORTED" and shown["stoppedBy"] == "alice"
        assert shown["error"] == {"type": "Routines.Stopped", "message": "stopped by alice: testing"}
        # Stopping again: the API's 409, exit 1, in words.
        assert main(["stop", execution_id, "--api", server.url]) == 1
        assert "409" in capsys.readouterr().err
        assert main(["stop", execution_id, "--reason", "x" * 1001, "--api", server.url]) == 2
    assert main(["stop", execution_id, "--api", "http://127.0.0.1:9"]) == 2
