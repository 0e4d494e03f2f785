"""The error responses every operation declares in the OpenAPI document."""

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
