"""Acting on an execution: decide a paused approval node, re-run a failed execution, stop a
running one. The flows are the control plane's (functions/control/executions.py)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import Field

from contract.errors import HttpError
from functions import control
from functions.api import context
from functions.api.models import ApiModel
from functions.api.responses import ok
from functions.api.routes.executions import ExecutionId
from functions.store import approvals
from functions.store.executions import MAX_STOP_REASON

router = Router()  # type: ignore[no-untyped-call]

NodeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]


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


@router.post(
    "/executions/<execution_id>/approvals/<node_id>",
    summary="Approve or reject a paused approval node (409 when nothing waits there)",
    responses=ok(Decided, "decided"),
    tags=["executions"],
)
def decide(execution_id: ExecutionId, node_id: NodeId, request: Annotated[Decision, Body()]) -> Decided:
    owner = context.owner(router.current_event)
    approve = request.decision == "approve"
    try:
        output = control.decide(context.services(), owner, execution_id, node_id, approve, request.data)
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
    settings = context.settings(router.lambda_context)
    started = control.rerun(context.services(), settings, owner, execution_id)
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
    reason = request.reason if request is not None else None
    settings = context.settings(router.lambda_context)
    status = control.stop(context.services(), settings, owner, execution_id, reason)
    return Response(
        HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, Stopped(execution_id=execution_id, status=status)
    )
