"""A distributed Map fails when its children fail, on moto as on AWS.

On AWS a Map Run whose failed (or timed-out) child executions exceed its tolerated
failure threshold — zero unless ``ToleratedFailureCount``/``Percentage`` say otherwise —
fails, and the Map state fails with ``States.ExceedToleratedFailureThreshold``. moto's
interpreter counts the failed children and then reports the run as succeeded (a TODO in
its item processor), so a failing loop body or a stop inside a distributed loop went
unnoticed locally and the execution succeeded. While installed, the map run fails as on
AWS; everything else is moto's own code.
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from functions.local.fastpaths.guard import Patch, Seam

CAUSE = "The specified tolerated failure threshold was exceeded"  # AWS's words


def exceeded(failed: int, total: int, count: int, percentage: float) -> bool:
    """Whether ``failed`` of ``total`` children exceed the tolerated count and percentage."""
    return failed > count and failed * 100 > percentage * total


def _map_run(self: Any, env: Any, eval_input: Any) -> None:
    SEAM.originals["map_run"](self, env, eval_input)
    items = eval_input.map_run_record.item_counter
    failed = items.failed.get() + items.timed_out.get()
    count = eval_input.tolerated_failure_count or 0
    percentage = eval_input.tolerated_failure_percentage or 0.0
    if exceeded(failed, items.total.get(), int(count), float(percentage)):
        error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
        details = ExecutionFailedEventDetails(error=error.error_name, cause=CAUSE)
        event = FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(executionFailedEventDetails=details),  # type: ignore[typeddict-item]
        )
        raise FailureEventException(failure_event=event)


def _patches() -> list[Patch]:
    return [("map_run", distributed.DistributedIterationComponent, "_map_run", _map_run)]


SEAM = Seam(
    "failing-map-runs",
    "a distributed Map fails past its tolerated failures, as on AWS",
    _patches,
    parameters={"map_run": ("self", "env", "eval_input")},
)
install = SEAM.install
uninstall = SEAM.uninstall


__all__ = ["CAUSE", "exceeded", "install", "uninstall"]
