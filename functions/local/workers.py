"""Reusable daemon threads for moto's interpreter, which starts a new thread for every
Task (to enforce its TimeoutSeconds) and every program it runs (each Map iteration):
~200 thread starts for a 100-item loop, ~100 µs each, where handing a task to an idle
thread takes a third of that.

A task is handed to an idle worker if there is one, else to a new worker: it never waits
for another task to end, so a task that outlives its timeout (the interpreter stops
waiting for it, as moto does) only keeps its own worker busy. Each task runs in a fresh
``contextvars`` context, as on a new thread. Threading locals set by one task stay on its
worker for the next: the ones on the interpreter's path are cleared by their owners (the
in-process Lambda's stdout buffer, the DynamoDB query hint of moto_paths) or are caches
(contract.expressions keeps a JSONPath parser per thread). An exception escaping a
task goes to ``threading.excepthook``, as it would from a thread of its own. A worker
idle for ``IDLE_SECONDS`` ends.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any

IDLE_SECONDS = 10.0


class _Worker(threading.Thread):
    def __init__(self, pool: Workers, task: Callable[[], Any]) -> None:
        super().__init__(daemon=True, name="routines-local-worker")
        self._pool = pool
        self._task: Callable[[], Any] | None = task
        self._given = threading.Event()
        self._given.set()

    def give(self, task: Callable[[], Any]) -> None:
        self._task = task
        self._given.set()

    def run(self) -> None:
        while True:
            if not self._given.wait(IDLE_SECONDS):
                if self._pool.retire(self):
                    return
                continue  # handed a task while timing out: it is being given
            self._given.clear()
            task, self._task = self._task, None
            if task is not None:
                self._run(task)
            self._pool.idle(self)

    def _run(self, task: Callable[[], Any]) -> None:
        try:
            contextvars.Context().run(task)
        except BaseException:  # as an uncaught exception ends a thread of its own
            kind, value, trace = sys.exc_info()
            threading.excepthook(threading.ExceptHookArgs([kind, value, trace, self]))
        finally:
            del task


class Workers:
    """Runs each task at once on a thread of its own: an idle worker, or a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def run(self, task: Callable[[], Any]) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            _Worker(self, task).start()
        else:
            worker.give(task)

    def idle(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Whether an idle worker may end (not if it was just handed a task)."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


WORKERS = Workers()
