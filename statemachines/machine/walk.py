"""The emit state and the walk: follows the static simulation of :mod:`statemachines.walk`,
hands each ready node to its construct (:mod:`statemachines.machine.constructs`), and ends
each scope.

Two points of the walk continue as the same states when the same nodes are still to come
with the same activations. Facts about finished nodes do not matter here — a node that did
not run reads ``null`` from its variable at run time — so exclusive branches always meet
again in one state (no copies of what follows a merge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract.jsonata.conditions import literal
from contract.problems import Problem, Warn, node_path
from statemachines.asl import State, StateMachine
from statemachines.layout import Status
from statemachines.machine.plan import Plan
from statemachines.machine.values import SCOPE_LIMIT, SCOPE_SLACK, VARIABLE_ROOM, RootText
from statemachines.naming import Namer
from statemachines.walk import Sim, complete

EXIT = "\x00exit"
Link = Callable[[str], None]


@dataclass(slots=True)
class Outcome:
    sim: Sim
    link: Link | None  # sets the Next of whatever leads on; None: the node emitted no state


@dataclass(slots=True)
class Step:
    entry: str | None  # the node's first state (None when it compiles to no state)
    outcomes: list[Outcome]


@dataclass(slots=True)
class Scope:
    """One state graph under construction: the top level, a Parallel branch, an iteration."""

    kind: str  # "top" | "branch" | "map" (a loop's iteration)
    result: str | None = None  # map: the node whose output is the iteration's result
    # Inside a loop's iteration every state hands its input on: the iteration's
    # {item, index, iteration}, which loop.* reads as $states.input.
    passes_input: bool = False
    states: dict[str, State] = field(default_factory=dict)
    memo: dict[Any, str] = field(default_factory=dict)
    assigned: list[str] = field(default_factory=list)  # nodes whose variables this scope assigns
    ends: dict[str, dict[str, Any]] = field(default_factory=dict)  # state → what its Output replaces


def set_link(fields: dict[str, Any], key: str) -> Link:
    def link(target: str) -> None:
        fields[key] = target

    return link


def both(*links: Link) -> Link:
    def link(target: str) -> None:
        for each in links:
            each(target)

    return link


class Build:
    """The emit state of one compilation: names, states by scope, the report's maps."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.graph = plan.graph
        self.infos = plan.topology.infos
        self.root_text = RootText(plan)
        self.namer = Namer(self.graph.nodes)
        self.state_nodes: dict[str, str] = {}
        self.choices: list[tuple[str, dict[str, Any], list[tuple[dict[str, Any], str]], str]] = []
        self.warnings: dict[str, Any] = {}
        self.decided: dict[str, str] = {}  # if/switch nodes whose port is known at compile time
        self.races: set[str] = set()  # merges with mode "first" built as a race
        self.racing: set[str] = set()  # those whose branches are being walked (race.merge_step)
        # The scopes whose own states assign each node's variable (a node may be emitted on
        # several paths). Only a variable assigned in one scope alone may be set to null
        # when that scope starts: a scope nested in it (a branch, an iteration) must not
        # assign a variable its outer scope already holds (IllegalOuterScopeWrite).
        self.homes: dict[str, list[Scope]] = {}
        # Each Task's Arguments by node, and how many outputs share a payload with the
        # node's (a Parallel handing several back, a reader of several): its output is
        # offloaded above its share of a variable's room (set by ``share_room``).
        self.task_args: dict[str, list[dict[str, Any]]] = {}
        self.shares: dict[str, int] = {}
        self.per_item: dict[str, str] = {}  # an iteration's result node → its loop's count text
        # An iteration's result node → what decides, given its room, whether a result
        # over its share goes to S3 apart, and how ("list", "until"; None: not at all),
        # writing the loop's Assigns to match (statemachines/machine/stored.py).
        self.spills: dict[str, Callable[[int], str | None]] = {}

    # --- states -----------------------------------------------------------------------

    def add(self, scope: Scope, name: str, state: State, node_id: str | None) -> str:
        scope.states[name] = state
        if node_id is not None:
            self.state_nodes[name] = node_id
        return name

    def name(self, base: str, owner: str | None = None) -> str:
        return self.namer.take(base, owner)

    def assigns(self, scope: Scope, node_id: str) -> bool:
        """Whether a node's output is kept (someone reads it); notes it in the scope."""
        if node_id not in self.plan.needed:
            return False
        scope.assigned.append(node_id)
        self.homes.setdefault(node_id, []).append(scope)
        return True

    def share(self, nodes: list[str]) -> None:
        """These outputs travel in one payload (at most a variable's room together)."""
        for node in nodes:
            self.shares[node] = max(self.shares.get(node, 1), len(nodes))

    def share_room(self) -> None:
        """Each Task's ``inlineBytes``: its share of a variable's room — and, for the node
        whose output is a loop iteration's result, its share of the loop's result list."""
        plan = self.plan
        self.share(list(plan.leaves))  # the execution's result holds them all
        for node, read in plan.reads.items():
            sources = [s for n in read for s in plan.sources.get(n, (n,))]
            if self.infos[node].is_task:
                self.share(sources)
        cap = self.scope_room()
        for node, payloads in self.task_args.items():
            room = min(VARIABLE_ROOM // self.shares.get(node, 1), cap)
            count = self.per_item.get(node)
            spill = self.spills[node](room) if node in self.spills else None
            for args in payloads:
                args["inlineBytes"] = (
                    room if count is None else "{% " + f"$floor({room} / $max([1, {count}]))" + " %}"
                )
                if spill is not None:
                    args["loopResult"] = spill  # stored apart when its share is too small
                    args["run"] = "{% $states.input.run %}"  # ... under the loop run's name

    def scope_room(self) -> int:
        """The most one Task output may hold so that every stored output fits in a scope's
        10 MiB at once. Counted as if all were alive together (a loop's iterations, a
        branch and the top level alike): sound, if cautious for long routines, whose larger
        outputs then go to S3 sooner."""
        plan = self.plan
        stored = [n for n in plan.needed if n in plan.variable]
        bounded = [n for n in stored if n in self.task_args or n in plan.results]
        unbounded = len(stored) - len(bounded)
        free = SCOPE_LIMIT - SCOPE_SLACK - unbounded * VARIABLE_ROOM
        return max(1024, free // max(1, len(bounded)))

    # --- the walk ---------------------------------------------------------------------

    def go(self, scope: Scope, sim: Sim) -> str:
        """Emit the states that run from this point of the simulation; return the first.
        Forks are walked from a work list, not by recursion."""
        first: list[str] = []
        work: list[tuple[Sim, Link]] = [(sim, first.append)]
        while work:
            sim, link = work.pop()
            for outcome in reversed(self._walk(scope, sim, link)):
                assert outcome.link is not None
                work.append((outcome.sim, outcome.link))
        return first[0]

    def _walk(self, scope: Scope, sim: Sim, link: Link) -> list[Outcome]:
        from statemachines.machine.constructs import node_step, parallel_step

        while True:
            self._skip_inactive(sim)
            key = (sim.pending, sim.activated & sim.pending)
            target = scope.memo.get(key)
            if target is None and not sim.ready:
                target = EXIT
            if target is not None:
                link(target)
                return []
            ready = sorted(sim.ready, key=self.plan.position.__getitem__)
            step = parallel_step(self, scope, sim, ready) if len(ready) > 1 else None
            if step is None:
                if len(ready) > 1:
                    self._warn_sequential(ready)
                step = node_step(self, scope, sim, ready[0])
            if step.entry is not None:
                scope.memo[key] = step.entry
                link(step.entry)
            if len(step.outcomes) != 1:
                return step.outcomes
            sim = step.outcomes[0].sim
            link = step.outcomes[0].link or link

    def _warn_sequential(self, ready: list[str]) -> None:
        """One not_series_parallel warning per node, however many paths reach it."""
        path = node_path(ready[0])
        message = (
            f"'{', '.join(ready)}' run one after another, not in parallel: their branches cross "
            "before they meet again, so no single Parallel state can hold them"
        )
        self.warnings.setdefault(path, Problem(Warn.NOT_SERIES_PARALLEL.value, path, message))

    def _skip_inactive(self, sim: Sim) -> None:
        while True:
            dead = [n for n in sim.ready if not sim.activated & self.graph.bit(n)]
            if not dead:
                return
            for node in dead:
                complete(self.graph, sim, node, Status.DEAD, frozenset())

    # --- ends of scopes ---------------------------------------------------------------

    def finish(self, scope: Scope, begin: str) -> StateMachine:
        """Resolve the scope's exits (End with the scope's Output where the state can end,
        else a shared Succeed), and set every variable read later to null at the start."""
        terminal: list[str] = []

        def end_state() -> str:
            if not terminal:
                name = self.name(
                    "Done" if scope.kind == "top" else ("branch done" if begin == EXIT else f"{begin} done")
                )
                self.add(scope, name, State("Succeed", {"Output": self.output(scope, {})}), None)
                terminal.append(name)
            return terminal[0]

        for name, state in list(scope.states.items()):
            fields = state.fields
            if fields.get("Next") == EXIT:
                if state.type == "Choice":
                    fields["Next"] = end_state()
                else:
                    del fields["Next"]
                    fields["End"] = True
                    fields["Output"] = self.output(scope, scope.ends.get(name, {}))
            for rule in fields.get("Choices", []):
                if rule["Next"] == EXIT:
                    rule["Next"] = end_state()
            if fields.get("Default") == EXIT:
                fields["Default"] = end_state()
            for catch in fields.get("Catch", []):
                if catch["Next"] == EXIT:
                    catch["Next"] = end_state()
        if begin == EXIT:
            begin = end_state()
        if scope.passes_input:
            for state in scope.states.values():
                if state.type in ("Task", "Parallel", "Map", "Wait", "Pass") and "Output" not in state.fields:
                    state.fields["Output"] = "{% $states.input %}"
                for catch in state.fields.get("Catch", []):
                    # A Catch hands on the error by default, not the iteration's input.
                    catch.setdefault("Output", "{% $states.input %}")
        self._initialise(scope, begin)
        return StateMachine(begin, scope.states)

    def output(self, scope: Scope, replace: dict[str, str]) -> str:
        """The scope's value: the execution's result (the leaves that ran), or what a
        branch hands back (the outputs it assigned that are read later). ``replace``: the
        text of a node whose variable this very state assigns (Output sees the old value)."""
        if scope.kind == "map":
            result = scope.result
            return "{% " + (replace.get(result) or self.root_text.node(result) if result else "null") + " %}"
        nodes = list(self.plan.leaves) if scope.kind == "top" else list(dict.fromkeys(scope.assigned))
        if scope.kind == "branch":  # handed back by variable name, read so by the Parallel
            handed = ", ".join(
                f"{literal(self.plan.variable_of(n))}: {replace.get(n) or '$' + self.plan.variable_of(n)}"
                for n in nodes
            )
            return "{% {" + handed + "} %}"
        entries = ", ".join(f"{literal(n)}: {replace.get(n) or self.root_text.node(n)}" for n in nodes)
        return "{% ($r := $sift({" + entries + "}, function($v) { $v != null }); $exists($r) ? $r : {}) %}"

    def _initialise(self, scope: Scope, begin: str) -> None:
        """Null for every variable of this scope that is read later, in the first state's
        Assign (every way out of it): a node that does not run then reads null. At the top
        level, not for outputs assigned before any reader on every path (Plan.certain)."""
        start = scope.states[begin]
        own = self.state_nodes.get(begin)
        certain = self.plan.certain if scope.kind == "top" else frozenset()
        nulls = {
            self.plan.variable_of(n): None
            for n in dict.fromkeys(scope.assigned)
            if n != own and n not in certain and all(home is scope for home in self.homes.get(n, ()))
        }
        if not nulls or start.type in ("Succeed", "Fail"):
            return
        holders = [start.fields] if start.type != "Choice" else []
        holders += start.fields.get("Choices", [])
        if start.type == "Choice":
            holders.append(start.fields)  # the Default's way out
        holders += start.fields.get("Catch", [])
        for holder in holders:
            # In place: share_room still writes into some of these Assigns (loops' counts).
            assign = holder.setdefault("Assign", {})
            merged = {**nulls, **assign}
            assign.clear()
            assign.update(merged)


__all__ = ["EXIT", "Build", "Outcome", "Scope", "Step", "both", "set_link"]
