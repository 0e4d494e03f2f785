"""The recorder Lambda (``infra.names.RECORDER_HANDLER``): an EventBridge rule on
"Step Functions Execution Status Change" invokes it; locally the runtime calls it with the
same events."""

from __future__ import annotations

from typing import Any

from functions.recorder.recorder import Recorder, RoutineSource
from functions.store.executions import ExecutionStore

_routines: RoutineSource | None = None


def use_routine_source(source: RoutineSource | None) -> None:
    """Where routine documents come from (the routines repository; set by the process
    that hosts the handler)."""
    global _routines
    _routines = source


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return Recorder(ExecutionStore(), _routines).handle(event)
