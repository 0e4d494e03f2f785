"""Manual runs and executions through the API handler."""

from __future__ import annotations

import json
import time
from typing import Any

from functions.api.models import Execution
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionRecord, ExecutionStore
from tests.api.conftest import Api, manual


def wait(api: Api, execution_id: str, user: str = "alice") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        result: dict[str, Any] = api.ok("GET", f"/executions/{execution_id}", user=user)
        if result["status"] != "RUNNING" or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def active(api: Api, document: dict[str, Any] | None = None) -> str:
    routine = api.ok("POST", "/routines", document or manual())
    api.ok("POST", f"/routines/{routine['id']}/activate")
    return str(routine["id"])


def test_manual_run_returns_202_and_the_execution_reads_back(api: Api) -> None:
    routine_id = active(api)
    status, body, _ = api("POST", f"/routines/{routine_id}/executions", {"input": {"who": "Ada"}})
    assert status == 202 and set(body) == {"executionId"}
    assert body["executionId"].startswith(f"routines-{routine_id}:")
    result = wait(api, body["executionId"])
    assert result["status"] == "SUCCEEDED" and result["routineId"] == routine_id
    assert result["triggerType"] == "manual" and result["version"] == 1
    assert result["trigger"] == {"who": "Ada"}
    assert result["startedAt"] and result["stoppedAt"] and result["error"] is None
    assert result["nodes"]["greet"]["status"] == "succeeded"
    assert result["nodes"]["greet"]["output"] == {"message": "hi", "who": "Ada"}
    # An Express machine (this routine is one: auto) bills requests, not transitions.
    assert result["transitions"] is None


def test_run_of_an_inactive_routine_is_409_unless_test(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", manual())
    path = f"/routines/{routine['id']}/executions"
    status, body, _ = api("POST", path, {"input": {}})
    assert status == 409 and "not active" in body["errors"][0]["message"]
    status, body, _ = api("POST", path, {"input": {"who": "Grace"}, "test": True})
    assert status == 202
    result = wait(api, body["executionId"])
    assert result["status"] == "SUCCEEDED" and result["triggerType"] == "test"
    assert result["nodes"]["greet"]["output"]["who"] == "Grace"
    assert api.ok("GET", f"/routines/{routine['id']}")["status"] == "inactive"


def test_test_run_uses_the_latest_saved_version_not_the_active_one(api: Api) -> None:
    routine_id = active(api, manual(message="active"))
    api.ok("PUT", f"/routines/{routine_id}", manual(message="draft"))
    path = f"/routines/{routine_id}/executions"
    live = wait(api, api.ok("POST", path, {})["executionId"])
    draft = wait(api, api.ok("POST", path, {"test": True})["executionId"])
    assert live["nodes"]["greet"]["output"]["message"] == "active"
    assert draft["nodes"]["greet"]["output"]["message"] == "draft"


def test_failed_execution_reports_its_error(api: Api) -> None:
    document = {
        "name": "fails",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "halt",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Nope", "cause": "because"},
            }
        ],
    }
    routine_id = active(api, document)
    result = wait(api, api.ok("POST", f"/routines/{routine_id}/executions", {})["executionId"])
    assert result["status"] == "FAILED"
    assert result["error"] == {"type": "Nope", "message": "because"}


def test_another_owners_execution_and_unknown_ids_are_404(api: Api) -> None:
    routine_id = active(api)
    execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {})["executionId"]
    assert api("GET", f"/executions/{execution_id}", user="mallory")[0] == 404
    assert api("GET", f"/routines/{routine_id}/executions", user="mallory")[0] == 404
    assert api("POST", f"/routines/{routine_id}/executions", {}, user="mallory")[0] == 404
    assert api("GET", f"/executions/routines-{routine_id}:0000")[0] == 404
    assert api("GET", "/executions/somebody-else:abc")[0] == 404
    assert api("GET", "/executions/bad%20id")[0] in (404, 422)


def test_run_request_is_validated(api: Api) -> None:
    routine_id = active(api)
    path = f"/routines/{routine_id}/executions"
    status, body, _ = api("POST", path, {"input": {}, "tset": True})
    assert status == 422 and body["errors"][0]["path"] == "body.tset"
    status, body, _ = api("POST", path, {"test": "yes please"})
    assert status == 422 and body["errors"][0]["path"] == "body.test"
    assert api("POST", path, raw="{oops")[0] == 400


def test_executions_list_newest_first_with_filter_and_pagination(api: Api, aws: LocalAWS) -> None:
    routine_id = active(api)
    path = f"/routines/{routine_id}/executions"
    with StatusEvents(aws) as events:
        started = [api.ok("POST", path, {"input": {"n": n}})["executionId"] for n in range(3)]
        assert events.settle(60)
    assert len(api.ok("GET", path, query={"status": "SUCCEEDED"})["items"]) == 3
    listed = api.ok("GET", path)["items"]
    assert [item["executionId"] for item in listed] == list(reversed(started))
    assert {item["status"] for item in listed} == {"SUCCEEDED"}
    assert api.ok("GET", path, query={"status": "FAILED"})["items"] == []
    first = api.ok("GET", path, query={"limit": "2"})
    second = api.ok("GET", path, query={"limit": "2", "nextToken": first["nextToken"]})
    assert [i["executionId"] for i in first["items"] + second["items"]] == list(reversed(started))
    assert second["nextToken"] is None
    status, body, _ = api("GET", path, query={"status": "HAPPY"})
    assert status == 422 and body["errors"][0]["path"] == "query.status"
    assert api("GET", path, query={"nextToken": "%%%"})[0] == 400


def test_execution_record_written_by_the_recorder_is_what_the_api_returns(api: Api, aws: LocalAWS) -> None:
    with StatusEvents(aws) as events:
        routine_id = active(api)
        execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {"who": "Lin"}})[
            "executionId"
        ]
        assert events.settle(60)
    record = ExecutionStore().get("alice", execution_id)
    assert record is not None and record.status == "SUCCEEDED"
    result = api.ok("GET", f"/executions/{execution_id}")
    assert result == Execution.model_validate(record.to_json()).model_dump(by_alias=True, mode="json")
    assert result["nodes"]["greet"]["output"] == {"message": "hi", "who": "Lin"}
    listed = api.ok("GET", f"/routines/{routine_id}/executions")["items"]
    assert [(i["executionId"], i["status"], i["triggerType"]) for i in listed] == [
        (execution_id, "SUCCEEDED", "manual")
    ]


def test_a_record_whose_execution_step_functions_no_longer_knows_is_still_returned(api: Api) -> None:
    """After a restart of `routines serve --state-dir`, records survive; moto's executions do not."""
    routine_id = active(api)
    execution_id = f"routines-{routine_id}:gone"
    ExecutionStore().record(
        ExecutionRecord(
            execution_id, "alice", routine_id, "RUNNING", time.time(), version=1, trigger_type="manual"
        )
    )
    result = api.ok("GET", f"/executions/{execution_id}")
    assert result["status"] == "RUNNING" and result["executionId"] == execution_id
    assert api("GET", f"/executions/{execution_id}", user="mallory")[0] == 404


def test_a_run_whose_input_is_over_the_inline_budget_reads_it_from_s3(api: Api, aws: LocalAWS) -> None:
    routine_id = active(api)
    trigger = {"who": "Ada", "pad": "x" * 100_000}  # over the 64 KiB inline room of a trigger
    status, body, _ = api("POST", f"/routines/{routine_id}/executions", {"input": trigger})
    assert status == 202
    result = wait(api, body["executionId"])
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["nodes"]["greet"]["output"] == {"message": "hi", "who": "Ada"}
    machine, name = body["executionId"].split(":")
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{machine}:{name}"
    sent = json.loads(aws.client("stepfunctions").describe_execution(executionArn=arn)["input"])
    assert "pad" not in sent["trigger"] and len(json.dumps(sent)) < 17 * 1024  # the input held a reference
