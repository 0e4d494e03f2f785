"""Approvals (SendTaskSuccess with the stored token; 409 when nothing waits; 404 for
another owner) and re-runs (same version, same trigger data, linked both ways)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionRecord, ExecutionStore
from tests.api.conftest import Api


def transform(node_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def approval_routine(timeout: int | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"message": "Ship {{ trigger.id }}?"}
    if timeout:
        parameters["timeoutSeconds"] = timeout
    nodes = [
        {"id": "ask", "plugin": "approval", "parameters": parameters},
        transform("ship", {"by": "{{ nodes.ask.by }}"}),
    ]
    nodes.append(transform("cancel", {"why": "{{ nodes.ask.data.reason }}"}))
    connections = [
        {"sourceNodeId": "ask", "sourcePort": "approved", "targetNodeId": "ship"},
        {"sourceNodeId": "ask", "sourcePort": "rejected", "targetNodeId": "cancel"},
    ]
    if timeout:
        nodes.append(transform("late", {"x": 1}))
        connections.append({"sourceNodeId": "ask", "sourcePort": "timeout", "targetNodeId": "late"})
    return {"name": "approve", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def run(api: Api, document: dict[str, Any], trigger: Any = None) -> tuple[str, str]:
    routine_id = api.ok("POST", "/routines", document)["id"]
    api.ok("POST", f"/routines/{routine_id}/activate")
    started = api.ok("POST", f"/routines/{routine_id}/executions", {"input": trigger or {"id": 7}})
    return routine_id, started["executionId"]


def waiting(aws: LocalAWS, execution_id: str, node: str = "ask") -> None:
    store = ExecutionStore()
    for _ in range(500):
        record = store.find(execution_id)
        if record is not None and record.execution_arn:
            item = aws.client("dynamodb").get_item(
                TableName="approvals",
                Key={"executionId": {"S": record.execution_arn}, "nodeId": {"S": node}},
            )
            if "Item" in item:
                return
        time.sleep(0.02)
    raise AssertionError("the approval never paused")


def final(events: StatusEvents, execution_id: str, owner: str = "alice") -> ExecutionRecord:
    assert events.settle(30)
    record = ExecutionStore().get(owner, execution_id)
    assert record is not None
    return record


@pytest.mark.parametrize(("decision", "ran"), [("approve", "ship"), ("reject", "cancel")])
def test_a_decision_resumes_the_paused_node(
    api: Api, aws: LocalAWS, events: StatusEvents, decision: str, ran: str
) -> None:
    _, execution_id = run(api, approval_routine())
    waiting(aws, execution_id)
    path = f"/executions/{execution_id}/approvals/ask"
    assert api("POST", path, {"decision": decision}, user="mallory")[0] == 404
    # Data over 16 KiB would land in the state document unbudgeted: refused, still waiting.
    big = api("POST", path, {"decision": decision, "data": {"blob": "x" * 20_000}})[:2]
    assert big[0] == 413 and big[1]["errors"][0]["code"] == "payload_too_large"
    decided = api.ok("POST", path, {"decision": decision, "data": {"reason": "too late"}})
    assert decided["decision"] == ("approved" if decision == "approve" else "rejected")
    twice = api("POST", path, {"decision": decision})[:2]
    assert twice[0] == 409 and twice[1]["errors"][0]["code"] == "not_waiting"
    record = final(events, execution_id)
    assert record.status == "SUCCEEDED" and record.nodes is not None
    assert {n for n, t in record.nodes.items() if t["status"] == "succeeded"} == {"ask", ran}
    assert record.nodes["ask"]["output"]["by"] == "alice"


def test_nothing_waiting_is_409(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    _, execution_id = run(api, approval_routine(timeout=1))
    waiting(aws, execution_id)
    assert api("POST", f"/executions/{execution_id}/approvals/ship", {"decision": "approve"})[0] == 409
    record = final(events, execution_id)  # the approval timed out
    assert record.nodes is not None and record.nodes["late"]["status"] == "succeeded"
    status, body, _ = api("POST", f"/executions/{execution_id}/approvals/ask", {"decision": "approve"})
    assert status == 409 and body["errors"][0]["code"] == "not_waiting"
    assert api("POST", "/executions/nope:nothing/approvals/ask", {"decision": "approve"})[0] == 404
    assert api("POST", f"/executions/{execution_id}/approvals/ask", {"decision": "maybe"})[0] == 422


def failing_routine(tag: str = "v1") -> dict[str, Any]:
    return {
        "name": "fails",
        "trigger": {"type": "manual"},
        "nodes": [
            transform("note", {"tag": tag, "order": "{{ trigger.id }}"}),
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Nope", "cause": "always"},
            },
        ],
        "connections": [{"sourceNodeId": "note", "targetNodeId": "boom"}],
    }


def test_a_rerun_runs_the_same_version_with_the_same_trigger_and_is_linked(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    routine_id, execution_id = run(api, failing_routine(), {"id": 99})
    assert final(events, execution_id).status == "FAILED"
    # the routine moves on to version 2 meanwhile
    api.ok("PUT", f"/routines/{routine_id}", failing_routine("v2"))
    api.ok("POST", f"/routines/{routine_id}/activate")
    status, body, _ = api("POST", f"/executions/{execution_id}/rerun")
    assert status == 202 and body["rerunOf"] == execution_id
    rerun = final(events, body["executionId"])
    original = final(events, execution_id)
    assert rerun.rerun_of == execution_id and original.reruns == [body["executionId"]]
    assert rerun.trigger == original.trigger == {"id": 99}
    assert rerun.version == 1 and rerun.trigger_type == "rerun" and rerun.status == "FAILED"
    assert rerun.nodes is not None and rerun.nodes["note"]["output"] == {"tag": "v1", "order": 99}
    assert api("POST", f"/executions/{execution_id}/rerun", user="mallory")[0] == 404


def test_only_failed_executions_are_rerun(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    document = {"name": "ok", "trigger": {"type": "manual"}, "nodes": [transform("a", {"x": 1})]}
    _, execution_id = run(api, document)
    assert final(events, execution_id).status == "SUCCEEDED"
    status, body, _ = api("POST", f"/executions/{execution_id}/rerun")
    assert status == 409 and body["errors"][0]["code"] == "not_rerunnable"
