"""Storage of the control plane (docs/storage.md): :class:`RoutineStore` for routines and
their versions, :class:`ExecutionStore` for execution records. Nothing else talks to
DynamoDB for them."""

from functions.store.errors import ConflictError, InvalidTokenError, NotFoundError
from functions.store.executions import (
    STATUSES,
    STOPPED_ERROR,
    TERMINAL,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStore,
    InvalidListQuery,
    stop_error,
    stopped_status,
)
from functions.store.routines import RoutineRecord, RoutineStore

__all__ = [
    "STATUSES",
    "STOPPED_ERROR",
    "TERMINAL",
    "ConflictError",
    "ExecutionPage",
    "ExecutionRecord",
    "ExecutionStore",
    "InvalidListQuery",
    "InvalidTokenError",
    "NotFoundError",
    "RoutineRecord",
    "RoutineStore",
    "stop_error",
    "stopped_status",
]
