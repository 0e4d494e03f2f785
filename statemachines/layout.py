"""Where things live in the state document, and what the compiler knows about each node.

The document a state machine carries is flat::

    {"trigger": <trigger payload>, "loop": {"item", "index"}, "node_<id>": <output>, ...}

Node outputs are top-level keys (``node_fetch``) rather than members of one ``nodes``
object because Parallel branches are joined with a shallow ``States.JsonMerge`` of the
branches' documents: a shared ``nodes`` object would be replaced wholesale by the last
branch, and moto's interpreter cannot address ``$[i].nodes`` (it yields a list). Lambdas
never see this layout: their payload is rebuilt as ``{"trigger", "execution", "loop",
"nodes": {<id>: ...}}`` by the Task's ``Parameters`` — the public contract of DESIGN §2.

Only outputs someone reads are kept (``ResultPath: null`` otherwise), and outputs never
live together share a key (``slot_<n>``, :mod:`statemachines.slots`), which keeps the
document far below the 256 KiB payload limit; node logs keep every output for the trace.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

TRIGGER_PATH = "$.trigger"
LOOP_PATH = "$.loop"
EXECUTION_PATH = "$.execution"  # only inside distributed Map iterations (child executions)


def node_key(node_id: str) -> str:
    return f"node_{node_id}"


def node_doc_path(node_id: str) -> str:
    return f"$.{node_key(node_id)}"


def steps_path(base: str, steps: tuple[str | int, ...]) -> str | None:
    """``base`` extended by plain steps, or None when a step cannot be written safely."""
    out = base
    for position, step in enumerate(steps):
        if isinstance(step, int):
            if step < 0:
                return None  # negative indexes mean different things to different JSONPaths
            if position < len(steps) - 1:
                # moto's interpreter answers $.a[1].x with a list ([5]) where AWS gives 5:
                # an index with steps after it is left to the evaluator, so that a native
                # state never decides differently locally and on AWS.
                return None
            out += f"[{step}]"
        elif step.isidentifier():
            out += f".{step}"
        else:
            return None
    return out


class Status(Enum):
    """What the compiler knows, on one path through the routine, about a node."""

    OK = "ok"  # ran and succeeded: its output (if kept) is at node_<id>
    ERROR = "error"  # failed under onError route: node_<id> holds {Error, Cause}
    ANY = "any"  # ran, succeeded or failed under onError continue
    UNSURE = "unsure"  # may or may not have run (joined from a Parallel); node_<id> may be null
    DEAD = "dead"  # cannot have run on this path: reads of it are the constant null


RAN = frozenset({Status.OK, Status.ERROR, Status.ANY})


def has_unsafe_keys(value: Any) -> bool:
    """True when a literal holds an object key ending in ``.$``, which ASL would take for a
    path: such literals travel as JSON text instead."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(str(key).endswith(".$") for key in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
