"""How many execution history events a run through some states writes, at the least.

AWS ends a Standard execution whose history would pass 25,000 events (an Express one keeps
no such history; moto enforces neither). An inline loop's iterations write into their
execution's history, so a loop over more items than fit can only fail on AWS, after
running most of them: :func:`least_events` lets the compiler refuse such a list up front,
with a message saying what to do — the same locally and on AWS. It counts the path that
writes the fewest events (a failure's included), so no loop that could fit is refused.
"""

from __future__ import annotations

from typing import Any

from contract.problems import Problem, Warn, node_path
from statemachines.machine.walk import Build
from statemachines.report import postorder, successors
from statemachines.topology import NodeInfo

HISTORY_EVENTS = 25_000
# Events a state writes entering and leaving it, its work between: a Task (Lambda or
# service integration) is entered, scheduled, started, succeeded or failed, and exited.
OWN_EVENTS = {"Task": 5, "Parallel": 4, "Map": 4, "Fail": 1}
STATE_EVENTS = 2  # Pass, Choice, Wait, Succeed: entered and exited
ITERATION_EVENTS = 2  # a Map iteration's start and end
# Saving warns of an inline loop bounded below this many items (a heavy body), and of an
# until loop bounded below its maxIterations: lists a routine may well meet.
WARN_BELOW = 1_000


def least_events(machine: dict[str, Any]) -> int:
    """The fewest history events a run from ``machine``'s ``StartAt`` to an end writes (a
    Parallel's branches all run; a Map's iterations may be none)."""
    states = machine["States"]
    order, back = postorder(machine)
    least: dict[str, int] = {}
    for name in order:  # successors first
        state = states[name]
        own = OWN_EVENTS.get(state["Type"], STATE_EVENTS)
        own += sum(least_events(branch) for branch in state.get("Branches", []))
        after = [least[s] for s in successors(state) if (name, s) not in back]
        least[name] = own + (0 if state.get("End") or not after else min(after))
    return least[machine["StartAt"]]


def most_iterations(processor: dict[str, Any]) -> int:
    """The most items an inline Map over ``processor`` can run within a Standard
    execution's history, counting only its iterations (the rest of the run writes some too)."""
    return HISTORY_EVENTS // (ITERATION_EVENTS + least_events(processor))


def loop_warning(build: Build, info: NodeInfo, most: int) -> None:
    """The save report's warning that a Standard execution's history bounds a loop (Map:
    ``most`` items, when under WARN_BELOW or fewer than a literal list holds; until: when
    fewer than its maxIterations): said at save time what would otherwise first be met
    at run time."""
    items = info.parameters.get("items")
    if info.parameters.get("until") is not None:
        limit = int(info.parameters["maxIterations"])
        if most >= limit:
            return
        path = node_path(info.id, "parameters", "maxIterations")
        message = (
            f"its body runs at most {most:,} iterations within the 25,000 events of a Standard "
            f"execution's history, fewer than its maxIterations ({limit:,}): past {most:,} the loop "
            "stops with Routines.LoopLimit; lower maxIterations, or run the routine as Express"
        )
    elif most < WARN_BELOW or (isinstance(items, list) and len(items) > most):
        path = node_path(info.id, "parameters", "items")
        message = (
            f"an inline loop of this body runs at most {most:,} iterations within the 25,000 events "
            "of a Standard execution's history: a longer list fails the loop (Routines.UserError) "
            'before it starts; give it "mode": "distributed", or run the routine as Express'
        )
    else:
        return
    build.warnings.setdefault(path, Problem(Warn.HISTORY_BOUND.value, path, message))


__all__ = ["HISTORY_EVENTS", "OWN_EVENTS", "STATE_EVENTS", "least_events", "loop_warning", "most_iterations"]
