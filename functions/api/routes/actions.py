"""Acting on an execution: decide a paused approval node, re-run a failed execution, stop a
running one."""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from botocore.exceptions import ClientError
from pydantic import Field

from contract.errors import HttpError
from functions.activation import machines
from functions.activation.rollback import Rollback
from functions.activation.service import compile_record, tags
from functions.api import context
from functions.api.models import ApiModel
from functions.api.responses import ok
from functions.api.routes.executions import ExecutionId
from functions.store import (
    STOPPED_ERROR,
    ExecutionRecord,
    ExecutionStore,
    NotFoundError,
    approvals,
    stopped_status,
)
from functions.store.executions import MAX_STOP_REASON
from functions.triggers.start import RunMeta, start_execution
from plugins.runtime.aws import client

router = Router()  # type: ignore[no-untyped-call]

NodeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
RERUNNABLE = ("FAILED", "TIMED_OUT", "ABORTED")
# StopExecution is synchronous on AWS; moto stops an execution in its own thread, soon after.
STOP_SETTLE_SECONDS = 1.0
STOP_POLL_SECONDS = 0.05


class Decision(ApiModel):
    decision: Literal["approve", "reject"]
    data: Any = Field(default=None, description="passed on as the node's output `data`")


class Decided(ApiModel):
    execution_id: str
    node_id: str
    decision: str


class Rerun(ApiModel):
    execution_id: str
    rerun_of: str


class StopRequest(ApiModel):
    reason: Annotated[str, Field(max_length=MAX_STOP_REASON)] | None = Field(
        default=None,
        description="why: the cause of the stop, shown as the record's `stopReason` and in its error",
    )


class Stopped(ApiModel):
    execution_id: str
    status: str = Field(
        description="Step Functions' status of the execution after the stop: ABORTED (RUNNING for a "
        "moment under `routines serve`); the record says ABORTED once the recorder has the event"
    )


def _record(owner: str, execution_id: str) -> ExecutionRecord:
    record = ExecutionStore().get(owner, execution_id)
    if record is None:
        raise NotFoundError(f"no execution '{execution_id}'")
    return record


@router.post(
    "/executions/<execution_id>/approvals/<node_id>",
    summary="Approve or reject a paused approval node (409 when nothing waits there)",
    responses=ok(Decided, "decided"),
    tags=["executions"],
)
def decide(execution_id: ExecutionId, node_id: NodeId, request: Annotated[Decision, Body()]) -> Decided:
    owner = context.owner(router.current_event)
    record = _record(owner, execution_id)
    try:
        output = approvals.decide(
            record.execution_arn or "", node_id, request.decision == "approve", request.data, owner
        )
    except approvals.NotWaiting as error:
        raise HttpError(409, "not_waiting", str(error), "nodeId") from None
    except approvals.DataTooLarge as error:
        raise HttpError(413, "payload_too_large", str(error), "body.data") from None
    return Decided(execution_id=execution_id, node_id=node_id, decision=output["decision"])


@router.post(
    "/executions/<execution_id>/rerun",
    summary="Run a failed execution again: same routine version, same trigger data",
    responses=ok(Rerun, "started", 202),
    tags=["executions"],
)
def rerun(execution_id: ExecutionId) -> Response[Rerun]:
    owner = context.owner(router.current_event)
    original = _record(owner, execution_id)
    if original.status not in RERUNNABLE:
        raise HttpError(
            409,
            "not_rerunnable",
            f"execution is {original.status}; only {', '.join(RERUNNABLE)} ones are re-run",
        )
    if original.version is None:
        raise HttpError(409, "not_rerunnable", "the execution's routine version is unknown")
    arn = _machine_for(owner, original.routine_id, original.version)
    meta = RunMeta(owner, original.routine_id, original.version, "rerun", rerun_of=execution_id)
    store = ExecutionStore()
    started = start_execution(client("stepfunctions"), store, arn, meta, original.trigger)
    store.link_rerun(execution_id, started.execution_id)
    return Response(
        HTTPStatus.ACCEPTED,
        content_types.APPLICATION_JSON,
        Rerun(execution_id=started.execution_id, rerun_of=execution_id),
    )


@router.post(
    "/executions/<execution_id>/stop",
    summary="Stop a running execution: it ends ABORTED, its record says who stopped it and why",
    responses=ok(Stopped, "stopped", 202),
    tags=["executions"],
)
def stop(
    execution_id: ExecutionId, request: Annotated[StopRequest | None, Body()] = None
) -> Response[Stopped]:
    owner = context.owner(router.current_event)
    record = _record(owner, execution_id)
    if record.terminal:
        raise HttpError(409, "not_running", f"the execution already ended: {record.status}")
    settings = context.settings(router.lambda_context)
    if record.pending is not None or _express(settings, record.routine_id):
        raise HttpError(
            409,
            "not_stoppable",
            "an Express execution cannot be stopped (Step Functions does not stop them; it ends "
            'within 5 minutes): a routine with "execution": "standard" runs stoppable executions',
        )
    reason = request.reason if request is not None else None
    arn = record.execution_arn or settings.execution_arn(execution_id)
    store = ExecutionStore()
    # Who and why go on the record first: the recorder, which writes the terminal record
    # whenever the ABORTED event arrives, finds them there.
    if not store.request_stop(execution_id, owner, reason):
        current = store.get(owner, execution_id)
        if current is not None and current.terminal:
            raise HttpError(409, "not_running", f"the execution already ended: {current.status}")
        raise HttpError(409, "not_running", "the execution is already being stopped")
    cause = reason or f"stopped by {owner}"
    sfn = client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=arn, error=STOPPED_ERROR, cause=cause)
    except ClientError as error:
        store.withdraw_stop(execution_id)  # not stopped: a retry may ask again
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise NotFoundError(f"no execution '{execution_id}'") from None
        raise
    # A pending approval is closed: deciding it later is a 409, never a dead token's 500.
    approvals.close(arn, owner, STOPPED_ERROR, cause)
    status = _status_after_stop(sfn, arn)
    if status not in ("RUNNING", "ABORTED"):  # it ended on its own meanwhile
        store.withdraw_stop(execution_id)
        raise HttpError(409, "not_running", f"the execution already ended: {status}")
    return Response(
        HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, Stopped(execution_id=execution_id, status=status)
    )


def _express(settings: Any, routine_id: str) -> bool:
    """Whether the routine's machine is Express (its record may not be written yet)."""
    try:
        described = client("stepfunctions").describe_state_machine(
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


def _machine_for(owner: str, routine_id: str, version: int) -> str:
    """The active machine when it runs that version; else the version deployed on the
    routine's test machine (an execution keeps the definition it started with)."""
    store = context.store()
    head = store.head(owner, routine_id)
    if head.active_version == version and head.activation:
        return str(head.activation["stateMachineArn"])
    record = store.get(owner, routine_id, version)
    settings = context.settings(router.lambda_context)
    with Rollback() as rollback:
        arn = machines.deploy(
            settings,
            settings.machine_name(routine_id, test=True),
            compile_record(record, settings).definition,
            tags(record, version),
            rollback,
        )
        rollback.commit()
    return arn
