"""``copy.deepcopy`` for moto's Step Functions interpreter, specialised for JSON values.

The interpreter deep-copies a state's input or result at almost every step (a Map
iteration copies the whole Map input, twice): about a tenth of a warm run went to
``copy.deepcopy``'s generic dispatch. The values are JSON data, so plain dicts, lists and
atoms are copied here directly, exactly as ``copy.deepcopy`` copies them (same order, a
value met twice copied once, atoms returned as they are); anything else is handed to
``copy.deepcopy`` with the same memo. The interpreter's modules see this function as
``copy.deepcopy`` while a :class:`~functions.local.LocalAWS` is up; nothing else does.

The interpreter also deep-copies its program state (a small object saying running, ended,
failed...) every time it asks for it, at every state and Map iteration; the generic
reduce-based path took a third of all the interpreter's copying. Those classes use the
default copy protocol (no ``__deepcopy__``, ``__reduce__``, ``__getstate__``,
``__setstate__`` or slots of their own; checked at import), for which ``copy.deepcopy``
makes ``cls.__new__(cls)`` and fills its ``__dict__`` with a deep copy of the original's:
so does this copier, directly.

The context object holds the execution's start time as a ``datetime`` (``$$.Execution.
StartTime``, read by every plugin task's parameters); ``copy.deepcopy`` rebuilds it
through its reduce protocol. A ``datetime`` is immutable, and so is a
``datetime.timezone``: one that is naive or carries a ``timezone`` is returned as it is,
as atoms are (any other tzinfo, which could be mutable, is copied by ``copy.deepcopy``).
"""

from __future__ import annotations

import copy
import copyreg
import datetime
import types
from typing import Any

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import job
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import state_parallel
from moto.stepfunctions.parser.asl.eval import environment, program_state, states
from moto.stepfunctions.parser.asl.eval.event import event_manager

from functions.local.fastpaths.guard import FastPath, Patch

ATOMS = frozenset({str, int, float, bool, type(None)})


OBJECT_PROTOCOL = ("__reduce_ex__", "__reduce__", "__getstate__", "__new__")


def _plain_object(kind: type) -> bool:
    """Whether ``copy.deepcopy`` copies instances of ``kind`` by the default protocol:
    ``kind.__new__(kind)``, then ``__dict__.update`` with the deep-copied ``__dict__``."""
    return (
        kind not in copyreg.dispatch_table
        and getattr(kind, "__deepcopy__", None) is None
        and all(getattr(kind, name, None) is getattr(object, name) for name in OBJECT_PROTOCOL)
        and not hasattr(kind, "__setstate__")
        and not any(vars(base).get("__slots__") for base in kind.__mro__)
    )


PROGRAM_STATES = (
    program_state.ProgramEnded,
    program_state.ProgramError,
    program_state.ProgramRunning,
    program_state.ProgramStopped,
    program_state.ProgramTimedOut,
)
OBJECTS = frozenset(kind for kind in PROGRAM_STATES if _plain_object(kind))
MODULES = (
    states,
    environment,
    event_manager,
    execute_state,
    state_map,
    state_parallel,
    job,
    result_path,
    string_expression,
)


def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    if type(value) in ATOMS:
        return value
    return _copy(value, {} if memo is None else memo)


def _immutable_time(value: datetime.datetime) -> bool:
    zone = value.tzinfo
    return zone is None or type(zone) is datetime.timezone


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in ATOMS:
        return value
    done = memo.get(id(value), memo)
    if done is not memo:
        return done
    if kind is dict:
        out: Any = {}
        memo[id(value)] = out
        for key, item in value.items():  # atoms inline: most leaves are
            if type(key) not in ATOMS:
                key = _copy(key, memo)
            out[key] = item if type(item) in ATOMS else _copy(item, memo)
        return out
    if kind is list:
        out = []
        memo[id(value)] = out
        append = out.append
        for item in value:
            append(item if type(item) in ATOMS else _copy(item, memo))
        return out
    if kind is datetime.datetime and _immutable_time(value):
        return value
    if kind in OBJECTS:
        new = kind.__new__(kind)
        memo[id(value)] = new
        state = vars(value)
        if state:  # copy.deepcopy skips an empty __dict__ too (its reduce gives no state)
            new.__dict__.update(_copy(state, memo))
        return new
    return copy.deepcopy(value, memo)


_shim = types.ModuleType("copy")
_shim.__dict__.update({k: v for k, v in vars(copy).items() if not k.startswith("__")})
_shim.deepcopy = deepcopy  # type: ignore[attr-defined]


def _patches() -> list[Patch]:
    return [(f"copy:{module.__name__}", module, "copy", _shim) for module in MODULES]


FAST_PATH = FastPath(
    "interpreter-copies",
    "copy.deepcopy's generic dispatch, for the JSON values the interpreter copies at every step",
    written_for=(*(module.__name__ for module in MODULES), program_state.__name__),
    patches=_patches,
)
FAST_PATHS = (FAST_PATH,)
install = FAST_PATH.install
uninstall = FAST_PATH.uninstall
