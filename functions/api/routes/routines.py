"""/routines: save (validate → new version), read, list, delete, compile, activate."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from pydantic import Strict

from contract.errors import HttpError
from functions import activation, control
from functions.api import context
from functions.api.errors import routine_document_body
from functions.api.models import (
    ActivateRequest,
    Activation,
    CompileReport,
    Definition,
    Routine,
    RoutineList,
    RoutineSummary,
    ValidationResult,
)
from functions.api.responses import ERRORS, ETAG, ok
from functions.store import RoutineRecord
from statemachines.compiler import validate_for_save

router = Router()  # type: ignore[no-untyped-call]

RoutineId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Strict: a JSON object, not whatever pydantic can make one of (a list of pairs).
Document = Annotated[dict[str, Any], Strict(), Body(description="a routine document (DESIGN §2)")]


def _object_body() -> None:
    """422 unless the body is a JSON object: the resolver reads a one-element list as its
    element (``[{...}]`` would be saved as ``{...}``)."""
    if not isinstance(router.current_event.json_body, dict):
        raise HttpError(422, "invalid_request", "Input should be a JSON object (a routine document)", "body")


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


def _routine(
    record: RoutineRecord, version: int | None = None, warnings: list[dict[str, str]] | None = None
) -> Routine:
    """The routine with the document of ``version`` (default the current one): ``version``
    is the document's own, ``currentVersion`` the latest saved."""
    summary = {**_summary(record), "version": version or record.current_version}
    return Routine.model_validate(
        {
            **summary,
            "currentVersion": record.current_version,
            "document": record.document,
            "warnings": warnings or [],
        }
    )


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _saved(status: HTTPStatus, record: RoutineRecord, warnings: list[dict[str, str]]) -> Response[Routine]:
    """The answer to a save: the new version with the validator's warnings, as its ETag."""
    return Response(
        status,
        content_types.APPLICATION_JSON,
        _routine(record, warnings=warnings),
        headers=_etag(record.current_version),
    )


# A version as an entity tag ("3", W/"3", or bare 3), or * (any version).
IF_MATCH = r'^(\*|(W/)?"[0-9]{1,10}"|[0-9]{1,10})$'
_IF_MATCH = re.compile(IF_MATCH)


def _if_match(value: str | None) -> int | None:
    text = None if value is None else value.strip()
    if text is None or text == "*":
        return None
    if not _IF_MATCH.match(text):  # also checked by the resolver, from the same pattern
        raise HttpError(
            422, "invalid_request", 'If-Match must be a version number, e.g. "3"', "header.If-Match"
        )
    return int(text.removeprefix("W/").strip('"'))


@router.post(
    "/routines",
    summary="Save a new routine",
    responses={
        **ok(Routine, "saved as version 1", 201, headers=ETAG),
    },
    tags=["routines"],
)
@routine_document_body()
def create_routine(document: Document) -> Response[Routine]:
    owner = context.owner(router.current_event)
    _object_body()
    record, warnings = control.create(context.store(), owner, document)
    return _saved(HTTPStatus.CREATED, record, warnings)


@router.post(
    "/routines/validate",
    summary="Validate a routine without saving it",
    responses=ok(ValidationResult, "the verdict: valid or not, every problem and warning"),
    tags=["routines"],
)
@routine_document_body(verdict=True)
def validate_routine(document: Document) -> ValidationResult:
    context.owner(router.current_event)
    _object_body()
    report = validate_for_save(document)
    return ValidationResult.model_validate(report.to_json())


@router.get(
    "/routines", summary="List routines", responses=ok(RoutineList, "a page of routines"), tags=["routines"]
)
def list_routines(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048)] = None,
) -> RoutineList:
    owner = context.owner(router.current_event)
    records, token = context.store().page(owner, limit, next_token)
    return RoutineList(items=[RoutineSummary.model_validate(_summary(r)) for r in records], next_token=token)


@router.get(
    "/routines/<routine_id>",
    summary="Read a routine (a version)",
    responses=ok(Routine, "the routine with the document of the version asked for", headers=ETAG),
    tags=["routines"],
)
def get_routine(routine_id: RoutineId, version: VersionQuery = None) -> Response[Routine]:
    owner = context.owner(router.current_event)
    record = context.store().get(owner, routine_id, version)
    shown = version or record.current_version
    # The ETag names the version whose document is returned, as the body's "version" does.
    # For an older version it is a stale one: a client that edits that document and saves
    # it with If-Match: <this ETag> gets a 409, never an overwrite of the versions since.
    return Response(
        HTTPStatus.OK, content_types.APPLICATION_JSON, _routine(record, shown), headers=_etag(shown)
    )


@router.put(
    "/routines/<routine_id>",
    summary="Save a new version",
    responses=ok(Routine, "saved as a new version", headers=ETAG),
    tags=["routines"],
)
@routine_document_body()
def update_routine(
    routine_id: RoutineId,
    document: Document,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            pattern=IF_MATCH,
            description='the version you edited, as its ETag (`"3"`); `*` or none: save over any version',
        ),
    ] = None,
) -> Response[Routine]:
    owner = context.owner(router.current_event)
    _object_body()
    expected = _if_match(if_match)
    record, warnings = control.update(context.store(), owner, routine_id, document, expected)
    return _saved(HTTPStatus.OK, record, warnings)


@router.delete(
    "/routines/<routine_id>",
    summary="Delete a routine (deactivates it first)",
    responses={204: {"description": "deleted"}, **ERRORS},
    tags=["routines"],
)
def delete_routine(routine_id: RoutineId) -> Response[None]:
    owner = context.owner(router.current_event)
    services = context.services()
    settings = context.settings(router.lambda_context)
    activation.delete(services.routines, owner, routine_id, settings, services.executions)
    return Response(HTTPStatus.NO_CONTENT)


@router.get(
    "/routines/<routine_id>/definition",
    summary="The compiled state machine and its compile report",
    responses=ok(Definition, "the Amazon States Language definition and its compile report"),
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
        report=CompileReport.model_validate(compiled.report),
    )


@router.post(
    "/routines/<routine_id>/activate",
    summary="Deploy a version: state machine, then trigger",
    responses=ok(Activation, "active: the state machine, the trigger (next runs, webhook URL and secret)"),
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
    responses=ok(Activation, "inactive"),
    tags=["routines"],
)
def deactivate_routine(routine_id: RoutineId) -> Activation:
    owner = context.owner(router.current_event)
    return Activation.model_validate(activation.deactivate(context.store(), owner, routine_id))
