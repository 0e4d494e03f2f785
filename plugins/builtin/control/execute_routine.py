"""``execute-routine``: runs another routine as a child execution (a sub-routine).

With ``wait`` (the default) the node is a Task on ``states:startExecution.sync:2``: its
output is the child's result, and a child that fails, times out or is stopped fails the
node with ``{type, message}`` (so ``retry`` and ``onError`` apply). Without it, a plain
``states:startExecution``: the output is ``{"executionId"}`` and the routine goes on.

``routine`` is a routine id — or, in files run by ``routines run``/``routines test``, a
path to the child's file relative to the document (ending in ``.json``), whose routine id
is its file name without ``.json``. It is never an expression: the child's state machine
is known when the parent is activated (activation checks that the child is active) and
the parent's role may start it.

Pure standard library, like every declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugins.sdk import ERROR, OUT, Parameter, ParameterType, control_plugin

NAME = "execute-routine"
ROUTINE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # statemachines.model.ROUTINE_ID_PATTERN
PATH_SUFFIX = ".json"
# A chain of sub-routines deeper than this fails (instead of recursing without end): the
# execution started by a trigger is depth 0, its children 1, theirs 2, …
MAX_DEPTH = 10
CALL_DEPTH_ERROR = "Routines.CallDepth"
TRIGGER_TYPE = "routine"  # the child's triggerType (functions.triggers.start)


def is_path(routine: str) -> bool:
    """Whether ``routine`` names a file (relative to the document) rather than an id."""
    return routine.endswith(PATH_SUFFIX) or "/" in routine or "\\" in routine


def routine_id(routine: str) -> str:
    """The child's routine id: the value itself, or a file's name without ``.json``."""
    if not is_path(routine):
        return routine
    name = re.split(r"[/\\]", routine)[-1]
    return name.removesuffix(PATH_SUFFIX)


def _check(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    routine = parameters.get("routine")
    if isinstance(routine, str):
        if "{{" in routine:
            found.append(
                (
                    "routine",
                    "the routine is a routine id or a file path, never an expression: "
                    "the child's state machine must be known when the routine is activated",
                )
            )
        elif not is_path(routine) and not ROUTINE_ID.match(routine):
            found.append(
                (
                    "routine",
                    f"'{routine}' is not a routine id (1 to 64 letters, digits, '_' or '-') "
                    "nor a path to a routine file ending in .json",
                )
            )
        elif is_path(routine) and not ROUTINE_ID.match(routine_id(routine)):
            found.append(
                (
                    "routine",
                    f"the file name of '{routine}' without .json is the child's routine id: "
                    "it must be 1 to 64 letters, digits, '_' or '-'",
                )
            )
    if isinstance(parameters.get("wait"), str):
        found.append(("wait", "wait is true or false, never an expression: it decides the state's kind"))
    return found


PLUGIN = control_plugin(
    name=NAME,
    display_name="Execute routine",
    description=(
        "Runs another routine (a sub-routine) as a child execution. With 'wait' the output is "
        "the child's result and a child failure fails this node (retry and onError apply); "
        "without it the output is {executionId} and the routine goes on."
    ),
    compiled_by=("statemachines.machine.subroutine.execute_routine",),
    parameters=(
        Parameter(
            "routine",
            ParameterType.STRING,
            "Routine",
            required=True,
            max_length=1024,
            description=(
                "The id of an active routine of yours; in files run by 'routines run' or "
                "'routines test', also a path to its file relative to this one (child.json)"
            ),
        ),
        Parameter(
            "input",
            ParameterType.JSON,
            "Input",
            description=(
                "The child's trigger data, usually an expression ({{ nodes.fetch.body }}). "
                "Default: this node's input — the output of the node before it (an object by "
                "node id when several lead here), or the trigger for a first node"
            ),
        ),
        Parameter(
            "wait",
            ParameterType.BOOLEAN,
            "Wait for the result",
            default=True,
            description="false: start the child and go on; the output is {executionId}",
        ),
    ),
    outputs=(OUT, ERROR),
    check=_check,
)
