"""Garbage collection for a short-lived ``routines`` process.

A cold ``routines run`` imports moto, botocore's service models and the Step Functions
interpreter: millions of objects, nearly all alive until the process ends. With the
collector on, every few thousand allocations trigger a collection that walks that growing
heap again (about a second of a cold run), and the interpreter walks it once more on
exit. The console script holds collections off while a command imports and sets up, then
freezes what exists (it stays alive anyway; later collections skip it) and collects
normally from there; on exit the frozen heap is left to the operating system.

Only the console script holds: ``main()`` called in-process (tests) leaves the collector
alone, and commands that do not set up a local AWS settle at once.
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def settle() -> None:
    """The long-lived objects exist: freeze them and collect normally from now on."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def finish() -> None:
    """Exiting: spare the interpreter's last walk over the whole heap."""
    settle()
    gc.freeze()
