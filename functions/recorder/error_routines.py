"""Starting a failed execution's error routine — once.

When an execution ends FAILED, TIMED_OUT or ABORTED and the routine version it ran names
an ``errorRoutine``, the recorder starts that routine's active version with

    {"routine": {"id", "name", "version"},
     "execution": {"id", "status", "error", "failedNode", "startedAt", "stoppedAt"}}

as its trigger data. Once: the error execution's name is derived from the failed
execution's id, so Step Functions refuses a second start of it (``ExecutionAlreadyExists``,
or — for the same input while it runs — the same execution), whichever recorder delivery
gets there first. Never a chain: executions of error routines (``triggerType: "error"``)
and test runs of drafts start none. An error routine deleted or deactivated since the
activation is no crash: the failure is recorded with a note saying why none ran.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

from botocore.exceptions import ClientError

from functions.activation.error_routine import FIELD, ErrorTarget, resolve
from functions.store import ExecutionRecord, ExecutionStore, RoutineStore
from functions.store.executions import iso
from functions.triggers.start import RunMeta, start_execution
from plugins.runtime.aws import client

ERROR_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
ERROR_TRIGGER = "error"
# Runs that never start an error routine: error runs themselves, and test runs of drafts.
NOT_PASSED_ON = (ERROR_TRIGGER, "test")
NAME_PREFIX = "onerror-"

log = logging.getLogger(__name__)


class ErrorRoutines(Protocol):
    """Where the recorder finds a routine's error routine (an active one, or why not)."""

    def target(self, owner_id: str, routine_id: str) -> ErrorTarget | str: ...


class StoredErrorRoutines:
    def target(self, owner_id: str, routine_id: str) -> ErrorTarget | str:
        return resolve(RoutineStore(), owner_id, routine_id)


def execution_name(failed_execution_id: str) -> str:
    """The error execution's name: one per failed execution id (Step Functions names are
    at most 80 characters of ``[A-Za-z0-9_-]``; the id is longer and has a ':')."""
    return NAME_PREFIX + hashlib.sha256(failed_execution_id.encode()).hexdigest()[:48]


def failed_node(nodes: dict[str, Any] | None, document: dict[str, Any], error: Any) -> str | None:
    """The node the execution failed at, from its trace: a failed node whose error was not
    caught (``onError: fail``), the one with the execution's error when several failed."""
    if not nodes:
        return None
    on_error = {
        n.get("id"): n.get("onError", "fail") for n in document.get("nodes") or [] if isinstance(n, dict)
    }
    failed = [
        node_id
        for node_id, entry in nodes.items()
        if isinstance(entry, dict) and entry.get("status") == "failed" and on_error.get(node_id) == "fail"
    ]
    kind = error.get("type") if isinstance(error, dict) else None
    same = [n for n in failed if (nodes[n].get("error") or {}).get("type") == kind]
    chosen = same or failed
    return chosen[-1] if chosen else None


def error_input(record: ExecutionRecord, meta: RunMeta, document: dict[str, Any]) -> dict[str, Any]:
    """What the error routine sees as ``trigger``."""
    return {
        "routine": {"id": meta.routine_id, "name": document.get("name"), "version": meta.version},
        "execution": {
            "id": record.execution_id,
            "status": record.status,
            "error": record.error,
            "failedNode": failed_node(record.nodes, document, record.error),
            "startedAt": iso(record.started_at),
            "stoppedAt": iso(record.stopped_at) if record.stopped_at is not None else None,
        },
    }


def pass_on(
    routines: ErrorRoutines,
    store: ExecutionStore,
    record: ExecutionRecord,
    meta: RunMeta,
    document: Any,
) -> dict[str, Any] | None:
    """Start the error routine of a failed execution (at most once); what to note on the
    failed execution's record — ``{routineId, executionId, note}`` — or None when the
    routine names none (or this run passes nothing on)."""
    if record.status not in ERROR_STATUSES or meta.trigger_type in NOT_PASSED_ON:
        return None
    if not isinstance(document, dict) or (document.get("trigger") or {}).get("type") == ERROR_TRIGGER:
        return None
    routine_id = document.get(FIELD)
    if not isinstance(routine_id, str):
        return None
    try:
        target = routines.target(meta.owner_id, routine_id)
    except Exception:  # the failure's record matters more than its error routine
        log.exception("cannot look up error routine %s", routine_id)
        return _note(routine_id, "the error routine could not be looked up; it was not started")
    if isinstance(target, str):
        return _note(routine_id, f"{target}; the error routine was not started")
    name = execution_name(record.execution_id)
    machine = target.state_machine_arn.rsplit(":", 1)[1]
    run = RunMeta(meta.owner_id, routine_id, target.version, ERROR_TRIGGER)
    try:
        started = start_execution(
            client("stepfunctions"),
            store,
            target.state_machine_arn,
            run,
            error_input(record, meta, document),
            name=name,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            # Started by an earlier delivery of this event.
            return {"routineId": routine_id, "executionId": f"{machine}:{name}", "note": None}
        log.exception("could not start error routine %s", routine_id)
        code = error.response["Error"]["Code"]
        return _note(routine_id, f"the error routine could not be started ({code})")
    except Exception:
        log.exception("could not start error routine %s", routine_id)
        return _note(routine_id, "the error routine could not be started")
    return {"routineId": routine_id, "executionId": started.execution_id, "note": None}


def _note(routine_id: str, note: str) -> dict[str, Any]:
    return {"routineId": routine_id, "executionId": None, "note": note}
