"""A compensation stack: each step of an activation registers how to undo itself, and a
failure further on undoes the completed steps in reverse order."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from aws_lambda_powertools import Logger

logger = Logger(service="routines-api", child=True)


class Rollback:
    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []
        self._committed = False

    def add(self, what: str, undo: Callable[[], object]) -> None:
        self._undo.append((what, undo))

    def commit(self) -> None:
        self._committed = True

    def __enter__(self) -> Rollback:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None or self._committed:
            return
        for what, undo in reversed(self._undo):
            try:
                undo()
            except Exception:  # keep undoing the rest; the original error is what we raise
                logger.exception("rollback step failed", extra={"step": what})
