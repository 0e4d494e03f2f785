"""``errorRoutine``: which routine receives a routine's failures, and whether it can.

Activation refuses a routine whose ``errorRoutine`` is not an active routine of the same
owner with an ``error`` trigger (``422 invalid_error_routine`` at ``errorRoutine``). The
recorder asks the same question when an execution fails, because the error routine may
have been deactivated or deleted since: then the failure is recorded with a note saying
why no error routine ran, and nothing else happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.activation.triggers import TriggerError
from functions.store import NotFoundError, RoutineStore

FIELD = "errorRoutine"


class ErrorRoutineError(TriggerError):
    """The routine's ``errorRoutine`` cannot receive its failures (activation: 422)."""

    code = "invalid_error_routine"


@dataclass(frozen=True, slots=True)
class ErrorTarget:
    """An error routine that can be started: its active version's state machine."""

    routine_id: str
    version: int
    state_machine_arn: str


def resolve(store: RoutineStore, owner: str, routine_id: str) -> ErrorTarget | str:
    """The active error routine ``routine_id`` of ``owner``, or why it cannot be one."""
    try:
        head = store.head(owner, routine_id)
    except NotFoundError:
        return f"there is no routine '{routine_id}'"
    activation = head.activation or {}
    if head.active_version is None or not activation.get("stateMachineArn"):
        return f"routine '{routine_id}' is not active"
    kind = (activation.get("trigger") or {}).get("type")
    if kind != "error":
        return f"routine '{routine_id}' has a {kind} trigger, not an error trigger"
    return ErrorTarget(routine_id, head.active_version, str(activation["stateMachineArn"]))


def check(store: RoutineStore, owner: str, routine_id: str, document: dict[str, Any]) -> None:
    """At activation: :class:`ErrorRoutineError` unless the document's ``errorRoutine``
    (if any) names an active routine of the same owner with an error trigger."""
    target = document.get(FIELD)
    if not isinstance(target, str):
        return
    if target == routine_id:
        raise ErrorRoutineError("a routine cannot be its own errorRoutine", path=FIELD)
    found = resolve(store, owner, target)
    if isinstance(found, str):
        raise ErrorRoutineError(
            f"{found}: an errorRoutine must be an active routine of yours with a trigger "
            '{"type": "error"} (activate it first)',
            path=FIELD,
        )
