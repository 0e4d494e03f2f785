"""Active routines with their trigger, for the local trigger deliveries of ``routines
serve`` (on AWS, Scheduler schedules and EventBridge rules do this job)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from functions.store import RoutineStore


@dataclass(frozen=True, slots=True)
class ActiveRoutine:
    owner: str
    routine_id: str
    version: int
    state_machine_arn: str
    trigger: dict[str, Any]  # the trigger of the active version's document


def active_routines(kind: str | None = None) -> list[ActiveRoutine]:
    store = RoutineStore()
    found: list[ActiveRoutine] = []
    for head in store.active():
        if head.active_version is None or not head.activation:
            continue
        trigger = _trigger(store.table, head.owner, head.routine_id, head.active_version)
        if trigger is None or (kind is not None and trigger.get("type") != kind):
            continue
        arn = str(head.activation["stateMachineArn"])
        found.append(ActiveRoutine(head.owner, head.routine_id, head.active_version, arn, trigger))
    return found


def find_active(owner: str, routine_id: str, kind: str | None = None) -> ActiveRoutine | None:
    return next((r for r in active_routines(kind) if (r.owner, r.routine_id) == (owner, routine_id)), None)


@lru_cache(maxsize=1024)
def _cached(table: str, owner: str, routine_id: str, version: int) -> dict[str, Any] | None:
    document = RoutineStore(table).get(owner, routine_id, version).document or {}
    trigger = document.get("trigger")
    return dict(trigger) if isinstance(trigger, dict) else None


def _trigger(table: str, owner: str, routine_id: str, version: int) -> dict[str, Any] | None:
    """Versions are immutable, so their trigger is cached."""
    return _cached(table, owner, routine_id, version)
