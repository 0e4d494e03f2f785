"""The walk driver: follows the static simulation of :mod:`statemachines.walk`, hands each
ready node to its construct, and resolves each scope's exits."""

from __future__ import annotations

from typing import Any

from contract.errors import CompileError
from contract.problems import node_path
from statemachines.asl import StateMachine
from statemachines.emitter.branching import Branching
from statemachines.emitter.loops import Loops
from statemachines.emitter.parallel import Parallels
from statemachines.emitter.scope import Link, Outcome, Scope, Step
from statemachines.graph import iter_bits
from statemachines.layout import Status
from statemachines.walk import Sim, complete, start


class Emitter(Branching, Loops, Parallels):
    """A validated routine → a state machine: one instance per compilation."""

    def run(self) -> StateMachine:
        body_nodes = set().union(*self.topology.loop_bodies.values()) if self.topology.loop_bodies else set()
        members = activated = 0
        for node in self.graph.nodes:
            if node in body_nodes:
                continue
            members |= self.graph.bit(node)
            if not self.graph.incoming[node]:
                activated |= self.graph.bit(node)
        scope = Scope("top")
        begin = self.go(scope, start(self.graph, members, activated, {}))
        machine = self.finish(scope, begin)
        self.apply_budget()
        for name, fields, rules, default in self._choices:  # targets are final only now
            routes = self.routes.setdefault(name, {})
            for target, port in [(rule["Next"], port) for rule, port in rules] + [
                (fields["Default"], default)
            ]:
                if port not in routes.setdefault(target, []):
                    routes[target].append(port)
        return machine

    def go(self, scope: Scope, sim: Sim) -> str:
        """Emit the states that run from this point of the simulation; return the first.

        Branch outcomes are walked from a work list, not by recursion, so a routine of a
        thousand conditions in a row compiles within Python's recursion limit."""
        first: list[str] = []
        work: list[tuple[Sim, Link]] = [(sim, first.append)]
        while work:
            sim, link = work.pop()
            for outcome in reversed(self._walk(scope, sim, link)):
                assert outcome.link is not None
                work.append((outcome.sim, outcome.link))
        return first[0]

    def _walk(self, scope: Scope, sim: Sim, link: Link) -> list[Outcome]:
        """Emit states along one path until it ends, meets known states, or forks; link
        the first of them with ``link``; return the outcomes of a fork."""
        while True:
            self._skip_inactive(sim)
            key = self._key(scope, sim)
            target = scope.memo.get(key)
            if target is None and not sim.ready:
                target = self._exit(scope, sim)
            if target is not None:
                link(target)
                return []
            ready = sorted(sim.ready, key=self.position.__getitem__)
            step = self._parallel(scope, sim, ready) if len(ready) > 1 else None
            if step is None:
                if len(ready) > 1:
                    self._warn_sequential(ready)
                step = self._node(scope, sim, ready[0])
            if step.entry is not None:
                scope.memo[key] = step.entry
                link(step.entry)
            if len(step.outcomes) != 1:
                return step.outcomes  # a fork, or the end of the path (Fail, Succeed)
            sim = step.outcomes[0].sim
            link = step.outcomes[0].link or link

    def _skip_inactive(self, sim: Sim) -> None:
        while True:
            dead = [n for n in sim.ready if not sim.activated & self.graph.bit(n)]
            if not dead:
                return
            for node in dead:
                complete(self.graph, sim, node, Status.DEAD, frozenset())

    def _key(self, scope: Scope, sim: Sim) -> tuple[Any, ...]:
        relevant = 0
        for node in sim.ready:
            relevant |= self.future[node]
        if scope.result is not None:
            relevant |= self.touch[scope.owner]
        if scope.kind == "top":
            relevant |= self.leaf_bits  # the execution's result names what ran
        facts = tuple(
            (self.graph.nodes[i], sim.status.get(self.graph.nodes[i]))
            for i in iter_bits(relevant & sim.known)
        )
        return sim.pending, sim.activated & sim.pending, facts

    def _warn_sequential(self, ready: list[str]) -> None:
        reason = self.sequential_reason or (
            "their branches cross before they meet again, so no single Parallel state can hold them"
        )
        self.sequential_reason = None
        self._warn(ready[0], f"'{', '.join(ready)}' run one after another, not in parallel: {reason}")

    def _node(self, scope: Scope, sim: Sim, node_id: str) -> Step:
        info = self.infos[node_id]
        if info.node.disabled:
            return self._pass(sim, node_id, frozenset({info.pass_through_port}))
        if info.is_task:
            return self._task(scope, sim, info)
        handler = {
            "if": self._if,
            "switch": self._switch,
            "merge": lambda s, m, i: self._pass(m, i.id, frozenset({"out"})),
            "loop": self._loop,
            "wait": self._wait,
            "approval": self._approval,
            "stop": self._stop,
        }.get(info.plugin.name)
        if handler is None:
            hint = ": only JSONata machines run it" if info.plugin.name == "execute-routine" else ""
            raise CompileError(
                f"no compile rule for control node '{info.plugin.name}'{hint}", path=node_path(node_id)
            )
        return handler(scope, sim, info)


__all__ = ["Emitter"]
