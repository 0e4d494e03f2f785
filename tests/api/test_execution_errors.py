"""What the API shows of a failure (issue #25): ``{type, message}`` with the human
message — never the Lambda's error report with its ``stackTrace`` of file paths — for the
execution and for every node, whether the recorder wrote the record or Step Functions is
asked while it has not."""

from __future__ import annotations

import json
import time
from typing import Any

from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionRecord, ExecutionStore
from tests.api.conftest import Api
from tests.api.test_executions import active, wait

SHOWN = {"type": "Routines.UserError", "message": "loop items must be a list; got a string"}
LAMBDA_REPORT = json.dumps(
    {
        "errorType": "Routines.UserError",
        "errorMessage": "loop items must be a list; got a string",
        "requestId": "0f6833d1",
        "stackTrace": ['  File "/var/task/plugins/runtime/handler.py", line 94, in invoke\n'],
    }
)


def failing() -> dict[str, Any]:
    """A loop over a string: its evaluator Lambda fails, and so does the execution."""
    return {
        "name": "fails",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
            {"id": "t", "plugin": "transform", "parameters": {"fields": {"i": "{{ loop.item }}"}}},
        ],
        "connections": [{"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "t"}],
    }


def assert_shown(result: dict[str, Any]) -> None:
    assert result["status"] == "FAILED"
    assert result["error"] == SHOWN
    assert result["nodes"]["each"]["error"] == SHOWN
    text = json.dumps(result)
    assert "stackTrace" not in text and "errorMessage" not in text and ".py" not in text


def test_a_recorded_failure_shows_type_and_message_only(api: Api, aws: LocalAWS) -> None:
    routine_id = active(api, failing())
    with StatusEvents(aws) as events:
        started = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {"items": "nope"}})
        assert events.settle(60)
    record = ExecutionStore().get("alice", started["executionId"])
    assert record is not None and record.status == "FAILED"
    assert record.error == SHOWN  # clean where it is written, not only where it is read
    assert_shown(api.ok("GET", f"/executions/{started['executionId']}"))
    (listed,) = api.ok("GET", f"/routines/{routine_id}/executions")["items"]
    assert listed["error"] == SHOWN


def test_a_failure_read_from_step_functions_shows_type_and_message_only(api: Api) -> None:
    routine_id = active(api, failing())
    started = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {"items": "nope"}})
    result = wait(api, started["executionId"])  # no status events: the record stays RUNNING
    assert ExecutionStore().get("alice", started["executionId"]).status == "RUNNING"  # type: ignore[union-attr]
    assert_shown(result)


def test_a_record_holding_a_lambda_report_is_shown_clean(api: Api) -> None:
    """Records written before errors were cleaned at the source."""
    routine_id = active(api, failing())
    execution_id = f"routines-{routine_id}:old"
    error = {"type": "Routines.UserError", "message": LAMBDA_REPORT}
    ExecutionStore().record(
        ExecutionRecord(
            execution_id,
            "alice",
            routine_id,
            "FAILED",
            time.time(),
            version=1,
            trigger_type="manual",
            stopped_at=time.time(),
            error=error,
            nodes={"each": {"status": "failed", "output": None, "error": error, "durationMs": 1}},
        )
    )
    assert_shown(api.ok("GET", f"/executions/{execution_id}"))
    (listed,) = api.ok("GET", f"/routines/{routine_id}/executions")["items"]
    assert listed["error"] == SHOWN
