"""Saving a routine: validate it completely, then write a new version — nothing invalid
is stored (DESIGN §4)."""

from __future__ import annotations

from typing import Any

from contract.errors import InvalidRoutineError
from functions.store import RoutineRecord, RoutineStore
from statemachines.compiler import validate_for_save


def _validated(document: dict[str, Any]) -> list[dict[str, str]]:
    """The warnings of a valid document; :class:`InvalidRoutineError` otherwise."""
    report = validate_for_save(document)
    if not report.valid:
        raise InvalidRoutineError(report.errors)
    return [w.to_json() for w in report.warnings]


def create(
    store: RoutineStore, owner: str, document: dict[str, Any]
) -> tuple[RoutineRecord, list[dict[str, str]]]:
    """A new routine at version 1, and its warnings."""
    warnings = _validated(document)
    return store.create(owner, document), warnings


def update(
    store: RoutineStore, owner: str, routine_id: str, document: dict[str, Any], expected: int | None
) -> tuple[RoutineRecord, list[dict[str, str]]]:
    """A new version of ``routine_id`` (over ``expected`` when given: a lost race is a
    ConflictError), and its warnings. A missing routine is reported before an invalid
    document."""
    store.head(owner, routine_id)
    warnings = _validated(document)
    return store.update(owner, routine_id, document, expected), warnings
