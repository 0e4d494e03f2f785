"""WCP-16, deferred choice (issue #27): a race of a ``merge`` with ``mode: "first"`` whose
branches may not arrive — an approval in a branch, the environment choosing. The first
branch to arrive wins; the others are cancelled, a waiting approval withdrawn (a decision
taken later is refused, its record closed as ``withdrawn``). A branch whose approval is
rejected into nowhere simply ends; when no branch arrives the merge and what only it leads
to are skipped and the routine succeeds. On the local runtime (JSONata machines)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.api import context as api_context
from functions.local import ExecutionResult, LocalAWS
from functions.local.runner import RunningExecution, start_routine
from functions.local.status_events import StatusEvents
from functions.store import ExecutionStore
from functions.store.approvals import WITHDRAWN, NotWaiting, decide
from plugins.runtime.aws import approvals_table
from statemachines.compiler import compile_routine, validate_for_save
from tests.api.conftest import Api
from tests.asl_validator import Validate
from tests.conftest import link, routine

RUN_TIMEOUT = 60.0
HOLD = 2  # seconds the routine goes on after the race: decisions arrive while it still runs


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        api_context.reset()
        yield local
        api_context.reset()


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def approval(node_id: str, **parameters: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "approval", "parameters": {"message": f"{node_id}?", **parameters}}


def first(node_id: str = "decided") -> dict[str, Any]:
    return {"id": node_id, "plugin": "merge", "parameters": {"mode": "first"}}


def wait(node_id: str, seconds: int) -> dict[str, Any]:
    return {"id": node_id, "plugin": "wait", "parameters": {"seconds": seconds}}


def two_approvers(hold: int = HOLD) -> dict[str, Any]:
    """A purchase approved by the manager or by finance, whoever decides first; a rejection
    leads nowhere (that approver's branch ends). Then ``hold`` seconds, then ``order``."""
    return routine(
        transform("request", item="{{ trigger.item }}"),
        approval("manager"),
        approval("finance"),
        transform("by_manager", by="{{ nodes.manager.by }}"),
        transform("by_finance", by="{{ nodes.finance.by }}"),
        first(),
        wait("hold", hold),
        transform("order", item="{{ nodes.request.item }}", approval="{{ nodes.decided }}"),
        connections=[
            link("request", "manager"),
            link("request", "finance"),
            link("manager", "by_manager", "approved"),
            link("finance", "by_finance", "approved"),
            link("by_manager", "decided"),
            link("by_finance", "decided"),
            link("decided", "hold"),
            link("hold", "order"),
        ],
    )


def confirm_or_lapse(lapse_seconds: int) -> dict[str, Any]:
    """The customer confirms, or the offer lapses after ``lapse_seconds`` (a wait)."""
    return routine(
        transform("offer", price=10),
        approval("confirm"),
        transform("confirmed", by="{{ nodes.confirm.by }}"),
        wait("expire", lapse_seconds),
        transform("lapsed", after=lapse_seconds),
        first("outcome"),
        transform("close", outcome="{{ nodes.outcome }}"),
        connections=[
            link("offer", "confirm"),
            link("offer", "expire"),
            link("confirm", "confirmed", "approved"),
            link("expire", "lapsed"),
            link("confirmed", "outcome"),
            link("lapsed", "outcome"),
            link("outcome", "close"),
        ],
    )


def start(aws: LocalAWS, document: dict[str, Any], trigger: Any = None) -> RunningExecution:
    return start_routine(aws, document, trigger)


def record(aws: LocalAWS, execution_arn: str, node_id: str) -> dict[str, Any] | None:
    key = {"executionId": {"S": execution_arn}, "nodeId": {"S": node_id}}
    item: dict[str, Any] | None = (
        aws.client("dynamodb").get_item(TableName=approvals_table(), Key=key, ConsistentRead=True).get("Item")
    )
    return item


def waiting(aws: LocalAWS, execution_arn: str, *node_ids: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(record(aws, execution_arn, n) for n in node_ids):
            return
        time.sleep(0.01)
    raise AssertionError(f"approvals {node_ids} never started waiting")


def statuses(result: ExecutionResult) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


def until_running_past_the_race(aws: LocalAWS, running: RunningExecution, state: str = "hold") -> None:
    """Until the execution has entered ``state`` (after the race), still running."""
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=running.arn, maxResults=1000)["events"]
        if any((e.get("stateEnteredEventDetails") or {}).get("name") == state for e in events):
            assert sfn.describe_execution(executionArn=running.arn)["status"] == "RUNNING"
            return
        time.sleep(0.02)
    raise AssertionError(f"'{state}' was never entered")


def test_two_approvers_the_second_answered_first_wins_and_the_other_is_withdrawn(aws: LocalAWS) -> None:
    running = start(aws, two_approvers(), {"item": "desk"})
    waiting(aws, running.arn, "manager", "finance")
    decide(running.arn, "finance", True, {"budget": "ok"}, "fiona")
    until_running_past_the_race(aws, running)
    # The manager decides while the routine still runs (moto still holds the cancelled
    # task's token then, and would take the decision): refused, the approval is closed.
    with pytest.raises(NotWaiting, match="withdrawn: another branch reached merge 'decided'"):
        decide(running.arn, "manager", True, None, "mia")
    closed = record(aws, running.arn, "manager")
    assert closed is not None and closed["decision"]["S"] == WITHDRAWN
    result = running.wait(timeout=RUN_TIMEOUT)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    winner = {"by_finance": {"by": "fiona"}}
    assert result.output == {"order": {"item": "desk", "approval": winner}}
    assert statuses(result) == {
        "request": "succeeded",
        "manager": "cancelled",  # it was waiting when finance decided
        "finance": "succeeded",
        "by_manager": "cancelled",
        "by_finance": "succeeded",
        "decided": "succeeded",
        "hold": "succeeded",
        "order": "succeeded",
    }
    assert result.nodes["decided"]["output"] == winner
    assert result.nodes["finance"]["output"] == {
        "decision": "approved",
        "data": {"budget": "ok"},
        "by": "fiona",
    }
    # Once the execution has ended, still refused (and still withdrawn, not re-decided).
    with pytest.raises(NotWaiting):
        decide(running.arn, "manager", False, None, "mia")
    closed = record(aws, running.arn, "manager")
    assert closed is not None and closed["decision"]["S"] == WITHDRAWN
    # The refused decisions left no trace in the history: nothing resumed the cancelled task.
    history = aws.client("stepfunctions").get_execution_history(executionArn=running.arn, maxResults=1000)
    assert sum(e["type"] == "TaskSucceeded" for e in history["events"]) == 1  # finance's only


def test_a_wait_wins_when_nobody_decides_and_the_approval_is_withdrawn(aws: LocalAWS) -> None:
    running = start(aws, confirm_or_lapse(1))
    waiting(aws, running.arn, "confirm")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"close": {"outcome": {"lapsed": {"after": 1}}}}
    assert statuses(result)["confirm"] == statuses(result)["confirmed"] == "cancelled"
    assert statuses(result)["expire"] == statuses(result)["lapsed"] == "succeeded"
    with pytest.raises(NotWaiting, match="withdrawn"):
        decide(running.arn, "confirm", True, None, "customer")
    closed = record(aws, running.arn, "confirm")
    assert closed is not None and (closed["decision"]["S"], closed["decidedBy"]["S"]) == (
        WITHDRAWN,
        "merge:outcome",
    )


def test_the_approval_wins_when_decided_before_the_wait_ends(aws: LocalAWS) -> None:
    began = time.monotonic()
    running = start(aws, confirm_or_lapse(30))
    waiting(aws, running.arn, "confirm")
    decide(running.arn, "confirm", True, None, "customer")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert time.monotonic() - began < 10  # the 30 s wait was cancelled
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"close": {"outcome": {"confirmed": {"by": "customer"}}}}
    assert statuses(result)["expire"] == statuses(result)["lapsed"] == "cancelled"
    assert statuses(result)["confirm"] == "succeeded"


def test_no_branch_arrives_the_merge_and_what_follows_are_skipped(aws: LocalAWS) -> None:
    running = start(aws, two_approvers(hold=0), {"item": "yacht"})
    waiting(aws, running.arn, "manager", "finance")
    decide(running.arn, "manager", False, {"why": "no"}, "mia")
    decide(running.arn, "finance", False, None, "fiona")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert statuses(result) == {
        "request": "succeeded",
        "manager": "succeeded",
        "finance": "succeeded",
        "by_manager": "skipped",
        "by_finance": "skipped",
        "decided": "skipped",
        "hold": "skipped",
        "order": "skipped",
    }
    assert result.nodes["manager"]["output"]["decision"] == "rejected"
    assert result.output == {}  # no node without an outgoing connection ran


def test_a_rejection_ends_its_branch_and_the_other_may_still_win(aws: LocalAWS) -> None:
    running = start(aws, two_approvers(hold=0), {"item": "chair"})
    waiting(aws, running.arn, "manager", "finance")
    decide(running.arn, "manager", False, None, "mia")
    time.sleep(0.5)  # the manager's branch has ended; the race goes on
    decide(running.arn, "finance", True, None, "fiona")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"order": {"item": "chair", "approval": {"by_finance": {"by": "fiona"}}}}
    assert statuses(result)["manager"] == "succeeded"  # decided: rejected
    assert result.nodes["manager"]["output"]["decision"] == "rejected"
    assert statuses(result)["by_finance"] == statuses(result)["order"] == "succeeded"
    # The manager's branch ended before the race did: its untaken path stays skipped.
    assert statuses(result)["by_manager"] == "skipped"


def test_a_rejection_into_a_stop_ends_the_routine(aws: LocalAWS) -> None:
    document = two_approvers(hold=0)
    document["nodes"].append(
        {"id": "veto", "plugin": "stop", "parameters": {"status": "fail", "error": "Vetoed"}}
    )
    document["connections"].append(link("manager", "veto", "rejected"))
    running = start(aws, document, {"item": "car"})
    waiting(aws, running.arn, "manager", "finance")
    decide(running.arn, "manager", False, None, "mia")
    result = running.wait(timeout=RUN_TIMEOUT)
    assert (result.status, result.error) == ("FAILED", "Vetoed")
    assert statuses(result)["finance"] != "succeeded"


def test_a_withdrawn_approval_is_409_through_the_api(aws: LocalAWS) -> None:
    api = Api()
    routine_id = api.ok("POST", "/routines", confirm_or_lapse(1))["id"]
    api.ok("POST", f"/routines/{routine_id}/activate")
    with StatusEvents(aws) as events:
        execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
        store = ExecutionStore()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = store.find(execution_id)
            if found is not None and found.terminal:
                break
            time.sleep(0.05)
        assert events.settle(30)
    found = store.get("alice", execution_id)
    assert found is not None and found.status == "SUCCEEDED" and found.nodes is not None
    assert found.nodes["confirm"]["status"] == "cancelled"
    status, body, _ = api("POST", f"/executions/{execution_id}/approvals/confirm", {"decision": "approve"})
    assert status == 409 and body["errors"][0]["code"] == "not_waiting"
    assert "withdrawn" in body["errors"][0]["message"]


# --- shapes ------------------------------------------------------------------------------


def _errors(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e.code, e.path, e.message) for e in validate_for_save(document).errors]


MODE = ("invalid_parameter", "nodes[decided].parameters.mode")


def test_a_node_on_a_way_that_does_not_arrive_is_refused() -> None:
    document = two_approvers()
    document["nodes"].append(transform("regret", why="{{ nodes.manager.data }}"))
    document["connections"].append(link("manager", "regret", "rejected"))
    [(code, path, message)] = _errors(document)
    assert (code, path) == MODE
    assert "'regret', in the branch from 'manager'" in message and "does not lead to the merge" in message


def test_an_approval_port_straight_into_the_merge_is_refused() -> None:
    document = two_approvers()
    document["nodes"] = [n for n in document["nodes"] if n["id"] != "by_manager"]
    document["connections"] = [
        c for c in document["connections"] if "by_manager" not in (c["sourceNodeId"], c["targetNodeId"])
    ]
    document["connections"].append(link("manager", "decided", "approved"))
    [(code, path, message)] = _errors(document)
    assert (code, path) == MODE
    assert "'manager' reaches it through its 'approved' port, which is not always taken" in message


def test_a_rejection_leading_out_of_the_race_is_refused() -> None:
    document = two_approvers()
    document["connections"].append(link("manager", "order", "rejected"))
    [(code, path, message)] = _errors(document)
    assert (code, path) == MODE
    assert "lead only to the merge" in message


def test_a_merge_with_a_connection_from_outside_the_race_is_refused() -> None:
    document = two_approvers()
    document["connections"].append(link("request", "decided"))
    assert [(c, p) for c, p, _ in _errors(document)] == [MODE]


def test_a_fork_in_a_branch_that_does_not_meet_before_the_merge_is_refused() -> None:
    document = two_approvers()
    document["nodes"].append({"id": "halt", "plugin": "stop", "parameters": {"status": "succeed"}})
    document["connections"].append(link("by_manager", "halt"))
    [(code, path, message)] = _errors(document)
    assert (code, path) == MODE
    assert "forks into paths that do not meet again" in message


def vetoed() -> dict[str, Any]:
    """The manager's rejection stops the routine."""
    document = two_approvers(hold=0)
    document["nodes"].append({"id": "veto", "plugin": "stop", "parameters": {"status": "fail"}})
    document["connections"].append(link("manager", "veto", "rejected"))
    return document


def in_a_loop() -> dict[str, Any]:
    """Two approvals racing in each iteration of a loop over the items."""
    document = two_approvers(hold=0)
    document["nodes"].insert(
        0, {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}}
    )
    document["connections"].insert(0, link("each", "request", "body"))
    document["nodes"][1]["parameters"]["fields"]["item"] = "{{ loop.item }}"
    return document


def test_the_races_are_valid_asl(asl_validator: Validate) -> None:
    documents = (two_approvers(), confirm_or_lapse(60), vetoed(), in_a_loop())
    assert all(validate_for_save(d).errors == [] for d in documents)
    machines = [compile_routine(d).asl for d in documents]
    checked = asl_validator(machines)
    assert all(c.ok and not c.warnings for c in checked), [c.describe() for c in checked]
    [parallel] = [s for s in machines[0]["States"].values() if s["Type"] == "Parallel"]
    # Both branches may end without arriving: the Parallel also goes on by its Next
    # (assigning what they handed back) besides catching the winner's error.
    assert parallel["Catch"][-1]["ErrorEquals"] == ["Routines.First.decided"]
    assert set(parallel["Assign"]) == set(parallel["Catch"][-1]["Assign"])
    assert parallel["Catch"][-1]["Next"] == "hold"  # a winner: on after the merge
    assert parallel.get("End") is True  # none: the merge and what follows are skipped
    # A lapse always arrives: one way on, as in a race whose branches all arrive.
    [race] = [s for s in machines[1]["States"].values() if s["Type"] == "Parallel"]
    assert race["Next"] == race["Catch"][-1]["Next"] and "Assign" not in race
    # No Lambda for the race: the approvals' notifier and the transforms only.
    resources = json.dumps(machines[0])
    assert resources.count("routines-transform") == 4  # request, by_manager, by_finance, order
