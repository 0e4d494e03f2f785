"""``execute-routine``: the children a routine starts must be there when it is activated.

Activation refuses a routine whose execute-routine nodes name a routine that is not an
active routine of the same owner (``422 invalid_sub_routine`` at
``nodes[<id>].parameters.routine``): its state machine would start a machine that does not
exist, or another owner's. A file path (which ``routines run``/``routines test`` read) is
refused the same way: a deployed routine names its children by id. A routine may call
itself (recursion is bounded by the call depth, statemachines.machine.subroutine).
"""

from __future__ import annotations

from typing import Any

from contract.problems import join_path, node_path
from functions.activation.triggers import TriggerError
from functions.store import NotFoundError, RoutineStore
from plugins.builtin.control.execute_routine import NAME, is_path


class SubroutineError(TriggerError):
    """An execute-routine node names a routine that cannot be started (activation: 422)."""

    code = "invalid_sub_routine"


def children(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(node id, routine) of each enabled execute-routine node, in document order."""
    found: list[tuple[str, str]] = []
    for node in document.get("nodes") or []:
        if not isinstance(node, dict) or node.get("plugin") != NAME or node.get("disabled"):
            continue
        routine = (node.get("parameters") or {}).get("routine")
        if isinstance(routine, str):
            found.append((str(node.get("id")), routine))
    return found


def check(store: RoutineStore, owner: str, routine_id: str, document: dict[str, Any]) -> None:
    """:class:`SubroutineError` at the first execute-routine node whose routine is not an
    active routine of ``owner`` (the routine being activated may name itself)."""
    for node_id, routine in children(document):
        path = join_path(node_path(node_id), "parameters", "routine")
        if is_path(routine):
            raise SubroutineError(
                f"'{routine}' is a file path, which only routines run and routines test read: "
                "name the child routine by its id",
                path=path,
            )
        if routine == routine_id:
            continue
        try:
            head = store.head(owner, routine)
        except NotFoundError:
            raise SubroutineError(f"there is no routine '{routine}'", path=path) from None
        if head.active_version is None or not (head.activation or {}).get("stateMachineArn"):
            raise SubroutineError(
                f"routine '{routine}' is not active: activate it first "
                "(a routine starts only active routines)",
                path=path,
            )
