"""The recorder: Step Functions "Execution Status Change" events → execution records.

Every status event (the real EventBridge shape; locally the runtime delivers the same
events) becomes a conditional write that never regresses the record, so re-delivered and
out-of-order events are no-ops. A terminal event writes status, stop time, error, output
and the per-node trace (from the history and node logs, with the trace code the local
runner uses). Whatever goes wrong while tracing, the terminal status is still written:
no execution that ended stays RUNNING. An execution that ended FAILED, TIMED_OUT or
ABORTED starts its routine's ``errorRoutine`` once (:mod:`functions.recorder.error_routines`).

Express executions send no status events: their machines write their own RUNNING and
terminal records, and a scheduled sweep (:meth:`Recorder.sweep`) settles them — trace from
node logs, error routine, TIMED_OUT for one that never wrote its end, and for one that
failed or timed out a message to the failed-executions queue, as the status events of a
Standard one bring (:mod:`functions.recorder.failures`). A DynamoDB Stream record of the
executions table whose new image is an ended, unsettled record is settled at once
(:meth:`Recorder.settle_written`): the local runtime delivers each machine's record write
so, and the table's stream does on AWS (infra/recorder.py). Standard machines keep the status events:
only they report a Standard execution's ABORTED and TIMED_OUT (which a machine cannot
write itself) and its history gives the fuller trace.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from botocore.exceptions import ClientError

from contract.names import ENV_SWEEP_GRACE_SECONDS
from functions.recorder.error_routines import ErrorRoutines, pass_on
from functions.recorder.failures import STATUSES as FAILURE_STATUSES
from functions.recorder.failures import FailedExecutions, NotDelivered
from functions.store.executions import (
    TERMINAL,
    ExecutionRecord,
    ExecutionStore,
    rank,
    stop_error,
    stopped_status,
)
from functions.trace import (
    clean_error,
    json_or_text,
    shown_result,
    timed_out_error,
    trace_execution,
    trace_from_logs,
)
from functions.triggers.start import RunMeta, execution_id
from plugins.runtime.aws import client
from statemachines.compiler import compile_validated
from statemachines.express import EXPRESS_MAX_SECONDS
from statemachines.machine.records import PENDING_ENDED, PENDING_RUNNING
from statemachines.options import CompileOptions
from statemachines.topology import Topology
from statemachines.validator import analyse

DETAIL_TYPE = "Step Functions Execution Status Change"
CHILD_TRIGGER = "routine"  # the triggerType of executions started by execute-routine nodes
SOURCE = "aws.states"
STATUSES = ("RUNNING", *TERMINAL)
# What a user is told when Step Functions gives no error of its own (a TIMED_OUT one is
# told the routine's timeoutSeconds: functions.trace.timed_out_error).
DEFAULT_ERRORS = {
    "ABORTED": {"type": "States.Aborted", "message": "the execution was stopped"},
}

# Express executions: the sweep's schedule (EventBridge's scheduled rule event), and how
# long past the 5-minute bound a RUNNING record waits for its machine's last write.
SCHEDULE_SOURCE = "aws.events"
SCHEDULED = "Scheduled Event"
SWEEP_GRACE_SECONDS = 60
# A DynamoDB Stream record (an event source mapping's batch), and the AWS Express
# execution ARN, which Step Functions keeps no history for.
STREAM_SOURCE = "aws:dynamodb"
EXPRESS_ARN = ":express:"
EXPRESS_TIMED_OUT = {
    "type": "States.Timeout",
    "message": f"the execution ran longer than an Express machine allows ({EXPRESS_MAX_SECONDS} s)",
}

log = logging.getLogger(__name__)


class RoutineSource(Protocol):
    """Where the recorder reads the routine document an execution ran (for the trace)."""

    def routine_document(self, owner_id: str, routine_id: str, version: int) -> Any | None: ...


@dataclass(frozen=True, slots=True)
class StatusChange:
    execution_arn: str
    state_machine_arn: str
    name: str
    status: str
    start_ms: int
    stop_ms: int | None
    input: str | None  # None: not included in the event (too large)
    output: str | None
    error: str | None
    cause: str | None
    redrive_count: int

    @classmethod
    def parse(cls, event: Any) -> StatusChange | None:
        """The event's facts, or None when it is not a status change this can record."""
        if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
            return None
        if event.get("source") != SOURCE or not isinstance(event.get("detail"), dict):
            return None
        detail: dict[str, Any] = event["detail"]
        arn, name, status, start = (detail.get(k) for k in ("executionArn", "name", "status", "startDate"))
        if not (
            isinstance(arn, str) and arn.count(":") >= 7 and isinstance(name, str) and status in STATUSES
        ):
            return None
        if not isinstance(start, int | float):
            return None
        stop = detail.get("stopDate")
        return cls(
            execution_arn=arn,
            state_machine_arn=str(detail.get("stateMachineArn") or ""),
            name=execution_id(arn),
            status=str(status),
            start_ms=int(start),
            stop_ms=int(stop) if isinstance(stop, int | float) else None,
            input=_included(detail, "input"),
            output=_included(detail, "output"),
            error=detail.get("error") if isinstance(detail.get("error"), str) else None,
            cause=detail.get("cause") if isinstance(detail.get("cause"), str) else None,
            redrive_count=int(detail.get("redriveCount") or 0),
        )


def _included(detail: dict[str, Any], key: str) -> str | None:
    value = detail.get(key)
    if (detail.get(f"{key}Details") or {}).get("included") is False:
        return None  # Step Functions left it out (over 248 KiB): read it from the API
    return value if isinstance(value, str) else ("null" if value is None else None)


class Recorder:
    def __init__(
        self,
        store: ExecutionStore,
        routines: RoutineSource | None = None,
        error_routines: ErrorRoutines | None = None,
        failures: FailedExecutions | None = None,
    ) -> None:
        self.store = store
        self.routines = routines
        # None: failed executions start no error routine (tests of the recorder alone).
        self.error_routines = error_routines
        # None: failed Express executions reach no queue (no queue configured).
        self.failures = failures
        self._undelivered: list[str] = []

    def handle(self, event: Any) -> dict[str, Any]:
        if is_sweep(event):
            return self.sweep()
        images = stream_images(event)
        if images is not None:
            return self.settle_written(images)
        change = StatusChange.parse(event)
        if change is None:
            log.warning("ignored: not a Step Functions execution status change")
            return {"result": "ignored", "reason": "not an execution status change"}
        existing = self.store.find(change.name)
        if existing is not None and existing.execution_arn not in (None, change.execution_arn):
            return {"result": "ignored", "reason": "another execution has this id"}
        # A machine that writes its own records (an Express definition) run as Standard:
        # its end is written but not settled, and this event brings the history to do it.
        settling = existing is not None and existing.pending == PENDING_ENDED and change.status in TERMINAL
        if (
            existing is not None
            and not settling
            and rank(existing.status, existing.redrive_count) >= rank(change.status, change.redrive_count)
        ):
            return {"result": "duplicate", "executionId": change.name, "status": existing.status}
        execution_input = json_or_text(
            change.input if change.input is not None else self._describe(change, "input")
        )
        meta = RunMeta.from_input(execution_input)
        if meta is None and existing is not None:
            meta = RunMeta(
                existing.owner_id,
                existing.routine_id,
                existing.version or 0,
                existing.trigger_type or "manual",
                existing.rerun_of,
            )
        if meta is None:
            meta = self._tagged(change, execution_input)
        if meta is None:
            log.warning("ignored: execution %s was not started by routines", change.execution_arn)
            return {"result": "ignored", "reason": "unknown execution", "executionId": change.name}
        trigger = execution_input.get("trigger") if isinstance(execution_input, dict) else None
        parent = child_link(execution_input)
        record = ExecutionRecord(
            execution_id=change.name,
            owner_id=meta.owner_id,
            routine_id=meta.routine_id,
            status=change.status,
            started_at=change.start_ms / 1000,
            execution_arn=change.execution_arn,
            version=meta.version,
            trigger_type=meta.trigger_type,
            trigger=trigger,
            rerun_of=meta.rerun_of,
            redrive_count=change.redrive_count,
            parent_execution_id=parent[0] if parent else None,
            parent_node_id=parent[1] if parent else None,
        )
        if change.status in TERMINAL:
            document = self._finish(record, change, meta, existing)
            if self.error_routines is not None:
                # Before the terminal write, so that one write holds the outcome; a failed
                # write is retried by EventBridge, and the second start is refused.
                record.error_routine = pass_on(self.error_routines, self.store, record, meta, document)
        written = self.store.settle(record) if settling else self.store.record(record)
        return {
            "result": "recorded" if written else "duplicate",
            "executionId": change.name,
            "status": record.status,
        }

    def _finish(
        self, record: ExecutionRecord, change: StatusChange, meta: RunMeta, existing: ExecutionRecord | None
    ) -> Any | None:
        """Complete a terminal record; the routine document the execution ran (or None)."""
        record.stopped_at = (change.stop_ms or change.start_ms) / 1000
        document = self._document(meta)
        # A stop through the API notes who and why on the record before it calls
        # StopExecution, so this event, whenever it arrives, finds them: the terminal write
        # stays here, in one place, and the store keeps the stop fields it does not know.
        stopper = existing.stopped_by if existing is not None else None
        if stopper is not None and stopped_status(change.status, change.error) == "ABORTED":
            assert existing is not None
            record.status = "ABORTED"
            record.error = stop_error(stopper, existing.stop_reason)
        elif change.status == "TIMED_OUT":
            timeout = document.get("timeoutSeconds") if isinstance(document, dict) else None
            record.error = timed_out_error(timeout)
        elif change.error or change.cause:
            # {type, message} with the human message: never the Lambda's report and trace.
            record.error = clean_error(change.error, change.cause)
            record.error["type"] = record.error["type"] or "Error"
        else:
            record.error = DEFAULT_ERRORS.get(change.status)
        if change.status == "SUCCEEDED":
            record.output = shown_result(
                json_or_text(change.output if change.output is not None else self._describe(change, "output"))
            )
        try:
            traced = self._trace(change, meta, record.trigger, document)
        except Exception:  # the terminal status matters more than the trace
            log.exception("no trace for %s", change.execution_arn)
            traced = None
        if traced is not None:
            record.nodes, record.transitions = traced
        return document

    def _document(self, meta: RunMeta) -> Any | None:
        """The routine document the execution ran (None: unknown, or unreadable now)."""
        if self.routines is None:
            return None
        try:
            return self.routines.routine_document(meta.owner_id, meta.routine_id, meta.version)
        except Exception:  # the terminal status matters more than what the document adds
            log.exception("no routine document for %s", meta.routine_id)
            return None

    def _trace(
        self, change: StatusChange, meta: RunMeta, trigger: Any, document: Any
    ) -> tuple[dict[str, Any], int] | None:
        if document is None:
            return None
        topology, report, variables = _compiled(meta.routine_id, meta.version, json.dumps(document))
        context = {"trigger": trigger, "vars": variables}
        trace = trace_execution(client("stepfunctions"), change.execution_arn, topology, report, context)
        return trace.nodes, trace.transitions

    # -- Express executions --------------------------------------------------------------

    def sweep(self, now: float | None = None) -> dict[str, Any]:
        """Settle the records of Express executions (they send no status events; their
        machines write their own RUNNING and end: statemachines/machine/records.py):

        - an end the machine wrote (``pending`` ENDED) gets its trace from the node logs,
          the error as a user reads it, and its error routine, started once;
        - a RUNNING record past the Express bound (5 minutes, plus a grace for the last
          write) was stopped by Step Functions before it could write its end: TIMED_OUT,
          with the trace of what ran and the error routine.

        The EventBridge schedule (infra/recorder.py) runs it every minute; locally the
        runtime runs it as often (functions/local/status_events.py)."""
        now = time.time() if now is None else now
        grace = sweep_grace_seconds()
        settled = timed_out = 0
        for record in self.store.pending(PENDING_ENDED):
            settled += self._settle(record, self._document(_meta(record)))
        for record in self.store.pending(PENDING_RUNNING, now - grace):
            document = self._document(_meta(record))
            limit = express_limit(document)
            if record.started_at + limit + grace > now:
                continue  # may still be running
            record.status = "TIMED_OUT"
            record.stopped_at = record.started_at + limit
            timed_out += self._settle(record, document)
        self._raise_undelivered()
        return {"result": "swept", "settled": settled, "timedOut": timed_out}

    def settle_written(self, images: list[tuple[str, str | None]]) -> dict[str, Any]:
        """Settle at once the records a stream of the executions table shows ended
        (``images``: (execution id, ``pending`` of the new image) per stream record) —
        what the sweep would do a minute later; other writes need nothing. Idempotent
        with the sweep: whichever settles a record first, the other finds it settled."""
        settled: list[str] = []
        for written_id, pending in images:
            if pending != PENDING_ENDED:
                continue
            record = self.store.find(written_id)
            if record is None or record.pending != PENDING_ENDED:
                continue  # settled meanwhile (or gone)
            if self._settle(record, self._document(_meta(record))):
                settled.append(written_id)
        self._raise_undelivered()
        return {"result": "settled", "settled": len(settled), "executionIds": settled}

    def _raise_undelivered(self) -> None:
        if self._undelivered:
            undelivered, self._undelivered = self._undelivered, []
            raise NotDelivered(
                f"settled, but the failed-executions queue did not take: {', '.join(undelivered)}"
            )

    def _settle(self, record: ExecutionRecord, document: Any) -> bool:
        meta = _meta(record)
        if record.status == "TIMED_OUT":
            timeout = document.get("timeoutSeconds") if isinstance(document, dict) else None
            record.error = timed_out_error(timeout) if timeout is not None else EXPRESS_TIMED_OUT
        if record.status == "SUCCEEDED":
            record.output = shown_result(record.output)  # node outputs it offloaded, loaded
        elif record.error is not None and record.status != "TIMED_OUT":
            # The machine wrote the raw Error and Cause: a user reads {type, message}.
            record.error = clean_error(record.error.get("type"), record.error.get("message"))
            record.error["type"] = record.error["type"] or "Error"
        if document is not None and record.execution_arn:
            try:
                topology, report, variables = _compiled(meta.routine_id, meta.version, json.dumps(document))
                context = {"trigger": record.trigger, "vars": variables}
                record.nodes = _express_trace(record.execution_arn, topology, report, context)
            except Exception:  # the terminal status matters more than the trace
                log.exception("no trace for %s", record.execution_id)
        if self.error_routines is not None:
            # Once, whichever sweep gets there: the error execution's name is fixed.
            record.error_routine = pass_on(self.error_routines, self.store, record, meta, document)
        settled = self.store.settle(record)
        if settled and self.failures is not None and record.status in FAILURE_STATUSES:
            # After the settle, by the one that won it: one message per execution. (A
            # Standard execution's reach the queue from its status event instead.)
            try:
                self.failures.send(record)
            except Exception:
                log.exception("failed execution %s not sent to its queue", record.execution_id)
                self._undelivered.append(record.execution_id)
        return settled

    @staticmethod
    def _tagged(change: StatusChange, execution_input: Any) -> RunMeta | None:
        """Owner, routine and version from the state machine's tags (activation sets them)
        for executions whose input carries no ``meta``."""
        if not change.state_machine_arn:
            return None
        try:
            listed = client("stepfunctions").list_tags_for_resource(resourceArn=change.state_machine_arn)
        except ClientError:
            return None
        tags = {tag["key"]: tag["value"] for tag in listed.get("tags", [])}
        owner, routine, version = (tags.get(f"routines:{k}") for k in ("owner", "routineId", "version"))
        if not (owner and routine and version and version.isdigit()):
            return None
        trigger = execution_input.get("trigger") if isinstance(execution_input, dict) else None
        kind = "manual"
        if child_link(execution_input) is not None:
            kind = CHILD_TRIGGER
        elif change.state_machine_arn.endswith("-test"):
            kind = "test"
        elif isinstance(trigger, dict) and trigger.get("type") == "cron":
            kind = "cron"
        elif isinstance(trigger, dict) and "detail-type" in trigger and "source" in trigger:
            kind = "event"
        return RunMeta(owner, routine, int(version), kind)

    @staticmethod
    def _describe(change: StatusChange, key: str) -> str | None:
        try:
            description = client("stepfunctions").describe_execution(executionArn=change.execution_arn)
        except ClientError:  # gone (90 days) or not ours: record what the event says
            log.warning("cannot describe %s", change.execution_arn)
            return None
        value = description.get(key)
        return value if isinstance(value, str) else None


def _meta(record: ExecutionRecord) -> RunMeta:
    return RunMeta(
        record.owner_id,
        record.routine_id,
        record.version or 0,
        record.trigger_type or "manual",
        record.rerun_of,
    )


def _express_trace(
    execution_arn: str, topology: Topology, report: dict[str, Any], context: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The trace of an ended Express execution: from its node logs (AWS keeps no history
    of Express executions) — or, where Step Functions does keep one (the local runtime),
    from that history and the logs, as a Standard execution's: the trace its live events
    (``GET /executions/{id}/events``) were derived from while it ran, so that the events
    served from the settled record are the ones a client saw live."""
    if EXPRESS_ARN not in execution_arn:
        try:
            trace = trace_execution(
                client("stepfunctions"), execution_arn, topology, report, context, ended=True
            )
        except ClientError:
            pass  # no history to read: from the logs
        else:
            return trace.nodes
    return trace_from_logs(execution_arn, topology, report, context)


def stream_images(event: Any) -> list[tuple[str, str | None]] | None:
    """(execution id, ``pending``) of the new image of each record of a DynamoDB Stream
    event on the executions table (None: ``event`` is not one). A record without a new
    image (a removal) has ``pending`` None."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return None
    if not all(isinstance(r, dict) and r.get("eventSource") == STREAM_SOURCE for r in records):
        return None
    images: list[tuple[str, str | None]] = []
    for record in records:
        change = record.get("dynamodb") if isinstance(record.get("dynamodb"), dict) else {}
        keys, image = change.get("Keys") or {}, change.get("NewImage") or {}
        execution_id = (keys.get("executionId") or {}).get("S") if isinstance(keys, dict) else None
        if not isinstance(execution_id, str):
            continue
        pending = (image.get("pending") or {}).get("S") if isinstance(image, dict) else None
        images.append((execution_id, pending if isinstance(pending, str) else None))
    return images


def express_limit(document: Any) -> float:
    """How long an Express execution of this routine may run: 5 minutes, or the routine's
    own timeoutSeconds (its machine's TimeoutSeconds) when shorter."""
    timeout = document.get("timeoutSeconds") if isinstance(document, dict) else None
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and 0 < timeout < EXPRESS_MAX_SECONDS
    ):
        return float(timeout)
    return float(EXPRESS_MAX_SECONDS)


def sweep_grace_seconds() -> float:
    """How long past its limit a RUNNING Express record waits for its machine's last write
    before the sweep calls it TIMED_OUT (the local runtime, whose machines end on time
    in-process, sets a shorter one)."""
    try:
        return float(os.environ.get(ENV_SWEEP_GRACE_SECONDS) or SWEEP_GRACE_SECONDS)
    except ValueError:
        return float(SWEEP_GRACE_SECONDS)


def is_sweep(event: Any) -> bool:
    """Whether ``event`` is the schedule's: EventBridge's "Scheduled Event"."""
    return (
        isinstance(event, dict)
        and event.get("source") == SCHEDULE_SOURCE
        and event.get("detail-type") == SCHEDULED
    )


def child_link(execution_input: Any) -> tuple[str, str | None] | None:
    """(parent execution id, parent node id) of a child execution an execute-routine node
    started (its input's ``meta``: triggerType "routine"), else None."""
    meta = execution_input.get("meta") if isinstance(execution_input, dict) else None
    if not isinstance(meta, dict) or meta.get("triggerType") != CHILD_TRIGGER:
        return None
    parent, node = meta.get("parentExecutionId"), meta.get("parentNodeId")
    if not isinstance(parent, str) or not parent:
        return None
    return parent, node if isinstance(node, str) else None


@lru_cache(maxsize=64)
def _compiled(
    routine_id: str, version: int, document: str
) -> tuple[Topology, dict[str, Any], dict[str, Any]]:
    """Topology and compile report of a routine version (deterministic: the report equals
    the one activation produced). Cached per warm Lambda container."""
    validation = analyse(json.loads(document))
    compiled = compile_validated(validation, CompileOptions(routine_id=routine_id))
    assert validation.topology is not None and validation.routine is not None  # compile_validated checked
    return validation.topology, compiled.report, validation.routine.variables
