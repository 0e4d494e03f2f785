"""Execution records: one DynamoDB item per routine execution (docs/storage.md).

Written by whoever starts an execution (RUNNING, at once) and by the recorder (every status
change, the terminal one with output and per-node trace). Writes never regress a record:
each carries a rank (redrive count, then RUNNING < terminal) and is a conditional update
that only succeeds against a lower rank, so re-delivered and out-of-order events are
no-ops and the first terminal status wins. Reads are scoped to the owner: another
owner's execution is simply not found.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.store.errors import InvalidTokenError
from infra.names import (
    ENV_EXECUTIONS_TABLE,
    EXECUTIONS_BY_ROUTINE,
    EXECUTIONS_BY_STATUS,
    EXECUTIONS_TABLE,
)
from plugins.runtime.aws import client, payload_bucket
from statemachines.errors import RoutinesError

RUNNING = "RUNNING"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
STATUSES = (RUNNING, *TERMINAL)
MAX_PAGE = 100
DEFAULT_PAGE = 20
# DynamoDB items stop at 400 KB: bodies (trigger data, output, trace) above this bound
# live in the payload bucket and the item keeps a reference.
INLINE_BODY_BYTES = 300_000
BODY_FIELDS = ("trigger", "output", "nodes")


class InvalidListQuery(RoutinesError):
    """A list query parameter (``status``, ``limit``) is malformed (a bad ``nextToken`` is
    the store's :class:`InvalidTokenError`)."""

    code = "invalid_query"


def iso(epoch: float) -> str:
    """UTC ISO 8601 with milliseconds: sorts lexicographically in time order."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


def rank(status: str, redrive_count: int = 0) -> int:
    return redrive_count * 10 + (2 if status in TERMINAL else 1)


@dataclass(slots=True)
class ExecutionRecord:
    """What is known about one execution. ``None`` fields are "not known by this writer"
    and leave the stored value alone."""

    execution_id: str
    owner_id: str
    routine_id: str
    status: str
    started_at: float  # epoch seconds
    execution_arn: str | None = None
    version: int | None = None
    trigger_type: str | None = None
    stopped_at: float | None = None
    error: dict[str, Any] | None = None
    trigger: Any = None
    output: Any = None
    nodes: dict[str, Any] | None = None
    transitions: int | None = None
    rerun_of: str | None = None
    redrive_count: int = 0
    reruns: list[str] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def duration_ms(self) -> float | None:
        if self.stopped_at is None:
            return None
        return round(max(0.0, self.stopped_at - self.started_at) * 1000, 1)

    def summary(self) -> dict[str, Any]:
        """The public list-item shape (camelCase)."""
        return {
            "executionId": self.execution_id,
            "routineId": self.routine_id,
            "version": self.version,
            "status": self.status,
            "triggerType": self.trigger_type,
            "startedAt": iso(self.started_at),
            "stoppedAt": iso(self.stopped_at) if self.stopped_at is not None else None,
            "durationMs": self.duration_ms,
            "error": self.error,
            "rerunOf": self.rerun_of,
            "reruns": list(self.reruns),
        }

    def to_json(self) -> dict[str, Any]:
        """The public detail shape: the summary plus trigger data, output and trace."""
        return {
            **self.summary(),
            "executionArn": self.execution_arn,
            "trigger": self.trigger,
            "output": self.output,
            "nodes": self.nodes,
            "transitions": self.transitions,
        }


@dataclass(slots=True)
class ExecutionPage:
    items: list[ExecutionRecord]
    next_token: str | None


class ExecutionStore:
    """The execution-record repository on the EXECUTIONS table."""

    def __init__(self, table: str | None = None, bucket: str | None = None) -> None:
        self.table = table or os.environ.get(ENV_EXECUTIONS_TABLE, EXECUTIONS_TABLE.name)
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket or payload_bucket()

    # -- writes -------------------------------------------------------------------------

    def record(self, record: ExecutionRecord) -> bool:
        """Write ``record`` unless the stored one is as far along or further. Returns
        whether it was written (False: a duplicate or late event, a no-op)."""
        values: dict[str, Any] = {
            "ownerId": record.owner_id,
            "routineId": record.routine_id,
            "status": record.status,
            "statusRank": rank(record.status, record.redrive_count),
            "redriveCount": record.redrive_count,
            "startedAt": iso(record.started_at),
            "startedEpoch": record.started_at,
            "routineKey": _routine_key(record.owner_id, record.routine_id),
            "routineStatusKey": _status_key(record.owner_id, record.routine_id, record.status),
            "startKey": f"{iso(record.started_at)}#{record.execution_id}",
            "updatedAt": time.time(),
        }
        optional = {
            "executionArn": record.execution_arn,
            "version": record.version,
            "triggerType": record.trigger_type,
            "stoppedEpoch": record.stopped_at,
            "error": json.dumps(record.error) if record.error is not None else None,
            "transitions": record.transitions,
            "rerunOf": record.rerun_of,
        }
        values.update({k: v for k, v in optional.items() if v is not None})
        remove: list[str] = []
        body = {name: getattr(record, name) for name in BODY_FIELDS if getattr(record, name) is not None}
        if body:
            encoded = {name: _dump(value) for name, value in body.items()}
            if sum(len(text) for text in encoded.values()) > INLINE_BODY_BYTES:
                key = f"executions/{record.execution_id}/{values['statusRank']}.json"
                client("s3").put_object(Bucket=self.bucket, Key=key, Body=_dump(body).encode())
                values["bodyRef"] = key
                remove += [f"#{name}" for name in BODY_FIELDS]
            else:
                values.update(encoded)
        names = {f"#{k}": k for k in values} | {"#id": "executionId"}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
            names |= {name: name[1:] for name in remove}
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key={"executionId": {"S": record.execution_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#id) OR #statusRank < :statusRank",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{k}": _typed(v) for k, v in values.items()},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def link_rerun(self, original_id: str, rerun_id: str) -> None:
        """Note on the original record that ``rerun_id`` re-ran it (the re-run's own record
        carries ``rerunOf``)."""
        client("dynamodb").update_item(
            TableName=self.table,
            Key={"executionId": {"S": original_id}},
            UpdateExpression="SET #reruns = list_append(if_not_exists(#reruns, :empty), :new)",
            ConditionExpression="attribute_exists(executionId)",
            ExpressionAttributeNames={"#reruns": "reruns"},
            ExpressionAttributeValues={":empty": {"L": []}, ":new": {"L": [{"S": rerun_id}]}},
        )

    # -- reads --------------------------------------------------------------------------

    def find(self, execution_id: str) -> ExecutionRecord | None:
        """The record whoever owns it (for the recorder and other internal writers)."""
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key={"executionId": {"S": execution_id}}, ConsistentRead=True)
            .get("Item")
        )
        return self._record(item) if item else None

    def get(self, owner_id: str, execution_id: str) -> ExecutionRecord | None:
        """The owner's record; another owner's is not found, as a missing one."""
        record = self.find(execution_id)
        return record if record is not None and record.owner_id == owner_id else None

    def list(
        self,
        owner_id: str,
        routine_id: str,
        *,
        status: str | None = None,
        limit: int = DEFAULT_PAGE,
        next_token: str | None = None,
    ) -> ExecutionPage:
        """The routine's executions, newest first; ``status`` keeps one status only."""
        if status is not None and status not in STATUSES:
            raise InvalidListQuery(f"unknown status {status!r}; one of {', '.join(STATUSES)}", path="status")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidListQuery(f"limit must be between 1 and {MAX_PAGE}", path="limit")
        index = EXECUTIONS_BY_STATUS if status else EXECUTIONS_BY_ROUTINE
        partition = (
            _status_key(owner_id, routine_id, status) if status else _routine_key(owner_id, routine_id)
        )
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index.name,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": index.partition_key},
            "ExpressionAttributeValues": {":p": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit + 1,  # one more tells whether another page exists
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_token(next_token, index.partition_key, partition)
        items = client("dynamodb").query(**query)["Items"]
        token = None
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            key_names = ("executionId", index.partition_key, "startKey")
            token = _encode_token({name: last[name]["S"] for name in key_names})
        return ExecutionPage([self._record(item, body=False) for item in items], token)

    def _record(self, item: dict[str, Any], body: bool = True) -> ExecutionRecord:
        plain = {key: _plain(value) for key, value in item.items()}
        content: dict[str, Any] = {}
        if body and "bodyRef" in plain:
            data = client("s3").get_object(Bucket=self.bucket, Key=plain["bodyRef"])["Body"].read()
            content = json.loads(data)
        elif body:
            content = {name: json.loads(plain[name]) for name in BODY_FIELDS if name in plain}
        return ExecutionRecord(
            execution_id=plain["executionId"],
            owner_id=plain["ownerId"],
            routine_id=plain["routineId"],
            status=plain["status"],
            started_at=float(plain["startedEpoch"]),
            execution_arn=plain.get("executionArn"),
            version=int(plain["version"]) if "version" in plain else None,
            trigger_type=plain.get("triggerType"),
            stopped_at=float(plain["stoppedEpoch"]) if "stoppedEpoch" in plain else None,
            error=json.loads(plain["error"]) if "error" in plain else None,
            trigger=content.get("trigger"),
            output=content.get("output"),
            nodes=content.get("nodes"),
            transitions=int(plain["transitions"]) if "transitions" in plain else None,
            rerun_of=plain.get("rerunOf"),
            redrive_count=int(plain.get("redriveCount", 0)),
            reruns=list(plain.get("reruns", [])),
        )


def _routine_key(owner_id: str, routine_id: str) -> str:
    return f"{owner_id}#{routine_id}"


def _status_key(owner_id: str, routine_id: str, status: str) -> str:
    return f"{owner_id}#{routine_id}#{status}"


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    return {"S": str(value)}


def _plain(typed: dict[str, Any]) -> Any:
    ((kind, value),) = typed.items()
    if kind == "N":
        return float(value)
    if kind == "L":
        return [_plain(v) for v in value]
    return value


def _encode_token(key: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(_dump(key).encode()).decode().rstrip("=")


def _decode_token(token: str, partition_name: str, partition: str) -> dict[str, Any]:
    """The token's start key, refused unless it was issued for this very query (a token
    is opaque, but never a way into another owner's partition)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    names = {"executionId", partition_name, "startKey"}
    if (
        not isinstance(key, dict)
        or set(key) != names
        or not all(isinstance(v, str) for v in key.values())
        or key[partition_name] != partition
    ):
        raise InvalidTokenError("nextToken is not a token this query issued", path="nextToken")
    return {name: {"S": value} for name, value in key.items()}
