"""/routines: save (validate → new version), read, list, delete, compile, activate."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from functions import activation
from functions.api import context
from functions.api.errors import ApiError, routine_document_body
from functions.api.models import (
    ActivateRequest,
    Activation,
    Definition,
    Routine,
    RoutineList,
    RoutineSummary,
    ValidationResult,
)
from functions.api.responses import ERRORS
from functions.store import RoutineRecord
from statemachines.compiler import validate_for_save
from statemachines.errors import InvalidRoutineError

router = Router()  # type: ignore[no-untyped-call]

RoutineId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Document = Annotated[dict[str, Any], Body(description="a routine document (DESIGN §2)")]
VersionQuery = Annotated[int | None, Query(ge=1, le=10**9, description="default: the latest version")]


def _summary(record: RoutineRecord) -> dict[str, Any]:
    return {
        "id": record.routine_id,
        "name": record.name,
        "version": record.current_version,
        "activeVersion": record.active_version,
        "status": record.status,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def _routine(record: RoutineRecord, warnings: list[dict[str, str]] | None = None) -> Routine:
    return Routine.model_validate(
        {**_summary(record), "document": record.document, "warnings": warnings or []}
    )


def _validated(document: dict[str, Any]) -> list[dict[str, str]]:
    """The warnings of a valid document; :class:`InvalidRoutineError` (422) otherwise."""
    report = validate_for_save(document)
    if not report.valid:
        raise InvalidRoutineError(report.errors)
    return [w.to_json() for w in report.warnings]


def _etag(record: RoutineRecord) -> dict[str, str]:
    return {"ETag": f'"{record.current_version}"'}


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiError(
            422, "invalid_request", 'If-Match must be a version number, e.g. "3"', "header.If-Match"
        )
    return int(text)


@router.post(
    "/routines",
    summary="Save a new routine",
    responses={
        201: {"description": "saved as version 1", "content": {"application/json": {"model": Routine}}},
        **ERRORS,
    },
    tags=["routines"],
)
@routine_document_body()
def create_routine(document: Document) -> Response[Routine]:
    owner = context.owner(router.current_event)
    warnings = _validated(document)
    record = context.store().create(owner, document)
    return Response(
        HTTPStatus.CREATED, content_types.APPLICATION_JSON, _routine(record, warnings), headers=_etag(record)
    )


@router.post(
    "/routines/validate", summary="Validate a routine without saving it", responses=ERRORS, tags=["routines"]
)
@routine_document_body(verdict=True)
def validate_routine(document: Document) -> ValidationResult:
    context.owner(router.current_event)
    report = validate_for_save(document)
    return ValidationResult.model_validate(report.to_json())


@router.get("/routines", summary="List routines", responses=ERRORS, tags=["routines"])
def list_routines(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048)] = None,
) -> RoutineList:
    owner = context.owner(router.current_event)
    records, token = context.store().page(owner, limit, next_token)
    return RoutineList(items=[RoutineSummary.model_validate(_summary(r)) for r in records], next_token=token)


@router.get(
    "/routines/<routine_id>", summary="Read a routine (a version)", responses=ERRORS, tags=["routines"]
)
def get_routine(routine_id: RoutineId, version: VersionQuery = None) -> Response[Routine]:
    owner = context.owner(router.current_event)
    record = context.store().get(owner, routine_id, version)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, _routine(record), headers=_etag(record))


@router.put("/routines/<routine_id>", summary="Save a new version", responses=ERRORS, tags=["routines"])
@routine_document_body()
def update_routine(
    routine_id: RoutineId,
    document: Document,
    if_match: Annotated[str | None, Header(alias="If-Match", description="the version you edited")] = None,
) -> Response[Routine]:
    owner = context.owner(router.current_event)
    expected = _if_match(if_match)
    context.store().head(owner, routine_id)  # 404 before 422: the routine must be there
    warnings = _validated(document)
    record = context.store().update(owner, routine_id, document, expected)
    return Response(
        HTTPStatus.OK, content_types.APPLICATION_JSON, _routine(record, warnings), headers=_etag(record)
    )


@router.delete(
    "/routines/<routine_id>",
    summary="Delete a routine (deactivates it first)",
    responses={204: {"description": "deleted"}, **ERRORS},
    tags=["routines"],
)
def delete_routine(routine_id: RoutineId) -> Response[None]:
    owner = context.owner(router.current_event)
    activation.delete(context.store(), owner, routine_id, context.settings(router.lambda_context))
    return Response(HTTPStatus.NO_CONTENT)


@router.get(
    "/routines/<routine_id>/definition",
    summary="The compiled state machine and its compile report",
    responses=ERRORS,
    tags=["routines"],
)
def get_definition(routine_id: RoutineId, version: VersionQuery = None) -> Definition:
    owner = context.owner(router.current_event)
    record = context.store().get(owner, routine_id, version)
    compiled = activation.compile_record(record, context.settings(router.lambda_context))
    return Definition(
        routine_id=routine_id,
        version=version or record.current_version,
        definition=compiled.asl,
        report=compiled.report,
    )


@router.post(
    "/routines/<routine_id>/activate",
    summary="Deploy a version: state machine, then trigger",
    responses=ERRORS,
    tags=["routines"],
)
def activate_routine(
    routine_id: RoutineId, request: Annotated[ActivateRequest | None, Body()] = None
) -> Activation:
    owner = context.owner(router.current_event)
    result = activation.activate(
        context.store(),
        owner,
        routine_id,
        context.settings(router.lambda_context),
        version=request.version if request else None,
        webhook_base=context.public_base_url(router.current_event),
    )
    return Activation.model_validate(result)


@router.post(
    "/routines/<routine_id>/deactivate",
    summary="Remove the trigger (the state machine stays for its executions)",
    responses=ERRORS,
    tags=["routines"],
)
def deactivate_routine(routine_id: RoutineId) -> Activation:
    owner = context.owner(router.current_event)
    return Activation.model_validate(activation.deactivate(context.store(), owner, routine_id))
