"""Parallel joins: several activated nodes → a Parallel state when their regions are
disjoint up to where they meet; branch documents are joined with States.JsonMerge."""

from __future__ import annotations

from typing import Any

from statemachines.asl import State, StateMachine
from statemachines.emitter.exits import Exits
from statemachines.emitter.scope import MAX_MERGED_BRANCHES, Outcome, Scope, Step, set_link
from statemachines.graph import Edge, iter_bits
from statemachines.layout import Status
from statemachines.walk import Sim


class Parallels(Exits):
    def _parallel(self, scope: Scope, sim: Sim, ready: list[str]) -> Step | None:
        reach = [self.below[r] & sim.pending for r in ready]
        own: list[int] = []
        for i, bits in enumerate(reach):
            others = 0
            for j, other in enumerate(reach):
                if j != i:
                    others |= other
            own.append(bits & ~others)
        every_own = 0
        for bits in own:
            every_own |= bits
        certain = [self._certain(sim, r, bits) for r, bits in zip(ready, own, strict=True)]
        all_certain = possible = 0
        for bits in certain:
            all_certain |= bits
        for root, bits in zip(ready, own, strict=True):
            possible |= self._possible(sim, root, bits)
        definite = self._joins_activated(sim, every_own, all_certain)
        if definite is None:
            return None
        if self._untold_merges(scope, sim, every_own, every_own & possible & ~all_certain):
            self.sequential_reason = (
                "a merge in one of their branches may or may not run, and after a Parallel "
                "state nothing would tell which"
            )
            return None
        stops = self._stops_within(self.graph.members(every_own))
        stop_catches = self._stop_catches(scope, sim, stops, catches_all=False)  # before sim moves on
        branches = []
        for root, bits in zip(ready, own, strict=True):
            branch_scope = Scope("branch", distributed=scope.distributed)
            waiting = {n: sim.waiting[n] for n in self.graph.members(bits)}
            activated = (sim.activated & bits) | self.graph.bit(root)
            branch_sim = Sim(bits, activated, waiting, {root}, dict(sim.status))
            begin = self.go(branch_scope, branch_sim)
            branches.append(self.finish(branch_scope, begin))
        defaults: dict[str, None] = {}
        for index in iter_bits(every_own):
            node = self.graph.nodes[index]
            mode = self.infos[node].node.on_error
            if all_certain & (1 << index):
                sim.record(self.graph, node, Status.OK if mode == "fail" else Status.ANY)
            elif not possible & (1 << index):
                sim.record(self.graph, node, Status.DEAD)  # nothing can activate it
            else:
                sim.record(self.graph, node, Status.UNSURE)
                if node in self.needed:
                    defaults[self._key_of(node)] = None
        for index in iter_bits(every_own):
            for edge in self.graph.outgoing[self.graph.nodes[index]]:
                target = edge.target
                if sim.pending & self.graph.bit(target) and not every_own & self.graph.bit(target):
                    sim.waiting[target] -= 1
                    if sim.waiting[target] == 0:
                        sim.ready.add(target)
        sim.pending &= ~every_own
        sim.activated = (sim.activated | definite) & sim.pending
        sim.ready -= set(ready)
        for node in sorted(sim.ready, key=self.position.__getitem__):
            waits_for = every_own & ~self.topology.upstream.get(node, 0)
            if waits_for:
                self._warn_join(node, self.graph.members(waits_for))
        name = self._name("parallel: " + ", ".join(ready))
        fields = self._merge_fields(name, branches, defaults)
        if stop_catches:
            fields["Catch"] = stop_catches
        self._add(scope, name, State("Parallel", fields), None)
        return Step(name, [Outcome(sim, set_link(fields, "Next"))])

    def _certain(self, sim: Sim, root: str, members: int) -> int:
        """Nodes of a branch that surely run once its first node runs."""
        certain = self.graph.bit(root)
        for node in sorted(self.graph.members(members), key=self.position.__getitem__):
            bit = self.graph.bit(node)
            if sim.activated & bit or any(
                certain & self.graph.bit(e.source) and e.fires_always and e.can_fire
                for e in self.graph.incoming[node]
            ):
                certain |= bit
        return certain

    def _untold_merges(self, scope: Scope, sim: Sim, every_own: int, unsure: int) -> bool:
        """Whether a merge that may or may not run in a branch, and that matters after the
        join (read there, or part of the result), has only sources without a kept output
        (if/switch/approval, disabled nodes): the joined document could not tell whether
        it ran."""
        later = self.touch[scope.owner] if scope.result is not None else self.leaf_bits
        for node in self.graph.members(sim.pending & ~every_own):
            later |= self.touch[node]
        for node in self.graph.members(unsure & later):
            if self.kind[node] == "alias" and not any(self.kind[s] == "stored" for s in self.alias_of[node]):
                return True
        return False

    def _possible(self, sim: Sim, root: str, members: int) -> int:
        """Nodes of a branch that may run: the root, and those an active connection or
        one that can fire from a node that may run leads to (a disabled node fires its
        pass-through port only)."""
        possible = self.graph.bit(root)
        for node in sorted(self.graph.members(members), key=self.position.__getitem__):
            bit = self.graph.bit(node)
            if sim.activated & bit or any(self._may_fire(e, possible) for e in self.graph.incoming[node]):
                possible |= bit
        return possible

    def _may_fire(self, edge: Edge, possible: int) -> bool:
        source = self.infos[edge.source]
        if source.node.disabled and edge.port != source.pass_through_port:
            return False
        return bool(possible & self.graph.bit(edge.source)) and edge.can_fire

    def _joins_activated(self, sim: Sim, every_own: int, certain: int) -> int | None:
        """Which nodes after the branches surely run; None if that depends on the branches."""
        definite = maybe = 0
        for source in self.graph.members(every_own):  # only connections out of the branches
            for edge in self.graph.outgoing[source]:
                bit = self.graph.bit(edge.target)
                if not sim.pending & bit or every_own & bit:
                    continue
                if certain & self.graph.bit(source) and edge.fires_always and edge.can_fire:
                    definite |= bit
                elif edge.can_fire:
                    maybe |= bit
        if maybe & ~(definite | sim.activated):
            return None
        return definite

    def _merge_fields(
        self, name: str, branches: list[StateMachine], defaults: dict[str, None]
    ) -> dict[str, Any]:
        machines = [b.to_json() for b in branches]
        if defaults:
            # First in the merge, so every branch's real output wins over the null default.
            pass_name = self._name(f"{name} (defaults)")
            self.state_count += 1
            machines.insert(
                0,
                {
                    "StartAt": pass_name,
                    "States": {pass_name: {"Type": "Pass", "Result": defaults, "End": True}},
                },
            )
        while len(machines) > MAX_MERGED_BRANCHES:
            # Fold the tail into a nested Parallel: JsonMerge calls nest one level per branch.
            tail = machines[MAX_MERGED_BRANCHES - 1 :]
            nested = self._name(f"{name} (more)")
            self.state_count += 1
            nested_state = {"Type": "Parallel", **self._join(tail), "End": True}
            machines = [
                *machines[: MAX_MERGED_BRANCHES - 1],
                {"StartAt": nested, "States": {nested: nested_state}},
            ]
        self.width = max(self.width, len(machines))
        return self._join(machines)

    @staticmethod
    def _join(machines: list[dict[str, Any]]) -> dict[str, Any]:
        merged = "$[0]"
        for index in range(1, len(machines)):
            merged = f"States.JsonMerge({merged}, $[{index}], false)"
        return {
            "Branches": machines,
            "ResultSelector": {"document.$": merged},
            "ResultPath": "$",
            "OutputPath": "$.document",
        }

    def _warn_join(self, node: str, needless: list[str]) -> None:
        self._warn(
            node,
            f"'{node}' also waits for '{', '.join(needless)}', which it does not depend on: "
            "the branches cross, so they are joined before it",
        )


__all__ = ["Parallels"]
