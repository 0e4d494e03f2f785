"""``merge`` with ``mode: "first"`` in a JSONata machine (issue #27): parallel branches race,
the first to arrive wins, the others are cancelled. No Lambda.

One Parallel state, a branch per racing branch. Each branch ends, where it would hand its
outputs back, in a Fail state raising ``Routines.First.<merge>`` with those outputs (its
variables, as JSON text) as the Cause. The first error raised ends the Parallel — Step
Functions cancels the branches still running — and the Parallel's Catch of that error
assigns every branch's variables from the Cause: the winner's values, null for the others.
The merge itself is what it always is (no state; its output the outputs of its branches
that ran, by node id): ``{"<winner's last node>": output}``.

Limits, checked here (and at save time, which compiles): the branches start together (the
ready nodes of one point of the walk, all of them in the race) and lead only to the merge,
and each branch always arrives once it starts (no if, switch or error port on the way
to the merge: a branch that went another way would win with nothing). A Cause holds at
most 32,768 characters: the branches' plugin outputs get a share of that as their
``inlineBytes`` (larger ones go to S3 and travel as references); a loop's results or a
sub-routine's result in a branch are not offloaded and must fit.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from contract.errors import CompileError
from contract.jsonata.conditions import literal
from contract.problems import node_path
from statemachines.asl import State
from statemachines.machine.values import VARIABLE_ROOM
from statemachines.machine.walk import EXIT, Build, Outcome, Scope, Step, both, set_link
from statemachines.walk import Sim

RACE_ERROR = "Routines.First."  # + the merge's id
CAUSE_ROOM = 30_000  # of a Cause's 32,768 characters, for the outputs' values
GRAPH_ERROR = "invalid_parameter"


class RaceShapeError(CompileError):
    """A merge with mode "first" whose branches do not form one race (a user's error:
    reported as ``invalid_parameter`` at save time)."""

    code = GRAPH_ERROR


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
    shape = (
        f"the branches of merge '{merge}' (mode 'first') must start together — from one node, "
        "or at the routine's start — and lead only to the merge"
    )
    if any(e.target != merge for e in exits) or any(
        not any(e.source in graph.members(bits) for e in exits) for bits in own
    ):
        raise RaceShapeError(shape, path=node_path(merge, "parameters", "mode"))
    for root, bits in zip(ready, own, strict=True):
        if not _always_arrives(build, sim, root, bits, merge):
            raise RaceShapeError(
                f"the branch from '{root}' to merge '{merge}' (mode 'first') may not reach it (an "
                "if, a switch or an error port on the way): a race's branches always arrive",
                path=node_path(merge, "parameters", "mode"),
            )

    error = RACE_ERROR + merge
    build.races.add(merge)
    branches: list[dict[str, Any]] = []
    assign: dict[str, str] = {}
    handed_by_branch: list[list[str]] = []
    for root, bits in zip(ready, own, strict=True):
        inner = Scope("branch", passes_input=scope.passes_input)
        waiting = {n: sim.waiting[n] for n in graph.members(bits)}
        activated = (sim.activated & bits) | graph.bit(root)
        begin = build.go(inner, Sim(bits, activated, waiting, {root}, {}))
        handed = list(dict.fromkeys(inner.assigned))
        handed_by_branch.append(handed)
        values = ", ".join(
            f"{literal(build.plan.variable_of(n))}: ${build.plan.variable_of(n)}" for n in handed
        )
        # Where the branch would hand its outputs back: it arrived first (or not at all).
        arrived = build.add(
            inner,
            build.name(f"{merge} ({root} first)"),
            State("Fail", {"Error": error, "Cause": "{% $string({" + values + "}) %}"}),
            None,
        )
        for state in inner.states.values():
            _exits_to(state.fields, arrived)
        branches.append(build.finish(inner, arrived if begin == EXIT else begin).to_json())
        for node in handed:
            variable = build.plan.variable_of(node)
            assign[variable] = (
                "{% ($v := $lookup($parse($states.errorOutput.Cause), "
                + literal(variable)
                + "); $exists($v) ? $v : null) %}"
            )
    for handed in handed_by_branch:
        # The outputs a branch hands back share a Cause: each its part of CAUSE_ROOM.
        share = ceil(VARIABLE_ROOM * max(1, len(handed)) / CAUSE_ROOM)
        for node in handed:
            build.shares[node] = max(build.shares.get(node, 1), share)

    # On as parallel_step goes on: the branches' nodes are done, the merge surely runs.
    regions_done(build, sim, ready, every_own, graph.bit(merge))

    from statemachines.machine.constructs import stop_catches, stops_within

    catch: dict[str, Any] = {"ErrorEquals": [error]}
    if assign:
        catch["Assign"] = assign
    if scope.passes_input:
        catch["Output"] = "{% $states.input %}"  # loop.* reads the iteration's input
    fields: dict[str, Any] = {
        "Branches": branches,
        "Catch": [*stop_catches(build, scope, stops_within(build, graph.members(every_own)), False), catch],
    }
    name = build.add(scope, build.name(f"race: {', '.join(ready)}"), State("Parallel", fields), None)
    handed_all = sorted((n for n in build.plan.needed if build.plan.variable_of(n) in assign), key=position)
    scope.assigned.extend(handed_all)
    for node in handed_all:
        build.homes.setdefault(node, []).append(scope)
    # Every branch raises, so the Parallel never goes on by its Next (which ASL requires).
    return Step(name, [Outcome(sim, both(set_link(catch, "Next"), set_link(fields, "Next")))])


def _always_arrives(build: Build, sim: Sim, root: str, bits: int, merge: str) -> bool:
    """Whether, once ``root`` runs, the branch surely delivers to the merge: every node on
    the way runs, and its connections into the merge always fire."""
    graph = build.graph
    certain = graph.bit(root)
    for node in sorted(graph.members(bits), key=build.plan.position.__getitem__):
        if node == root:
            continue
        incoming = [e for e in graph.incoming[node] if bits & graph.bit(e.source)]
        if incoming and all(certain & graph.bit(e.source) and e.fires_always for e in incoming):
            certain |= graph.bit(node)
    into = [e for e in graph.incoming[merge] if bits & graph.bit(e.source)]
    return bool(into) and all(certain & graph.bit(e.source) and e.fires_always for e in into)


def _exits_to(fields: dict[str, Any], target: str) -> None:
    if fields.get("Next") == EXIT:
        fields["Next"] = target
    if fields.get("Default") == EXIT:
        fields["Default"] = target
    for holder in [*fields.get("Choices", []), *fields.get("Catch", [])]:
        if holder.get("Next") == EXIT:
            holder["Next"] = target


__all__ = ["RACE_ERROR", "RaceShapeError", "is_first_merge", "race_step"]
