"""Every place the local runtime changes code of a library it does not own, to run faster.

Each module here holds one or more fast paths (:class:`~.guard.FastPath`): replacements of
internals of moto, botocore or boto3 that give the same results as the code they replace,
each installed only over the release it was written for (see :mod:`.guard`). Nothing
outside this folder patches those libraries for speed; what the local runtime needs in
order to behave as AWS does (Lambdas run in-process, status events, atomic DynamoDB
writes, failing Map Runs) lives beside it in :mod:`functions.local` and is guarded too.

============================ ===================================================
fast path                    what it spares
============================ ===================================================
``imports``                  half a second of cold start (moto's Batch package)
``moto-layer``               moto's alias look-ups, parser walks, request ids;
                             its DynamoDB item model: sizes, copies, queries
``interpreter-steps``        copies and thread hand-overs per state and iteration
``interpreter-programs``     parsing a definition per start; a Lambda client per
                             invoke; HTTP around the interpreter's Lambda invokes
``direct-dynamodb``          HTTP around a node log's PutItem and a trace's Query
============================ ===================================================

Each stays only while it pays for itself: ``benchmarks/local_speed.py --fastpaths``
measures every one (its figure is in its module's docstring); ``botocore-client``,
``interpreter-copies`` and the JSONPath cache were deleted on those figures (2026-12-07).

``ROUTINES_LOCAL_FAST=0`` turns all of them off (moto, botocore and boto3 run as
released); ``ROUTINES_LOCAL_FAST=-name,-other`` turns off the ones named (benchmarks
measure what each one pays for). When a fast path stays off because a library is not the
release it was written for, the runtime says so once, on stderr, in one line.
``python -m functions.local.fastpaths`` prints each fast path's state.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from dataclasses import dataclass

from functions.local.fastpaths.guard import FastPath

ENV = "ROUTINES_LOCAL_FAST"
OFF_WORDS = frozenset({"0", "false", "no", "off"})
# Module → the fast paths it holds, in install order: the interpreter's programs last
# (they hand work to the others' code). Named here too, to be reported when the module
# itself cannot be imported.
MODULES = {  # module → the name of its fast path (``FAST_PATH`` in the module)
    "imports": "imports",
    "moto_paths": "moto-layer",
    "interp_paths": "interpreter-steps",
    "interpreter": "interpreter-programs",
    "direct_dynamodb": "direct-dynamodb",
}
LIBRARIES = ("moto", "botocore", "boto3")


@dataclass(frozen=True)
class State:
    name: str
    summary: str
    engaged: bool
    why: str  # empty when engaged


_lock = threading.Lock()
_users = 0
_engaged: list[FastPath] = []
_states: dict[str, State] = {}
_told = False


def wanted(name: str) -> bool:
    """Whether ``ROUTINES_LOCAL_FAST`` leaves this fast path to the guard."""
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in OFF_WORDS:
        return False
    excluded = {part.strip().lstrip("-") for part in setting.split(",") if part.strip().startswith("-")}
    return name not in excluded


def fast_paths() -> tuple[list[FastPath], dict[str, str]]:
    """Every fast path, and those whose module could not be imported (name → why)."""
    found: list[FastPath] = []
    broken: dict[str, str] = {}
    for module, name in MODULES.items():
        try:
            loaded = importlib.import_module(f"{__name__}.{module}")
        except ImportError as error:  # an internal it imports is gone: it stays off
            broken[name] = f"cannot import: {error}"
            continue
        found.append(loaded.FAST_PATH)
    return found, broken


def _decide() -> list[FastPath]:
    found, broken = fast_paths()
    states = {name: State(name, "", False, why) for name, why in broken.items()}
    chosen: list[FastPath] = []
    for path in found:
        if not wanted(path.name):
            states[path.name] = State(path.name, path.summary, False, f"{ENV} turns it off")
            continue
        changed = path.changed()
        if changed:
            why = ", ".join(changed)
            states[path.name] = State(path.name, path.summary, False, why)
        else:
            states[path.name] = State(path.name, path.summary, True, "")
            chosen.append(path)
    _states.clear()
    _states.update(states)
    return chosen


def engage() -> None:
    """Install every fast path that may be (the first of nested local AWS instances)."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        _engaged[:] = _decide()
        for path in _engaged:
            path.install()
        _tell_once()


def release() -> None:
    """Uninstall them (the last of nested local AWS instances)."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users:
            return
        for path in reversed(_engaged):
            path.uninstall()
        _engaged.clear()


def engaged(name: str) -> bool:
    """Whether a fast path is installed now."""
    return any(path.name == name for path in _engaged)


def states() -> list[State]:
    """Each fast path's state as last decided (decided now if never)."""
    with _lock:
        if not _states:
            _decide()
        return list(_states.values())


def versions() -> str:
    """``moto 5.2.6, botocore 1.44.18, boto3 1.44.18``: what the guards looked at."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for library in LIBRARIES:
        try:
            found.append(f"{library} {version(library)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def notice(off: list[State]) -> str:
    names = ", ".join(state.name for state in off)
    return (
        f"routines: {len(off)} local fast path(s) off ({names}): not written for {versions()}; "
        "those parts run on the libraries' own code (same results, slower). "
        "`python -m functions.local.fastpaths` says why."
    )


def _tell_once() -> None:
    """One line on stderr, once per process, when a guard kept a fast path off (not when
    the user turned it off)."""
    global _told
    off = [s for s in _states.values() if not s.engaged and not s.why.startswith(ENV)]
    if off and not _told:
        _told = True
        print(notice(off), file=sys.stderr)


__all__ = ["ENV", "FastPath", "State", "engage", "engaged", "release", "states", "versions", "wanted"]
