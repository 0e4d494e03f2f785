"""Deciding a paused approval node: claim the decision in the approvals table, then resume
the execution with SendTaskSuccess. One code path for the API and for routine tests."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from plugins.runtime.aws import approvals_table, client

GONE_TOKEN = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")
# The decision becomes the node's output inside the state document, which the payload
# budget cannot size (it arrives from outside): its data is bounded like a trigger's slot.
MAX_DATA_BYTES = 16 * 1024
STOPPED = "stopped"

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


__all__ = ["GONE_TOKEN", "MAX_DATA_BYTES", "STOPPED", "DataTooLarge", "NotWaiting", "close", "decide"]
