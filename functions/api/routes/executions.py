"""Manual runs and executions: start, list a routine's, read one."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from contract.errors import HttpError
from functions import control
from functions.activation import runs
from functions.api import context
from functions.api.models import Execution, ExecutionList, ExecutionSummary, RunRequest, RunStarted
from functions.api.responses import ok
from functions.api.routes.routines import RoutineId
from functions.store import STATUSES
from functions.trace import shown_execution

router = Router()  # type: ignore[no-untyped-call]

MAX_INPUT_BYTES = 256 * 1024  # Step Functions' execution input limit
ExecutionId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_:-]+$")]


@router.post(
    "/routines/<routine_id>/executions",
    summary="Start a manual run (test: the latest saved version, without activating)",
    responses=ok(RunStarted, "started", 202),
    tags=["executions"],
)
def start_execution(
    routine_id: RoutineId, request: Annotated[RunRequest | None, Body()] = None
) -> Response[RunStarted]:
    owner = context.owner(router.current_event)
    request = request or RunRequest()
    trigger = {} if request.input is None else request.input
    if len(json.dumps({"trigger": trigger}).encode()) > MAX_INPUT_BYTES:
        raise HttpError(
            413, "payload_too_large", f"input is larger than {MAX_INPUT_BYTES} bytes", "body.input"
        )
    execution_id = runs.start(
        context.store(), owner, routine_id, trigger, request.test, context.settings(router.lambda_context)
    )
    return Response(
        HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, RunStarted(execution_id=execution_id)
    )


@router.get(
    "/routines/<routine_id>/executions",
    summary="A routine's executions, newest first",
    responses=ok(ExecutionList, "a page of execution records"),
    tags=["executions"],
)
def list_executions(
    routine_id: RoutineId,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048)] = None,
) -> ExecutionList:
    owner = context.owner(router.current_event)
    items, token = runs.list_executions(owner, routine_id, context.store(), status, limit, next_token)
    return ExecutionList(
        items=[ExecutionSummary.model_validate(shown_execution(i)) for i in items], next_token=token
    )


@router.get(
    "/executions/<execution_id>",
    summary="Status, times, error, output and per-node trace of an execution",
    responses=ok(Execution, "the execution"),
    tags=["executions"],
)
def get_execution(execution_id: ExecutionId) -> Execution:
    owner = context.owner(router.current_event)
    settings = context.settings(router.lambda_context)
    result = control.describe(context.services(), settings, owner, execution_id)
    # Records and live descriptions alike (and records written before errors were cleaned
    # at the source): every error as {type, message}, never a Lambda report or trace.
    return Execution.model_validate(shown_execution(result))
