"""Every error the API returns, mapped in one place.

Shape: ``{"errors": [{"code", "path", "message"}]}``. 400 body that is not JSON (or JSON
the strict parser refuses: repeated keys, too deep, numbers out of range), 401 no
identity, 404 missing *or another owner's* resource (existence is never revealed), 409
conflicting update, 413 body over the limit, 422 invalid routine or request (every
problem, with paths), 500 ``internal`` with the request id — never a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from contract.errors import HttpError, InvalidRoutineError, RoutinesError
from contract.problems import Report, join_path
from functions.activation import TriggerError
from functions.store import ConflictError, InvalidListQuery, InvalidTokenError, NotFoundError
from statemachines.document import report_json_error
from statemachines.jsontext import ENCODING, SYNTAX, Issue, JsonTextError

logger = Logger(service="routines-api")

# Routes whose body is a routine document (see routine_document_body): True when the
# route answers with a verdict (POST /routines/validate), False when with a 422.
_DOCUMENT_ROUTES: dict[Callable[..., Any], bool] = {}


def error_response(
    status: int, problems: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"errors": problems},
        headers=headers,
    )


def problem(code: str, message: str, path: str = "") -> dict[str, str]:
    return {"code": code, "path": path, "message": message}


def _location(loc: tuple[Any, ...]) -> str:
    """('body', 'nodes', 0, 'id') → 'body.nodes[0].id'; ('query', 'limit') → 'query.limit';
    ('header', 'if-match') → 'header.If-Match' (the resolver lower-cases header names)."""
    if len(loc) == 2 and loc[0] == "header" and isinstance(loc[1], str):
        loc = (loc[0], "-".join(word.capitalize() for word in loc[1].split("-")))
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_problems(error: RequestValidationError) -> tuple[int, list[dict[str, str]]]:
    problems: list[dict[str, str]] = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            detail = (item.get("ctx") or {}).get("error", "")
            return HTTPStatus.BAD_REQUEST, [
                problem("invalid_json", f"the body is not valid JSON: {detail}", "body")
            ]
        loc = tuple(item.get("loc", ()))
        message = str(item.get("msg") or item.get("type", "invalid"))
        problems.append(problem("invalid_request", message, _location(loc)))
    return HTTPStatus.UNPROCESSABLE_ENTITY, problems


Route = TypeVar("Route", bound=Callable[..., Any])


def routine_document_body(*, verdict: bool = False) -> Callable[[Route], Route]:
    """Marks a route whose body is a routine document (put it under ``@router``). JSON
    the strict parser refuses although it is JSON — nested too deep, a repeated key, a
    number out of range — is then answered as the validator answers it, with the codes
    and paths ``routines validate`` reports for the same bytes (``limit_exceeded``,
    ``invalid_document`` at ``nodes[b].parameters``): a ``422``, or for a route that
    answers with a verdict, ``200 {"valid": false, "errors", "warnings"}``."""

    def mark(route: Route) -> Route:
        _DOCUMENT_ROUTES[route] = verdict
        return route

    return mark


def body_problems(error: JsonTextError) -> list[dict[str, str]]:
    """``invalid_json`` problems of a refused body, at ``body…`` where each one is."""
    return [
        problem("invalid_json", _body_message(issue), join_path("body", *issue.segments))
        for issue in error.issues
    ]


def _body_message(issue: Issue) -> str:
    if issue.kind == SYNTAX:
        return f"the body is not valid JSON: {issue.message.removeprefix('not valid JSON: ')}"
    if issue.kind == ENCODING:
        return f"the body is {issue.message}"
    return issue.message


def _refused_json(error: JsonTextError, route: Any) -> Response[Any]:
    func = getattr(route, "func", None)
    verdict = _DOCUMENT_ROUTES.get(func) if callable(func) else None
    if verdict is None or error.not_json:
        return error_response(HTTPStatus.BAD_REQUEST, body_problems(error))
    report = Report()
    report_json_error(error, report)
    if verdict:
        return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, report.to_json())
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, [p.to_json() for p in report.errors])


def install(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(JsonTextError)  # type: ignore[untyped-decorator]
    def refused_json(error: JsonTextError) -> Response[Any]:
        # Raised while the body is parsed, after routing: the matched route is known.
        return _refused_json(error, app.context.get("_route"))

    @app.exception_handler(RoutinesError)  # type: ignore[untyped-decorator]
    def refused(error: RoutinesError) -> Response[Any]:
        answer = answer_of(error)
        return internal_error(app) if answer is None else error_response(*answer)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        status, problems = validation_problems(error)
        return error_response(status, problems)

    @app.not_found
    def no_route(error: Exception) -> Response[Any]:
        # A path the API serves, with another method: 405 and the methods it takes.
        allowed = allowed_methods(app, app.current_event.path)
        if allowed:
            method = app.current_event.http_method.upper()
            return error_response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                [
                    problem(
                        "method_not_allowed", f"{method} is not allowed here; allowed: {', '.join(allowed)}"
                    )
                ],
                {"Allow": ", ".join(allowed)},
            )
        return error_response(HTTPStatus.NOT_FOUND, [problem("not_found", "no such endpoint")])

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def internal(error: Exception) -> Response[Any]:
        return internal_error(app)


def internal_error(app: APIGatewayRestResolver) -> Response[Any]:
    """500 with the request id, never a stack trace (the error is logged, traceback and all)."""
    request_id = getattr(app.lambda_context, "aws_request_id", None) if _has_context(app) else None
    logger.exception("unhandled error", extra={"requestId": request_id})
    body: dict[str, Any] = {
        "errors": [problem("internal", "internal error; quote the request id when reporting it")],
        "requestId": request_id,
    }
    return Response(status_code=500, content_type=content_types.APPLICATION_JSON, body=body)


# The one place an error of the tree becomes an HTTP status: by class (the first that
# matches, in this order), with its code, message and path. 404 also stands for another
# owner's resource: existence is never revealed.
STATUSES: tuple[tuple[type[RoutinesError], int], ...] = (
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),  # a lost race, and a state that forbids the action
    (InvalidTokenError, HTTPStatus.BAD_REQUEST),
    (InvalidListQuery, HTTPStatus.UNPROCESSABLE_ENTITY),
    (TriggerError, HTTPStatus.UNPROCESSABLE_ENTITY),
)


def answer_of(error: RoutinesError) -> tuple[int, list[dict[str, str]], dict[str, str] | None] | None:
    """(status, problems, headers) of an error; None for an error no client caused (500)."""
    if isinstance(error, HttpError):
        return error.status, error.to_json(), error.headers or None
    if isinstance(error, InvalidRoutineError):
        return HTTPStatus.UNPROCESSABLE_ENTITY, [p.to_json() for p in error.problems], None
    for cls, status in STATUSES:
        if isinstance(error, cls):
            path = error.path
            if isinstance(error, InvalidTokenError | InvalidListQuery):  # a query parameter
                path = join_path("query", path) if path else "query"
            return status, [problem(error.code, error.message, path)], None
    return None


def allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods of the routes that match ``path``: of its static routes when it has some
    (``/routines/validate`` is not a routine id, although ``/routines/<routine_id>``
    matches it)."""
    for routes in (app._static_routes, app._dynamic_routes):
        methods = sorted({route.method for route in routes if route.rule.match(path)})
        if methods:
            return methods
    return []


def _has_context(app: APIGatewayRestResolver) -> bool:
    try:
        return app.lambda_context is not None
    except AttributeError:
        return False
