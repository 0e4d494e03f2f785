"""The emitter's vocabulary: scopes under construction, steps, outcomes and links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from statemachines.asl import State
from statemachines.walk import Sim

EXIT = "\x00exit"  # end of the scope: End: true, or a shared terminal state
EXIT_NULL = "\x00exit:null"  # end of a loop iteration whose result node did not run
SENTINELS = (EXIT, EXIT_NULL)
MAX_MERGED_BRANCHES = 10  # States.JsonMerge calls nest one level per branch
MAX_STATES = 20_000  # a guard against pathological duplication of shared joins


def s3_get_object(partition: str = "aws") -> str:
    """A distributed Map's ItemReader: Step Functions' S3 GetObject integration in the
    target's partition (``CompileOptions.partition``: ``aws``, ``aws-cn``, ``aws-us-gov``)."""
    return f"arn:{partition}:states:::s3:getObject"


Link = Callable[[str], None]


@dataclass(slots=True)
class Outcome:
    sim: Sim
    link: Link | None  # sets the Next of whatever leads on; None: the node emitted nothing


@dataclass(slots=True)
class Step:
    entry: str | None  # the node's first state (None when it compiles to no state)
    outcomes: list[Outcome]


@dataclass(slots=True)
class Scope:
    """One state graph under construction: the top level, a Parallel branch, a Map body."""

    kind: str  # "top" | "branch" | "map"
    owner: str = ""  # the loop node of a map scope
    result: str | None = None  # the node whose output is a loop iteration's result
    distributed: bool = False  # inside child executions of a distributed Map
    states: dict[str, State] = field(default_factory=dict)
    memo: dict[Any, str] = field(default_factory=dict)
    terminals: dict[str, str] = field(default_factory=dict)


def set_link(fields: dict[str, Any], key: str) -> Link:
    def link(target: str) -> None:
        fields[key] = target

    return link


def both(*links: Link) -> Link:
    def link(target: str) -> None:
        for each in links:
            each(target)

    return link


__all__ = [
    "EXIT",
    "EXIT_NULL",
    "MAX_MERGED_BRANCHES",
    "MAX_STATES",
    "SENTINELS",
    "Link",
    "Outcome",
    "Scope",
    "Step",
    "both",
    "s3_get_object",
    "set_link",
]
