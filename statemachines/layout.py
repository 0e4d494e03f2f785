"""What the compiler knows about each node on one path through the routine, and which
literals cannot be written into a state as they are."""

from __future__ import annotations

from enum import Enum
from typing import Any


class Status(Enum):
    """What the compiler knows, on one path through the routine, about a node."""

    OK = "ok"  # ran and succeeded: its variable holds its output
    ERROR = "error"  # failed under onError route: its variable holds the error record
    ANY = "any"  # ran, succeeded or failed under onError continue
    UNSURE = "unsure"  # may or may not have run (joined from a Parallel): its variable may be null
    DEAD = "dead"  # cannot have run on this path: reads of it are the constant null


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
