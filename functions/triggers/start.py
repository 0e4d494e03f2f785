"""Starting a routine execution — the one path every trigger takes (webhook, cron, event,
manual run, re-run).

The execution input is ``{"trigger": <trigger data>, "meta": {...}}``. ``meta`` says whose
routine, which version and which trigger started it: the recorder reads it from the
Step Functions status event, so an execution started by EventBridge Scheduler or a rule
(which write no record themselves; activation puts ``meta`` into their target input) is
recorded exactly like one started here. The state machine never reads ``meta``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from functions.store.executions import RUNNING, ExecutionRecord, ExecutionStore
from plugins.runtime.offload import trigger_input

META_KEY = "meta"
# "routine": a child execution an execute-routine node started (its meta has no owner or
# version: the recorder reads them from the child machine's tags, which activation sets).
TRIGGER_TYPES = ("manual", "test", "webhook", "cron", "event", "rerun", "error", "routine")


@dataclass(frozen=True, slots=True)
class RunMeta:
    owner_id: str
    routine_id: str
    version: int
    trigger_type: str
    rerun_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ownerId": self.owner_id,
            "routineId": self.routine_id,
            "version": self.version,
            "triggerType": self.trigger_type,
        }
        if self.rerun_of:
            data["rerunOf"] = self.rerun_of
        return data

    @classmethod
    def from_input(cls, execution_input: Any) -> RunMeta | None:
        """The ``meta`` of an execution input, or None when it carries none (an execution
        this product did not start) or a malformed one."""
        meta = execution_input.get(META_KEY) if isinstance(execution_input, dict) else None
        if not isinstance(meta, dict):
            return None
        owner, routine, version = meta.get("ownerId"), meta.get("routineId"), meta.get("version")
        kind, rerun_of = meta.get("triggerType"), meta.get("rerunOf")
        if not (isinstance(owner, str) and owner and isinstance(routine, str) and routine):
            return None
        if not isinstance(version, int) or isinstance(version, bool) or kind not in TRIGGER_TYPES:
            return None
        return cls(owner, routine, version, kind, rerun_of if isinstance(rerun_of, str) else None)


def execution_input(trigger: Any, meta: RunMeta, name: str) -> dict[str, Any]:
    """A trigger over its slot of the payload budget goes to S3 (under the execution's
    name) and the input carries its reference: no trigger is too large to start with."""
    return {"trigger": trigger_input(trigger, name), META_KEY: meta.to_json()}


def execution_id(execution_arn: str) -> str:
    """The public execution id: ``<state machine name>:<execution name>``, the tail of the
    execution ARN (executions started by Scheduler or rules, whose names we do not choose,
    have one too, and it names the routine's machine)."""
    return execution_arn.split(":", 6)[6]


def start_execution(
    stepfunctions: Any,
    store: ExecutionStore,
    state_machine_arn: str,
    meta: RunMeta,
    trigger: Any,
    name: str | None = None,
) -> ExecutionRecord:
    """Start the routine's state machine and write its RUNNING record at once (so it is
    listed before the status event arrives; the recorder's writes never regress it)."""
    name = name or uuid.uuid4().hex
    started = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps(execution_input(trigger, meta, name), separators=(",", ":"), ensure_ascii=False),
    )
    record = ExecutionRecord(
        execution_id=execution_id(started["executionArn"]),
        owner_id=meta.owner_id,
        routine_id=meta.routine_id,
        status=RUNNING,
        started_at=started["startDate"].timestamp(),
        execution_arn=started["executionArn"],
        version=meta.version,
        trigger_type=meta.trigger_type,
        trigger=trigger,
        rerun_of=meta.rerun_of,
    )
    store.record(record)
    return record
