"""Longer GIL slices while a caller waits for a local execution.

A loop's iterations run on moto's Map worker threads (up to its ``MaxConcurrency``), all
busy running Python. CPython makes the thread holding the GIL hand it to a waiting one
every switch interval (5 ms by default), and each hand-over waits for the OS to wake that
thread: on this shared 2-CPU machine a wake-up takes from tens of microseconds to a few
milliseconds, time in which no thread runs. A warm 100-item loop with ``maxConcurrency:
10`` spent up to a third of its wall time so (CPU 358 ms, wall 527 ms, in one
measurement; with a 0.1 s interval, CPU 282 ms and wall 343 ms).

While a caller waits for an execution (``RunningExecution.wait``: ``routines run``,
``routines test``, the pytest fixture), the interval is ``SLICE_SECONDS``; the last
waiter to finish restores the interval it found. Which thread runs when changes, never
what runs: moto's iterations interleave as they did, only in longer turns. ``routines
serve`` does not wait this way, so its request threads keep their short turns.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLICE_SECONDS = 0.1

_lock = threading.Lock()
_waiters = 0
_saved: float | None = None


@contextmanager
def long_slices() -> Iterator[None]:
    """Threads keep the GIL for ``SLICE_SECONDS`` at a time while this block runs."""
    global _waiters, _saved
    with _lock:
        _waiters += 1
        if _waiters == 1:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(max(_saved, SLICE_SECONDS))
    try:
        yield
    finally:
        with _lock:
            _waiters -= 1
            if _waiters == 0 and _saved is not None:
                sys.setswitchinterval(_saved)
                _saved = None


__all__ = ["SLICE_SECONDS", "long_slices"]
