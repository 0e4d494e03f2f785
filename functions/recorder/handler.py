"""The recorder Lambda (``contract.names.RECORDER_HANDLER``): an EventBridge rule on
"Step Functions Execution Status Change" invokes it, and a scheduled rule runs its sweep
of Express records; locally the runtime calls it with the same events (and with each
Express machine's record write, as a DynamoDB Stream record: functions/local/status_events.py)."""

from __future__ import annotations

from typing import Any

from functions.recorder.error_routines import StoredErrorRoutines
from functions.recorder.failures import FailedExecutions
from functions.recorder.recorder import Recorder, RoutineSource
from functions.store import ExecutionStore, NotFoundError, RoutineStore


class StoredRoutines:
    """Routine documents from the routines repository."""

    def routine_document(self, owner_id: str, routine_id: str, version: int) -> Any | None:
        try:
            return RoutineStore().get(owner_id, routine_id, version).document
        except NotFoundError:  # deleted since: the record is written without a trace
            return None


_routines: RoutineSource = StoredRoutines()


def use_routine_source(source: RoutineSource | None) -> None:
    """Where routine documents come from (tests may substitute their own)."""
    global _routines
    _routines = source or StoredRoutines()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    recorder = Recorder(ExecutionStore(), _routines, StoredErrorRoutines(), FailedExecutions.from_env())
    return recorder.handle(event)
