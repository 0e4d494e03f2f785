"""The responses every operation declares in the OpenAPI document: its success (``ok``)
and the errors (``ERRORS``)."""

from __future__ import annotations

from typing import Any

from functions.api.models import ErrorBody


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


ERRORS: dict[int, Any] = {
    400: _error("the body is not JSON, or a bad pagination token"),
    401: _error("no caller identity"),
    404: _error("no such resource for this caller"),
    409: _error("conflicting update (stale version) or a routine that is not active"),
    413: _error("the body is over the size limit"),
    422: _error("invalid routine or request: every problem, with its path"),
    500: _error("internal error (with the request id)"),
}


def ok(
    model: Any, description: str, status: int = 200, headers: dict[str, Any] | None = None
) -> dict[int, Any]:
    """The success response of an operation, then every error response.

    powertools declares no success response of its own once ``responses`` is given: an
    operation without this one would document only its errors."""
    success: dict[str, Any] = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        success["headers"] = headers
    return {status: success, **ERRORS}


_ETAG_SCHEMA = {"type": "string", "pattern": '^"[0-9]+"$'}
# Sent with every routine that is saved: the version just saved.
ETAG: dict[str, Any] = {
    "ETag": {
        "description": 'the version saved, quoted (`"3"`): send it back as `If-Match` to edit it',
        "required": True,
        "schema": _ETAG_SCHEMA,
    }
}
