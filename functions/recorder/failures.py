"""Failed Express executions → the failed-executions queue (issue #28).

A Standard execution that ends FAILED, TIMED_OUT or ABORTED reaches the stage's
failed-executions queue through an EventBridge rule on its status event (infra/recorder.py,
``Failures``); the failed-executions alarm counts the messages sent to that queue
(infra/monitoring.py). An Express execution sends no status events: the recorder, when it
settles the record of one that failed or timed out, sends the queue the same kind of
message itself — an event of the status-change shape (``detail-type`` "Step Functions
Execution Status Change", the same ``detail`` fields), whose ``source`` says who sent it
(:data:`SOURCE`, not ``aws.states``).

Exactly once per execution: the message is sent only by the settle that wins (the store's
settle is a conditional write that succeeds once, whichever sweep or stream delivery gets
there first), and after it. A send that fails is logged and raises :class:`NotDelivered`
at the end of the recorder's invocation, which fails (the recorder's Errors metric counts
it); its retries find the record settled and send nothing, so that message is lost. Sending
before the settle would lose none but send twice whenever two settles race (the stream and
the sweep; locally, every Express end): an outbox on the record is the way to have both.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from functions.store.executions import ExecutionRecord
from plugins.runtime.aws import client

# The recorder's environment variable naming the queue (infra/recorder.py sets it; the
# local runtime's status events create a local queue and set it: functions/local/status_events.py).
ENV_FAILED_EXECUTIONS_QUEUE = "FAILED_EXECUTIONS_QUEUE_URL"
STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")  # as the Failures rule's pattern
DETAIL_TYPE = "Step Functions Execution Status Change"
SOURCE = "routines.recorder"
_IDS = uuid.UUID("6f0c1a52-8d4e-4c43-9a5e-2f7b1d0e9c31")  # namespace of the events' ids


class NotDelivered(RuntimeError):
    """Failed executions the queue did not take (the invocation must fail: see the module)."""


def _millis(epoch: float | None) -> int | None:
    return round(epoch * 1000) if epoch is not None else None


def machine_arn(execution_arn: str) -> str:
    """The state machine of an execution ARN (Standard ``…:execution:<machine>:<name>``,
    Express ``…:express:<machine>:<name>:<id>``)."""
    parts = execution_arn.split(":")
    if len(parts) < 8:
        return ""
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def failure_event(record: ExecutionRecord) -> dict[str, Any]:
    """The message for a failed Express execution: EventBridge's status-change event shape,
    as the Failures rule delivers a Standard one (``input``/``output`` are not included:
    the execution record holds the trigger data)."""
    arn = record.execution_arn or ""
    parts = arn.split(":")
    error = record.error or {}
    stopped = record.stopped_at if record.stopped_at is not None else record.started_at
    return {
        "version": "0",
        # Deterministic: a message about one execution's end always has the same id.
        "id": str(uuid.uuid5(_IDS, f"{record.execution_id}#{record.status}")),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": parts[4] if len(parts) > 4 else "",
        "time": _iso_seconds(stopped),
        "region": parts[3] if len(parts) > 3 else "",
        "resources": [arn] if arn else [],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": machine_arn(arn),
            "name": record.execution_id.split(":", 1)[-1],
            "status": record.status,
            "startDate": _millis(record.started_at),
            "stopDate": _millis(stopped),
            "input": None,
            "inputDetails": {"included": False},
            "output": None,
            "outputDetails": None,
            "error": error.get("type"),
            "cause": error.get("message"),
            "redriveCount": record.redrive_count,
        },
    }


def _iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FailedExecutions:
    """The stage's failed-executions queue, as the recorder sends to it."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    @classmethod
    def from_env(cls) -> FailedExecutions | None:
        """The queue the recorder's environment names (None: no queue; nothing is sent)."""
        url = os.environ.get(ENV_FAILED_EXECUTIONS_QUEUE)
        return cls(url) if url else None

    def send(self, record: ExecutionRecord) -> None:
        """Send the message for ``record`` (raises what SQS raises)."""
        body = json.dumps(failure_event(record), separators=(",", ":"), default=str)
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=body)


__all__ = [
    "DETAIL_TYPE",
    "ENV_FAILED_EXECUTIONS_QUEUE",
    "SOURCE",
    "STATUSES",
    "FailedExecutions",
    "NotDelivered",
    "failure_event",
    "machine_arn",
]
