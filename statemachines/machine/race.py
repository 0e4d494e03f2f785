"""``merge`` with ``mode: "first"`` in a JSONata machine (issue #27): parallel branches race,
the first to arrive wins, the others are cancelled. No Lambda.

One Parallel state, a branch per racing branch. Each branch ends, where it arrives at the
merge, in a Fail state raising ``Routines.First.<merge>`` with its outputs (its variables,
as JSON text) as the Cause. The first error raised ends the Parallel — Step Functions
cancels the branches still running, an approval waiting in one included — and the
Parallel's Catch of that error assigns every branch's variables from the Cause: the
winner's values, null for the others. The merge itself is what it always is (no state; its
output the outputs of its branches that ran, by node id): ``{"<winner's last node>":
output}``.

A branch need not arrive (WCP-16, deferred choice): an approval, an if or a switch on the
way may take a port that leads nowhere (left unconnected), or a ``stop``. Such a branch
simply ends; the others race on. When every branch can end so, the Parallel also goes on
by its ``Next`` — no branch arrived — assigning what the branches handed back, and the
merge and what only it leads to are skipped, as on any path not taken.

Limits, checked here (and at save time, which compiles), each an ``invalid_parameter`` on
the merge's ``mode``: the branches start together (the ready nodes of one point of the
walk, all of them in the race); they lead only to the merge, which takes no other
connection; every node of a branch leads to the merge (but a ``stop``, or a disabled node),
so a branch that does not arrive runs no node whose output the race could not hand on;
the connections into the merge always fire (put a node between an if's port and the
merge); a fork inside a branch meets again before the merge. A Cause holds at most 32,768
characters: the branches' plugin outputs get a share of that as their ``inlineBytes``
(larger ones go to S3 and travel as references); a loop's results or a sub-routine's
result in a branch are not offloaded and must fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Any

from contract.errors import CompileError
from contract.jsonata.conditions import literal
from contract.problems import node_path
from statemachines.asl import State
from statemachines.layout import Status
from statemachines.machine.values import VARIABLE_ROOM
from statemachines.machine.walk import EXIT, Build, Outcome, Scope, Step, both, set_link
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete

RACE_ERROR = "Routines.First."  # + the merge's id
CAUSE_ROOM = 30_000  # of a Cause's 32,768 characters, for the outputs' values
GRAPH_ERROR = "invalid_parameter"


class RaceShapeError(CompileError):
    """A merge with mode "first" whose branches do not form one race (a user's error:
    reported as ``invalid_parameter`` at save time)."""

    code = GRAPH_ERROR


@dataclass(slots=True)
class RaceBranch(Scope):
    """A branch of a race: the merge is one of its nodes, and reaching it is arriving."""

    merge: str = ""
    root: str = ""  # the branch's first node
    arrivals: list[str] = field(default_factory=list)  # its Fail states raising the race's error


def is_first_merge(build: Build, node_id: str) -> bool:
    info = build.infos[node_id]
    return info.plugin.name == "merge" and info.parameters.get("mode") == "first" and not info.node.disabled


def race_step(build: Build, scope: Scope, sim: Sim, ready: list[str]) -> Step | None:
    """The Parallel of a race, when the ready nodes' branches lead into a first merge;
    None when they do not (an ordinary Parallel, or one after the other)."""
    from statemachines.machine.constructs import own_regions, regions_done  # constructs imports this module

    graph = build.graph
    own, every_own = own_regions(build, sim, ready)
    exits = [
        e for n in graph.members(every_own) for e in graph.outgoing[n] if not every_own & graph.bit(e.target)
    ]
    position = build.plan.position.__getitem__
    merges = sorted({e.target for e in exits if is_first_merge(build, e.target)}, key=position)
    if not merges:
        return None
    merge = merges[0]
    _check_shape(build, ready, own, every_own, exits, merge)

    error = RACE_ERROR + merge
    build.races.add(merge)
    racing = merge in build.racing
    build.racing.add(merge)
    branches: list[dict[str, Any]] = []
    catch_assign: dict[str, str] = {}
    done_assign: dict[str, str] = {}  # no branch arrived: what each handed back
    handed_by_branch: list[list[str]] = []
    ends_without: list[bool] = []
    merge_bit = graph.bit(merge)
    try:
        for index, (root, bits) in enumerate(zip(ready, own, strict=True)):
            inner = RaceBranch("branch", passes_input=scope.passes_input, merge=merge, root=root)
            waiting = {n: sim.waiting[n] for n in graph.members(bits)}
            # The merge is the branch's last node: it waits for this branch's connections only.
            waiting[merge] = sum(1 for e in graph.incoming[merge] if bits & graph.bit(e.source))
            activated = (sim.activated & bits) | graph.bit(root)
            begin = build.go(inner, Sim(bits | merge_bit, activated, waiting, {root}, {}))
            ends_without.append(begin == EXIT or any(_exits(s.fields) for s in inner.states.values()))
            handed = list(dict.fromkeys(inner.assigned))
            handed_by_branch.append(handed)
            values = ", ".join(
                f"{literal(build.plan.variable_of(n))}: ${build.plan.variable_of(n)}" for n in handed
            )
            for arrived in inner.arrivals:
                inner.states[arrived].fields["Cause"] = "{% $string({" + values + "}) %}"
            branches.append(build.finish(inner, begin).to_json())
            for node in handed:
                variable = build.plan.variable_of(node)
                catch_assign[variable] = (
                    "{% ($v := $lookup($parse($states.errorOutput.Cause), "
                    + literal(variable)
                    + "); $exists($v) ? $v : null) %}"
                )
                # Absent when the branch went another way than through the node.
                done_assign[variable] = (
                    f"{{% ($v := $states.result[{index}].{variable}; $exists($v) ? $v : null) %}}"
                )
    finally:
        if not racing:
            build.racing.discard(merge)
    for handed in handed_by_branch:
        # The outputs a branch hands back share a Cause: each its part of CAUSE_ROOM.
        share = ceil(VARIABLE_ROOM * max(1, len(handed)) / CAUSE_ROOM)
        for node in handed:
            build.shares[node] = max(build.shares.get(node, 1), share)
    # Whether the Parallel may end without a winner: every branch can end without arriving.
    unwon = all(ends_without)
    lost = sim.copy() if unwon else None

    # On as parallel_step goes on: the branches' nodes are done; a winner: the merge runs.
    regions_done(build, sim, ready, every_own, merge_bit)

    from statemachines.machine.constructs import stop_catches, stops_within

    catch: dict[str, Any] = {"ErrorEquals": [error]}
    if catch_assign:
        catch["Assign"] = catch_assign
    if scope.passes_input:
        catch["Output"] = "{% $states.input %}"  # loop.* reads the iteration's input
    fields: dict[str, Any] = {
        "Branches": branches,
        "Catch": [*stop_catches(build, scope, stops_within(build, graph.members(every_own)), False), catch],
    }
    name = build.add(scope, build.name(f"race: {', '.join(ready)}"), State("Parallel", fields), None)
    handed_all = sorted(
        (n for n in build.plan.needed if build.plan.variable_of(n) in catch_assign), key=position
    )
    scope.assigned.extend(handed_all)
    for node in handed_all:
        build.homes.setdefault(node, []).append(scope)
    if lost is None:
        # Some branch always arrives, so the Parallel never goes on by its Next (which ASL
        # requires): one way on.
        return Step(name, [Outcome(sim, both(set_link(catch, "Next"), set_link(fields, "Next")))])
    # No branch arrived: the merge is not activated (skipped, with what only it leads to).
    regions_done(build, lost, ready, every_own, 0)
    if done_assign:
        fields["Assign"] = done_assign
    build.share(handed_all)  # the Parallel's result holds them all
    scope.ends[name] = {
        n: done_assign[build.plan.variable_of(n)].removeprefix("{% ").removesuffix(" %}") for n in handed_all
    }
    return Step(name, [Outcome(sim, set_link(catch, "Next")), Outcome(lost, set_link(fields, "Next"))])


def merge_step(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """A merge: no state of its own — but in a branch of its race, arriving there raises
    the race's error (its Cause is set once the branch is walked)."""
    merge = info.id
    if isinstance(scope, RaceBranch) and scope.merge == merge:
        others = sim.activated & sim.pending & ~build.graph.bit(merge)
        if others:
            raise RaceShapeError(
                f"a branch of merge '{merge}' (mode 'first') would arrive while "
                f"'{', '.join(build.graph.members(others))}' may still run in it: a branch's "
                "forks meet again before the merge",
                path=node_path(merge, "parameters", "mode"),
            )
        name = build.add(
            scope,
            build.name(f"{merge} ({scope.root} first)"),
            State("Fail", {"Error": RACE_ERROR + merge, "Cause": ""}),
            None,
        )
        scope.arrivals.append(name)
        complete(build.graph, sim, merge, Status.OK, frozenset())
        return Step(name, [])
    if merge in build.racing:  # reached in a Parallel nested in one of its branches
        raise RaceShapeError(
            f"a branch of merge '{merge}' (mode 'first') forks into paths that do not meet again "
            "before the merge: a branch's forks meet again before it",
            path=node_path(merge, "parameters", "mode"),
        )
    complete(build.graph, sim, merge, Status.OK, frozenset({"out"}))
    return Step(None, [Outcome(sim, None)])


def _check_shape(
    build: Build, ready: list[str], own: list[int], every_own: int, exits: list[Any], merge: str
) -> None:
    """The race's limits (module docstring), each a :class:`RaceShapeError`."""
    graph = build.graph
    path = node_path(merge, "parameters", "mode")
    if (
        any(e.target != merge for e in exits)
        or any(not any(e.source in graph.members(bits) for e in exits) for bits in own)
        or any(not every_own & graph.bit(e.source) for e in graph.incoming[merge])
    ):
        raise RaceShapeError(
            f"the branches of merge '{merge}' (mode 'first') must start together — from one node, "
            "or at the routine's start — and lead only to the merge",
            path=path,
        )
    for edge in exits:
        if not edge.fires_always:
            raise RaceShapeError(
                f"the connection from '{edge.source}' (port '{edge.port}') into merge '{merge}' "
                "(mode 'first') may not fire: a branch arrives through a connection that always "
                "fires (put a node between that port and the merge)",
                path=path,
            )
    below = build.plan.below
    merge_bit = graph.bit(merge)
    for root, bits in zip(ready, own, strict=True):
        for node in sorted(graph.members(bits), key=build.plan.position.__getitem__):
            info = build.infos[node]
            if below[node] & merge_bit or info.node.disabled or info.plugin.name == "stop":
                continue
            raise RaceShapeError(
                f"'{node}', in the branch from '{root}' to merge '{merge}' (mode 'first'), does not "
                "lead to the merge: a branch that does not arrive ends at a port left unconnected "
                "or at a stop (the race could not hand on that node's output)",
                path=path,
            )


def _exits(fields: dict[str, Any]) -> bool:
    """Whether a state of a branch ends it (a way out the walk left as EXIT)."""
    holders = [fields, *fields.get("Choices", []), *fields.get("Catch", [])]
    return any(h.get("Next") == EXIT for h in holders) or fields.get("Default") == EXIT


__all__ = ["RACE_ERROR", "RaceBranch", "RaceShapeError", "is_first_merge", "merge_step", "race_step"]
