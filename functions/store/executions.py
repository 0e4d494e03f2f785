"""Execution records: one DynamoDB item per routine execution (docs/storage.md).

Written by whoever starts an execution (RUNNING, at once) and by the recorder (every status
change, the terminal one with output and per-node trace). Writes never regress a record:
each carries a rank (redrive count, then RUNNING < terminal) and is a conditional update
that only succeeds against a lower rank, so re-delivered and out-of-order events are
no-ops and the first terminal status wins. Reads are scoped to the owner: another
owner's execution is simply not found.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from contract.names import (
    ENV_EXECUTIONS_TABLE,
    EXECUTIONS_BY_PENDING,
    EXECUTIONS_BY_ROUTINE,
    EXECUTIONS_BY_STATUS,
    EXECUTIONS_TABLE,
)
from functions.store.codec import decode_token, dump, encode_token, plain, typed
from plugins.runtime.aws import client, payload_bucket

RUNNING = "RUNNING"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
STATUSES = (RUNNING, *TERMINAL)
MAX_PAGE = 100
DEFAULT_PAGE = 20
# DynamoDB items stop at 400 KB: bodies (trigger data, output, trace) above this bound
# live in the payload bucket and the item keeps a reference.
INLINE_BODY_BYTES = 300_000
BODY_FIELDS = ("trigger", "output", "nodes")
MAX_WRITE_ATTEMPTS = 5
# The error an execution stopped through the API ends with (StopExecution's ``error``).
STOPPED_ERROR = "Routines.Stopped"
MAX_STOP_REASON = 1000
# The SET clause of every UpdateItem (ExecutionStore._update gives it its names and values).
BUMP_REVISION = "#rev = if_not_exists(#rev, :zero) + :one"


def stopped_status(status: str, error: str | None) -> str:
    """The status of an execution whose stop was requested through the API: ABORTED also
    when it FAILED with the stop's own error — moto does not abort an execution waiting on
    a task token, and the stop fails the waiting approval task with that error instead."""
    return "ABORTED" if status == "FAILED" and error == STOPPED_ERROR else status


def stop_error(by: str, reason: str | None) -> dict[str, Any]:
    """What a user is told about an execution stopped through the API."""
    return {"type": STOPPED_ERROR, "message": f"stopped by {by}" + (f": {reason}" if reason else "")}


class InvalidListQuery(RoutinesError):
    """A list query parameter (``status``, ``limit``) is malformed (a bad ``nextToken`` is
    the store's :class:`InvalidTokenError`)."""

    code = "invalid_request"


def iso(epoch: float) -> str:
    """UTC ISO 8601 with milliseconds: sorts lexicographically in time order."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


def _condition_failed(error: ClientError) -> bool:
    """Whether a conditional write was refused for its condition (not for a fault)."""
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


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
    # Set by a stop through the API (before StopExecution is called), kept by every later write.
    stopped_by: str | None = None
    stop_reason: str | None = None
    # A failed execution's error routine: {routineId, executionId, note} (the recorder's).
    error_routine: dict[str, Any] | None = None
    # A child execution an execute-routine node started: the parent's execution and node.
    parent_execution_id: str | None = None
    parent_node_id: str | None = None
    # Read only: an Express execution's record its machine wrote and the recorder's sweep
    # has not settled yet — "RUNNING" or "ENDED" (statemachines/machine/records.py).
    pending: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def aborted(self, error: dict[str, Any], at: float) -> ExecutionRecord:
        """This run closed ABORTED at ``at`` with ``error``: for a run nothing else will end
        (its server died, its routine was deleted with its machines)."""
        return ExecutionRecord(
            execution_id=self.execution_id,
            owner_id=self.owner_id,
            routine_id=self.routine_id,
            status="ABORTED",
            started_at=self.started_at,
            stopped_at=max(at, self.started_at),
            error=error,
            redrive_count=self.redrive_count,
        )

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
            "parentExecutionId": self.parent_execution_id,
            "parentNodeId": self.parent_node_id,
            "stoppedBy": self.stopped_by,
            "stopReason": self.stop_reason,
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
            "errorRoutine": self.error_routine,
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
        whether it was written (False: a duplicate or late event, a no-op).

        Read, merge, then a put conditional on the revision read (optimistic locking): the
        writer's ``None`` fields keep the stored values, and a write that raced another
        re-reads and decides again. (One small put, rather than an update expression of
        twenty clauses, also keeps the local runtime's moto fast.)"""

        def newer(existing: dict[str, Any] | None, new_rank: int) -> bool:
            return existing is None or int(existing["statusRank"]["N"]) < new_rank

        return self._put_merged(record, newer, guard="")

    def _merged(
        self, record: ExecutionRecord, new_rank: int, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        item: dict[str, Any] = dict(existing or {})
        values: dict[str, Any] = {
            "executionId": record.execution_id,
            "ownerId": record.owner_id,
            "routineId": record.routine_id,
            "status": record.status,
            "statusRank": new_rank,
            "redriveCount": record.redrive_count,
            "startedAt": iso(record.started_at),
            "startedEpoch": record.started_at,
            "routineKey": _routine_key(record.owner_id, record.routine_id),
            "routineStatusKey": _status_key(record.owner_id, record.routine_id, record.status),
            "startKey": f"{iso(record.started_at)}#{record.execution_id}",
            "updatedAt": time.time(),
            "revision": int((existing or {}).get("revision", {"N": "0"})["N"]) + 1,
        }
        optional = {
            "executionArn": record.execution_arn,
            "version": record.version,
            "triggerType": record.trigger_type,
            "stoppedEpoch": record.stopped_at,
            "error": json.dumps(record.error) if record.error is not None else None,
            "transitions": record.transitions,
            "rerunOf": record.rerun_of,
            "stoppedBy": record.stopped_by,
            "stopReason": record.stop_reason,
            "errorRoutine": json.dumps(record.error_routine) if record.error_routine is not None else None,
            "parentExecutionId": record.parent_execution_id,
            "parentNodeId": record.parent_node_id,
        }
        values.update({k: v for k, v in optional.items() if v is not None})
        item.update({k: typed(v) for k, v in values.items()})
        if record.terminal:
            # The end is recorded, with its trace: nothing is left for the sweep to settle.
            item.pop("pending", None)
        body = {name: getattr(record, name) for name in BODY_FIELDS if getattr(record, name) is not None}
        if not body:
            return item
        # Keep the stored bodies this writer does not know (inline, or in the bucket).
        if existing is not None and "bodyRef" in existing:
            stored = self._body(existing["bodyRef"]["S"])
            body = {**{k: v for k, v in stored.items() if v is not None}, **body}
        elif existing is not None:
            body = {**{n: json.loads(existing[n]["S"]) for n in BODY_FIELDS if n in existing}, **body}
        encoded = {name: dump(value) for name, value in body.items()}
        for name in (*BODY_FIELDS, "bodyRef"):
            item.pop(name, None)
        if sum(len(text) for text in encoded.values()) > INLINE_BODY_BYTES:
            key = f"executions/{record.execution_id}/{new_rank}.json"
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=dump(body).encode())
            item["bodyRef"] = {"S": key}
        else:
            item.update({name: {"S": text} for name, text in encoded.items()})
        return item

    def _body(self, key: str) -> dict[str, Any]:
        data = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        loaded = json.loads(data)
        return loaded if isinstance(loaded, dict) else {}

    def settle(self, record: ExecutionRecord) -> bool:
        """Settle the record of an Express execution (its machine marked it ``pending``:
        statemachines/machine/records.py) — the recorder's sweep: the end the machine
        wrote, completed with trace, clean error and error routine; or TIMED_OUT for one
        that never wrote its end. Removes ``pending``, once: False when the record is
        settled already, or when the machine wrote another end meanwhile (a RUNNING one
        timed out just as it ended: the next sweep settles the end it wrote)."""

        def unsettled(existing: dict[str, Any] | None, new_rank: int) -> bool:
            if existing is None or "pending" not in existing:
                return False
            stored_rank = int(existing["statusRank"]["N"])
            return stored_rank < new_rank or (
                stored_rank == new_rank and existing["status"]["S"] == record.status
            )

        # Only while ``pending`` is there: a settled record is never settled again.
        return self._put_merged(record, unsettled, guard=" AND attribute_exists(pending)")

    def _put_merged(
        self,
        record: ExecutionRecord,
        accept: Callable[[dict[str, Any] | None, int], bool],
        guard: str,
    ) -> bool:
        """Read the stored item; unless ``accept(stored item or None, new rank)`` refuses,
        put ``record`` merged into it, conditional on the revision read (and on ``guard``,
        a clause added to that condition); a put that raced another write reads again.
        Whether ``record`` was written."""
        new_rank = rank(record.status, record.redrive_count)
        dynamodb = client("dynamodb")
        for _ in range(MAX_WRITE_ATTEMPTS):
            existing = dynamodb.get_item(
                TableName=self.table, Key={"executionId": {"S": record.execution_id}}, ConsistentRead=True
            ).get("Item")
            if not accept(existing, new_rank):
                return False
            item = self._merged(record, new_rank, existing)
            if existing is None:
                condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(executionId)"}
            else:
                condition = {
                    "ConditionExpression": "revision = :seen" + guard,
                    "ExpressionAttributeValues": {":seen": existing.get("revision", {"N": "0"})},
                }
            try:
                dynamodb.put_item(TableName=self.table, Item=item, **condition)
            except ClientError as error:
                if _condition_failed(error):
                    continue  # someone wrote meanwhile (the machine, another sweep): read again
                raise
            return True
        return False

    def pending(self, state: str, started_before: float | None = None) -> list[ExecutionRecord]:
        """Records of Express executions the sweep has not settled: ``state`` ``RUNNING``
        (started before ``started_before``, epoch seconds) or ``ENDED``; oldest first."""
        index = EXECUTIONS_BY_PENDING
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index.name,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": index.partition_key},
            "ExpressionAttributeValues": {":p": {"S": state}},
        }
        if started_before is not None:
            query["KeyConditionExpression"] += " AND #s < :s"
            query["ExpressionAttributeNames"]["#s"] = index.sort_key
            query["ExpressionAttributeValues"][":s"] = {"S": iso(started_before)}
        items: list[dict[str, Any]] = []
        paginator = client("dynamodb").get_paginator("query")
        for page in paginator.paginate(**query):
            items += page["Items"]
        return [self._record(item) for item in items]

    def link_rerun(self, original_id: str, rerun_id: str) -> None:
        """Note on the original record that ``rerun_id`` re-ran it (the re-run's own record
        carries ``rerunOf``)."""
        self._update(
            original_id,
            "SET #reruns = list_append(if_not_exists(#reruns, :empty), :new), " + BUMP_REVISION,
            condition="attribute_exists(executionId)",
            names={"#reruns": "reruns"},
            values={":empty": {"L": []}, ":new": {"L": [{"S": rerun_id}]}},
        )

    def request_stop(self, execution_id: str, by: str, reason: str | None) -> bool:
        """Note on a RUNNING record who stops it and why, before StopExecution is called, so
        that the recorder's terminal write (which keeps fields it does not know) finds them
        whenever its event arrives. False when the record is not RUNNING or a stop was
        already requested."""
        values: dict[str, Any] = {
            ":running": {"S": RUNNING},
            ":by": {"S": by},
            ":at": {"N": str(time.time())},
        }
        update = "SET stoppedBy = :by, stopRequestedAt = :at, " + BUMP_REVISION
        if reason:
            update += ", stopReason = :reason"
            values[":reason"] = {"S": reason}
        try:
            self._update(
                execution_id,
                update,
                condition="#status = :running AND attribute_not_exists(stoppedBy)",
                names={"#status": "status"},
                values=values,
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def withdraw_stop(self, execution_id: str) -> None:
        """Forget a stop request that did not stop the execution (it had ended on its own,
        or StopExecution failed), unless the record already says ABORTED."""
        try:
            self._update(
                execution_id,
                "REMOVE stoppedBy, stopReason, stopRequestedAt SET " + BUMP_REVISION,
                condition="attribute_exists(executionId) AND #status <> :aborted",
                names={"#status": "status"},
                values={":aborted": {"S": "ABORTED"}},
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise

    def _update(
        self, execution_id: str, update: str, *, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        """A conditional UpdateItem of one record whose ``update`` bumps its revision
        (:data:`BUMP_REVISION`): record() and settle() put conditional on the revision
        they read, so a put racing this update reads again rather than undo it."""
        client("dynamodb").update_item(
            TableName=self.table,
            Key={"executionId": {"S": execution_id}},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={**names, "#rev": "revision"},
            ExpressionAttributeValues={**values, ":zero": {"N": "0"}, ":one": {"N": "1"}},
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
            query["ExclusiveStartKey"] = decode_token(next_token, index.partition_key, partition)
        items = client("dynamodb").query(**query)["Items"]
        token = None
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            key_names = ("executionId", index.partition_key, "startKey")
            token = encode_token({name: last[name]["S"] for name in key_names})
        return ExecutionPage([self._record(item, body=False) for item in items], token)

    def _record(self, item: dict[str, Any], body: bool = True) -> ExecutionRecord:
        values = {key: plain(value) for key, value in item.items()}
        content: dict[str, Any] = {}
        if body and "bodyRef" in values:
            data = client("s3").get_object(Bucket=self.bucket, Key=values["bodyRef"])["Body"].read()
            content = json.loads(data)
        elif body:
            content = {name: json.loads(values[name]) for name in BODY_FIELDS if name in values}
        return ExecutionRecord(
            execution_id=values["executionId"],
            owner_id=values["ownerId"],
            routine_id=values["routineId"],
            status=values["status"],
            started_at=float(values["startedEpoch"]),
            execution_arn=values.get("executionArn"),
            version=int(values["version"]) if "version" in values else None,
            trigger_type=values.get("triggerType"),
            stopped_at=float(values["stoppedEpoch"]) if "stoppedEpoch" in values else None,
            error=json.loads(values["error"]) if "error" in values else None,
            trigger=content.get("trigger"),
            output=content.get("output"),
            nodes=content.get("nodes"),
            transitions=int(values["transitions"]) if "transitions" in values else None,
            rerun_of=values.get("rerunOf"),
            redrive_count=int(values.get("redriveCount", 0)),
            reruns=list(values.get("reruns", [])),
            stopped_by=values.get("stoppedBy"),
            stop_reason=values.get("stopReason"),
            error_routine=json.loads(values["errorRoutine"]) if values.get("errorRoutine") else None,
            parent_execution_id=values.get("parentExecutionId"),
            parent_node_id=values.get("parentNodeId"),
            pending=values.get("pending"),
        )


def _routine_key(owner_id: str, routine_id: str) -> str:
    return f"{owner_id}#{routine_id}"


def _status_key(owner_id: str, routine_id: str, status: str) -> str:
    return f"{owner_id}#{routine_id}#{status}"
