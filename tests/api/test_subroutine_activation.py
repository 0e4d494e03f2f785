"""execute-routine through the API: activation refuses a parent whose child is not an
active routine of the same owner (422 at the node's ``routine``), and a run links both
records — the child's ``parentExecutionId`` and ``triggerType: routine``, the child's
execution id on the parent's node."""

from __future__ import annotations

from typing import Any

from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionStore
from tests.api.conftest import Api
from tests.api.test_actions import final

ROUTINE_PATH = "nodes[call].parameters.routine"


def child() -> dict[str, Any]:
    return {
        "name": "doubler",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "double", "plugin": "transform", "parameters": {"fields": {"n": "{{ trigger.n * 2 }}"}}}
        ],
    }


def parent(routine: str) -> dict[str, Any]:
    return {
        "name": "caller",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "call",
                "plugin": "execute-routine",
                "parameters": {"routine": routine, "input": {"n": "{{ trigger.n }}"}},
            }
        ],
    }


def refused(api: Api, routine_id: str) -> dict[str, Any]:
    status, body, _ = api("POST", f"/routines/{routine_id}/activate")
    assert status == 422, body
    [problem] = body["errors"]
    assert problem["code"] == "invalid_sub_routine" and problem["path"] == ROUTINE_PATH, problem
    return dict(problem)


def test_activation_refuses_a_child_that_is_not_active(api: Api, aws: LocalAWS) -> None:
    child_id = api.ok("POST", "/routines", child())["id"]
    parent_id = api.ok("POST", "/routines", parent(child_id))["id"]
    assert f"routine '{child_id}' is not active" in refused(api, parent_id)["message"]
    machines = [m["name"] for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]]
    assert f"routines-{parent_id}" not in machines  # nothing half-activated
    api.ok("POST", f"/routines/{child_id}/activate")
    assert api.ok("POST", f"/routines/{parent_id}/activate")["status"] == "active"
    # Deactivated again: a later activation of the parent is refused again.
    api.ok("POST", f"/routines/{child_id}/deactivate")
    assert "is not active" in refused(api, parent_id)["message"]


def test_activation_refuses_unknown_other_owners_and_file_paths(api: Api) -> None:
    missing = api.ok("POST", "/routines", parent("no-such-routine"))["id"]
    assert refused(api, missing)["message"] == "there is no routine 'no-such-routine'"
    bobs = api.ok("POST", "/routines", child(), user="bob")["id"]
    api.ok("POST", f"/routines/{bobs}/activate", user="bob")
    other = api.ok("POST", "/routines", parent(bobs))["id"]
    assert refused(api, other)["message"] == f"there is no routine '{bobs}'"  # tenancy: not yours
    path = api.ok("POST", "/routines", parent("children/doubler.json"))["id"]
    assert "is a file path" in refused(api, path)["message"]


def test_a_run_links_parent_and_child_both_ways(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    child_id = api.ok("POST", "/routines", child())["id"]
    api.ok("POST", f"/routines/{child_id}/activate")
    parent_id = api.ok("POST", "/routines", parent(child_id))["id"]
    api.ok("POST", f"/routines/{parent_id}/activate")
    execution_id = api.ok("POST", f"/routines/{parent_id}/executions", {"input": {"n": 21}})["executionId"]
    record = final(events, execution_id)
    assert record.status == "SUCCEEDED", record.error
    assert record.output == {"call": {"double": {"n": 42}}}
    assert record.nodes is not None
    call = record.nodes["call"]
    assert call["status"] == "succeeded" and call["output"] == {"double": {"n": 42}}
    child_execution = call["childExecutionId"]
    assert child_execution.startswith(f"routines-{child_id}:")
    # The child's record: who started it, which version ran, what it got.
    child_record = ExecutionStore().get("alice", child_execution)
    assert child_record is not None and child_record.status == "SUCCEEDED"
    assert child_record.trigger_type == "routine" and child_record.version == 1
    assert (child_record.parent_execution_id, child_record.parent_node_id) == (execution_id, "call")
    assert child_record.trigger == {"n": 21}
    shown = api.ok("GET", f"/executions/{child_execution}")
    assert shown["parentExecutionId"] == execution_id and shown["parentNodeId"] == "call"
    assert shown["triggerType"] == "routine"
    listed = api.ok("GET", f"/routines/{child_id}/executions")["items"]
    assert [i["parentExecutionId"] for i in listed] == [execution_id]
    assert (
        api.ok("GET", f"/executions/{execution_id}")["nodes"]["call"]["childExecutionId"] == child_execution
    )
    assert api("GET", f"/executions/{child_execution}", user="bob")[0] == 404
