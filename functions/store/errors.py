"""What the store raises; the API maps each class to one HTTP status."""

from __future__ import annotations

from contract.errors import RoutinesError


class NotFoundError(RoutinesError):
    """No such record for this owner (another owner's record is reported the same way)."""

    code = "not_found"


class ConflictError(RoutinesError):
    """A conditional write lost: the record changed since the caller read it."""

    code = "conflict"


class InvalidTokenError(RoutinesError):
    """A pagination token this API did not issue."""

    code = "invalid_token"
