"""Storage of the control plane. Nothing else talks to DynamoDB for routines
(docs/storage.md): :class:`RoutineStore` for routines and their versions."""

from functions.store.errors import ConflictError, InvalidTokenError, NotFoundError
from functions.store.routines import RoutineRecord, RoutineStore

__all__ = ["ConflictError", "InvalidTokenError", "NotFoundError", "RoutineRecord", "RoutineStore"]
