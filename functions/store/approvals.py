"""Deciding a paused approval node: claim the decision in the approvals table, then resume
the execution with SendTaskSuccess. One code path for the API and for routine tests.

An approval in a branch of a race (a ``merge`` with ``mode: "first"``) is withdrawn when
another branch arrives first: Step Functions cancels its task. A decision taken later is
refused (:class:`NotWaiting`, the API's 409) and the approval is closed as ``withdrawn``.
That is read from the execution's history when a decision comes, not from the token: on
AWS the cancelled task's token should be dead, but moto keeps waiting on it while the
execution runs and would take the decision as if the approval still waited."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from plugins.runtime.aws import approvals_table, client
from statemachines.machine.race import RACE_ERROR

GONE_TOKEN = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")
# The decision becomes the node's output inside the state document, which the payload
# budget cannot size (it arrives from outside): its data is bounded like a trigger's slot.
MAX_DATA_BYTES = 16 * 1024
STOPPED = "stopped"
WITHDRAWN = "withdrawn"  # the approval's branch lost a race: another arrived first

log = logging.getLogger(__name__)


class NotWaiting(RoutinesError):
    """No approval waits at the node (never reached, already decided, timed out or ended)."""


class DataTooLarge(RoutinesError, ValueError):
    """The decision's ``data`` is over :data:`MAX_DATA_BYTES` as JSON."""


def decide(execution_arn: str, node_id: str, approve: bool, data: Any, by: str) -> dict[str, Any]:
    """Decide the approval waiting at ``node_id``; the node's output, which it returns:
    ``{"decision": "approved" | "rejected", "data", "by"}``."""
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:  # refused before anything is claimed: the approval still waits
        raise DataTooLarge(f"data is {size:,} bytes as JSON; an approval's data may be {MAX_DATA_BYTES:,}")
    key = {"executionId": {"S": execution_arn}, "nodeId": {"S": node_id}}
    # Nothing to decide (never reached, or decided): refused without asking Step Functions.
    stored = client("dynamodb").get_item(TableName=approvals_table(), Key=key, ConsistentRead=True)
    if "Item" not in stored or "decidedAt" in stored["Item"]:
        raise NotWaiting(f"no approval is waiting at node '{node_id}'")
    merge = withdrawn_by(execution_arn, node_id)
    if merge is not None:
        _withdraw(key, merge)
        raise NotWaiting(
            f"the approval at node '{node_id}' was withdrawn: another branch reached merge "
            f"'{merge}' (mode 'first') first"
        )
    decision = "approved" if approve else "rejected"
    try:
        # Claim the decision first: of two concurrent decisions, exactly one proceeds.
        item = client("dynamodb").update_item(
            TableName=approvals_table(),
            Key=key,
            UpdateExpression="SET decidedAt = :t, decision = :d, decidedBy = :b",
            ConditionExpression="attribute_exists(taskToken) AND attribute_not_exists(decidedAt)",
            ExpressionAttributeValues={":t": {"N": str(time.time())}, ":d": {"S": decision}, ":b": {"S": by}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotWaiting(f"no approval is waiting at node '{node_id}'") from None
        raise
    output = {"decision": decision, "data": data, "by": by}
    try:
        client("stepfunctions").send_task_success(taskToken=item["taskToken"]["S"], output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] in GONE_TOKEN:
            raise NotWaiting(f"node '{node_id}' is no longer waiting (timed out or ended)") from None
        raise
    return output


def withdrawn_by(execution_arn: str, node_id: str) -> str | None:
    """The merge whose race withdrew the approval at ``node_id`` — another of its branches
    arrived after the approval last started waiting — or None (not in a race, still in
    it, or its own branch arrived)."""
    sfn = client("stepfunctions")
    try:
        definition = json.loads(
            sfn.describe_state_machine_for_execution(executionArn=execution_arn)["definition"]
        )
    except ClientError as error:
        # Gone, or its machine deleted with its routine (moto: ResourceNotFound): the
        # decision fails as it always did (not waiting).
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound"):
            return None
        raise
    waiting, withdrawing = _race_states(definition.get("States", {}), node_id)
    if not withdrawing:
        return None
    query: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**query)
        # Newest first (moto returns the whole history oldest first, whatever it is asked).
        for event in sorted(page["events"], key=lambda e: -int(e["id"])):
            name = (event.get("stateEnteredEventDetails") or {}).get("name")
            if event["type"] == "TaskStateEntered" and name in waiting:
                return None  # it started waiting after any win that could withdraw it
            if event["type"] == "FailStateEntered" and name in withdrawing:
                return withdrawing[name]
        if not page.get("nextToken"):
            return None
        query["nextToken"] = page["nextToken"]


def _race_states(states: dict[str, Any], node_id: str) -> tuple[set[str], dict[str, str]]:
    """In a state machine's ``states``: the names of the Task states that wait for the
    approval at ``node_id``, and the Fail states by which another branch of a race around
    one of them arrives (name → the race's merge)."""
    waiting: set[str] = set()
    withdrawing: dict[str, str] = {}
    for name, state in states.items():
        if state.get("Type") == "Task" and str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            payload = (state.get("Arguments") or state.get("Parameters") or {}).get("Payload") or {}
            if isinstance(payload, dict) and payload.get("node") == node_id:
                waiting.add(name)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        branches = [b.get("States", {}) for b in state.get("Branches", [])]
        if processor:
            branches.append(processor.get("States", {}))
        found = [_race_states(branch, node_id) for branch in branches]
        for inner_waiting, inner_withdrawing in found:
            waiting |= inner_waiting
            withdrawing.update(inner_withdrawing)
        race = next(
            (
                error
                for catch in state.get("Catch", [])
                for error in catch.get("ErrorEquals", [])
                if state.get("Type") == "Parallel" and error.startswith(RACE_ERROR)
            ),
            None,
        )
        if race is None:
            continue
        arrivals = [_raising(branch, race) for branch in branches]
        for index, (inner_waiting, _) in enumerate(found):
            if inner_waiting:
                for other, names in enumerate(arrivals):
                    if other != index:
                        withdrawing.update(dict.fromkeys(names, race.removeprefix(RACE_ERROR)))
    return waiting, withdrawing


def _raising(states: dict[str, Any], error: str) -> list[str]:
    """The Fail states raising ``error`` in ``states``, nested ones too."""
    names = [n for n, s in states.items() if s.get("Type") == "Fail" and s.get("Error") == error]
    for state in states.values():
        for branch in state.get("Branches", []):
            names += _raising(branch.get("States", {}), error)
    return names


def _withdraw(key: dict[str, Any], merge: str) -> None:
    """Close a withdrawn approval's record (once; a decision claimed first stays)."""
    try:
        client("dynamodb").update_item(
            TableName=approvals_table(),
            Key=key,
            UpdateExpression="SET decidedAt = :t, decision = :d, decidedBy = :b",
            ConditionExpression="attribute_exists(taskToken) AND attribute_not_exists(decidedAt)",
            ExpressionAttributeValues={
                ":t": {"N": str(time.time())},
                ":d": {"S": WITHDRAWN},
                ":b": {"S": f"merge:{merge}"},
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def close(execution_arn: str, by: str, error: str, cause: str) -> list[str]:
    """Close every approval still waiting in a stopped execution: each is marked decided
    (``decision: "stopped"``), so a later decision is :class:`NotWaiting` (409), and its
    task is failed with ``error``. On AWS the token died with the execution (the failure is
    refused, and ignored); moto keeps waiting on a token after StopExecution, and this is
    what ends it there. The ids of the nodes closed."""
    dynamodb = client("dynamodb")
    closed: list[str] = []
    query: dict[str, Any] = {
        "TableName": approvals_table(),
        "KeyConditionExpression": "executionId = :e",
        "ExpressionAttributeValues": {":e": {"S": execution_arn}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**query)
        for item in page.get("Items", []):
            if "decidedAt" in item or "taskToken" not in item:
                continue
            try:
                dynamodb.update_item(
                    TableName=approvals_table(),
                    Key={"executionId": item["executionId"], "nodeId": item["nodeId"]},
                    UpdateExpression="SET decidedAt = :t, decision = :d, decidedBy = :b",
                    ConditionExpression="attribute_exists(taskToken) AND attribute_not_exists(decidedAt)",
                    ExpressionAttributeValues={
                        ":t": {"N": str(time.time())},
                        ":d": {"S": STOPPED},
                        ":b": {"S": by},
                    },
                )
            except ClientError as failure:
                if failure.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # decided meanwhile
                raise
            closed.append(item["nodeId"]["S"])
            try:
                client("stepfunctions").send_task_failure(
                    taskToken=item["taskToken"]["S"], error=error, cause=cause[:32768]
                )
            except ClientError as failure:
                if failure.response["Error"]["Code"] not in GONE_TOKEN:
                    log.warning("could not fail the approval task of %s: %s", item["nodeId"]["S"], failure)
        if not page.get("LastEvaluatedKey"):
            return closed
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


__all__ = [
    "GONE_TOKEN",
    "MAX_DATA_BYTES",
    "STOPPED",
    "WITHDRAWN",
    "DataTooLarge",
    "NotWaiting",
    "close",
    "decide",
    "withdrawn_by",
]
