"""The interpreter's pooled threads behave as a thread per task: every task starts at
once (none waits for another to end), in a fresh contextvars context, its uncaught
exception reported by threading.excepthook; idle workers are reused, then end."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest

from functions.local import workers
from functions.local.workers import Workers

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def test_a_task_never_waits_for_another_to_end() -> None:
    pool = Workers()
    release, started = threading.Event(), threading.Event()
    pool.run(release.wait)  # blocks its worker
    pool.run(started.set)
    assert started.wait(5)
    release.set()


def test_each_task_runs_in_a_fresh_context_on_a_reused_worker() -> None:
    pool = Workers()
    seen: list[tuple[str, int]] = []
    for value in ("a", "b"):
        done = threading.Event()

        def task(value: str = value, done: threading.Event = done) -> None:
            seen.append((VAR.get(), threading.get_ident()))
            VAR.set(value)
            done.set()

        pool.run(task)
        assert done.wait(5)
        while not pool._idle:  # the worker is back among the idle ones
            threading.Event().wait(0.01)
    assert [v for v, _ in seen] == ["unset", "unset"]
    assert seen[0][1] == seen[1][1]  # the same thread, reused


def test_an_uncaught_exception_goes_to_threading_excepthook(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[Any] = []
    done = threading.Event()

    def hook(args: Any) -> None:
        reported.append((args.exc_type, str(args.exc_value), args.thread))
        done.set()

    monkeypatch.setattr(threading, "excepthook", hook)

    def fail() -> None:
        raise ValueError("boom")

    Workers().run(fail)
    assert done.wait(5)
    assert reported[0][:2] == (ValueError, "boom") and isinstance(reported[0][2], threading.Thread)


def test_an_idle_worker_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "IDLE_SECONDS", 0.05)
    pool = Workers()
    threads: list[threading.Thread] = []
    done = threading.Event()
    pool.run(lambda: (threads.append(threading.current_thread()), done.set()))
    assert done.wait(5)
    threads[0].join(5)
    assert not threads[0].is_alive() and not pool._idle
