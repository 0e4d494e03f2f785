"""Reading an execution and acting on it: decide a paused approval, re-run a failed one,
stop a running one."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from functions.activation import Settings, machines, runs
from functions.activation.rollback import Rollback
from functions.activation.service import compile_record, tags
from functions.control.services import Services
from functions.store import (
    STOPPED_ERROR,
    ConflictError,
    ExecutionRecord,
    ExecutionStore,
    NotFoundError,
    RoutineStore,
    approvals,
    stop_error,
    stopped_status,
)
from functions.trace import timed_out_error
from functions.triggers.start import RunMeta, start_execution

RERUNNABLE = ("FAILED", "TIMED_OUT", "ABORTED")
# StopExecution is synchronous on AWS; moto stops an execution in its own thread, soon after.
STOP_SETTLE_SECONDS = 1.0
STOP_POLL_SECONDS = 0.05


class NotRerunnable(ConflictError):
    code = "not_rerunnable"


class NotRunning(ConflictError):
    code = "not_running"


class NotStoppable(ConflictError):
    code = "not_stoppable"


def record(executions: ExecutionStore, owner: str, execution_id: str) -> ExecutionRecord:
    found = executions.get(owner, execution_id)
    if found is None:
        raise NotFoundError(f"no execution '{execution_id}'")
    return found


def describe(services: Services, settings: Settings, owner: str, execution_id: str) -> dict[str, Any]:
    """The execution (its record, or Step Functions' description while the record is not
    terminal yet), its end said as the record will say it."""
    result = runs.describe(services.routines, owner, execution_id, settings)
    _explain_end(services.routines, owner, result)
    return result


def _explain_end(routines: RoutineStore, owner: str, result: dict[str, Any]) -> None:
    """An execution read from Step Functions before the recorder wrote its end says how it
    ended as the record will: a stop through the API as ABORTED with who and why, a
    routine timeout with the routine's ``timeoutSeconds``. Changes ``result`` in place."""
    error = result.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    if result.get("stoppedBy") and stopped_status(str(result.get("status")), kind) == "ABORTED":
        result["status"] = "ABORTED"
        result["error"] = stop_error(str(result["stoppedBy"]), result.get("stopReason"))
    elif result.get("status") == "TIMED_OUT" and not error:
        timeout = None
        if isinstance(result.get("version"), int):
            try:
                document = routines.get(owner, result["routineId"], result["version"]).document
            except RoutinesError:
                document = None
            timeout = document.get("timeoutSeconds") if isinstance(document, dict) else None
        result["error"] = timed_out_error(timeout)


def decide(
    services: Services, owner: str, execution_id: str, node_id: str, approve: bool, data: Any
) -> dict[str, Any]:
    """Approve or reject the approval paused at ``node_id``; the node's output
    (:func:`functions.store.approvals.decide`, whose errors it raises)."""
    found = record(services.executions, owner, execution_id)
    return approvals.decide(found.execution_arn or "", node_id, approve, data, owner)


def rerun(services: Services, settings: Settings, owner: str, execution_id: str) -> ExecutionRecord:
    """A new execution of a failed one's routine version with its trigger data, linked
    both ways."""
    executions = services.executions
    original = record(executions, owner, execution_id)
    if original.status not in RERUNNABLE:
        raise NotRerunnable(f"execution is {original.status}; only {', '.join(RERUNNABLE)} ones are re-run")
    if original.version is None:
        raise NotRerunnable("the execution's routine version is unknown")
    arn = _machine_for(services.routines, settings, owner, original.routine_id, original.version)
    meta = RunMeta(owner, original.routine_id, original.version, "rerun", rerun_of=execution_id)
    started = start_execution(services.stepfunctions, executions, arn, meta, original.trigger)
    executions.link_rerun(execution_id, started.execution_id)
    return started


def stop(services: Services, settings: Settings, owner: str, execution_id: str, reason: str | None) -> str:
    """Stop a running Standard execution; Step Functions' status after the stop (ABORTED,
    or RUNNING for a moment under ``routines serve``)."""
    executions, sfn = services.executions, services.stepfunctions
    found = record(executions, owner, execution_id)
    if found.terminal:
        raise NotRunning(f"the execution already ended: {found.status}")
    if found.pending is not None or _express(sfn, settings, found.routine_id):
        raise NotStoppable(
            "an Express execution cannot be stopped (Step Functions does not stop them; it ends "
            'within 5 minutes): a routine with "execution": "standard" runs stoppable executions'
        )
    arn = found.execution_arn or settings.execution_arn(execution_id)
    # Who and why go on the record first: the recorder, which writes the terminal record
    # whenever the ABORTED event arrives, finds them there.
    if not executions.request_stop(execution_id, owner, reason):
        current = executions.get(owner, execution_id)
        if current is not None and current.terminal:
            raise NotRunning(f"the execution already ended: {current.status}")
        raise NotRunning("the execution is already being stopped")
    cause = reason or f"stopped by {owner}"
    try:
        sfn.stop_execution(executionArn=arn, error=STOPPED_ERROR, cause=cause)
    except ClientError as error:
        executions.withdraw_stop(execution_id)  # not stopped: a retry may ask again
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise NotFoundError(f"no execution '{execution_id}'") from None
        raise
    # A pending approval is closed: deciding it later is a 409, never a dead token's 500.
    approvals.close(arn, owner, STOPPED_ERROR, cause)
    status = _status_after_stop(sfn, arn)
    if status not in ("RUNNING", "ABORTED"):  # it ended on its own meanwhile
        executions.withdraw_stop(execution_id)
        raise NotRunning(f"the execution already ended: {status}")
    return status


def _express(sfn: Any, settings: Settings, routine_id: str) -> bool:
    """Whether the routine's machine is Express (its record may not be written yet)."""
    try:
        described = sfn.describe_state_machine(
            stateMachineArn=settings.machine_arn(settings.machine_name(routine_id))
        )
    except ClientError:  # no machine (deactivated meanwhile): not ours to say
        return False
    return bool(described.get("type") == "EXPRESS")


def _status_after_stop(sfn: Any, arn: str) -> str:
    deadline = time.monotonic() + STOP_SETTLE_SECONDS
    while True:
        described = sfn.describe_execution(executionArn=arn)
        status = stopped_status(str(described["status"]), described.get("error"))
        if status != "RUNNING" or time.monotonic() >= deadline:
            return status
        time.sleep(STOP_POLL_SECONDS)


def _machine_for(
    routines: RoutineStore, settings: Settings, owner: str, routine_id: str, version: int
) -> str:
    """The active machine when it runs that version; else the version deployed on the
    routine's test machine (an execution keeps the definition it started with)."""
    head = routines.head(owner, routine_id)
    if head.active_version == version and head.activation:
        return str(head.activation["stateMachineArn"])
    saved = routines.get(owner, routine_id, version)
    with Rollback() as rollback:
        arn = machines.deploy(
            settings,
            settings.machine_name(routine_id, test=True),
            compile_record(saved, settings).definition,
            tags(saved, version),
            rollback,
        )
        rollback.commit()
    return arn
