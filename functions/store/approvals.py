"""Deciding a paused approval node: claim the decision in the approvals table, then resume
the execution with SendTaskSuccess. One code path for the API and for routine tests."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from plugins.runtime.aws import approvals_table, client

GONE_TOKEN = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")
# The decision becomes the node's output inside the state document, which the payload
# budget cannot size (it arrives from outside): its data is bounded like a trigger's slot.
MAX_DATA_BYTES = 16 * 1024


class NotWaiting(Exception):
    """No approval waits at the node (never reached, already decided, timed out or ended)."""


class DataTooLarge(ValueError):
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


__all__ = ["GONE_TOKEN", "MAX_DATA_BYTES", "DataTooLarge", "NotWaiting", "decide"]
