"""The emitter's state and its liveness analysis: which outputs each node keeps, which
node statuses shape which states; plus adding and naming states."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from contract.errors import CompileError
from contract.problems import Problem, Warn, node_path
from statemachines.asl import State, StateMachine
from statemachines.emitter.scope import MAX_STATES, Scope
from statemachines.graph import iter_bits
from statemachines.layout import node_key
from statemachines.liveness import Reads, reads
from statemachines.naming import Namer
from statemachines.options import CompileOptions
from statemachines.slots import Slots
from statemachines.topology import NodeInfo, Topology
from statemachines.walk import Sim


class EmitterBase(ABC):
    def __init__(
        self,
        topology: Topology,
        variables: dict[str, Any],
        options: CompileOptions,
        keys: dict[str, str] | None = None,
        private: frozenset[str] = frozenset(),
    ) -> None:
        self.topology = topology
        self.graph = topology.graph
        self.infos = topology.infos
        self.variables = variables
        self.options = options
        self.namer = Namer(self.graph.nodes)
        self.position = {n: i for i, n in enumerate(topology.order)}
        self.state_nodes: dict[str, str] = {}
        self.warnings: dict[str, Problem] = {}
        self.state_count = 0
        self.reads: dict[str, Reads] = {n: reads(info) for n, info in self.infos.items()}
        self.kind = {n: self._output_kind(info) for n, info in self.infos.items()}
        self.alias_of = {n: self._sources(n) for n in self.infos if self.kind[n] == "alias"}
        self.results = {loop: self._result_node(loop, body) for loop, body in topology.loop_bodies.items()}
        self.touch = {n: self._touched(n) for n in self.infos}
        self.leaves = self._leaves()
        self.leaf_bits = self._bits(self._expanded(self.leaves))  # statuses the result depends on
        self.needed = self._needed()
        self.decided: dict[str, str] = {}  # if/switch nodes whose port is known at compile time
        self.routes: dict[str, dict[str, list[str]]] = {}  # Choice state → {next state: ports}
        self._choices: list[tuple[str, dict[str, Any], list[tuple[dict[str, Any], str]], str]] = []
        # The payload budget (statemachines.budget), applied once the walk is done:
        self.payloads: dict[str, list[dict[str, Any]]] = {}  # Lambda payloads by node
        self.pins: dict[str, set[tuple[str | int, ...]]] = {}  # paths native states read, by node
        self.guards: list[str] = []  # documents the operand being compiled reads (see _operand)
        self.evaluated: set[str] = set()  # control nodes whose evaluator answer is stored
        self.width = 1  # the most branches of any Parallel: its raw result copies the document
        self.sequential_reason: str | None = None  # why ready nodes were not made a Parallel
        self.chunked: set[str] = set()  # loops whose long lists run in chunks (emitter/bodies.py)
        # Rules on a loop's item count, known once the budget is: the rule, the items path,
        # and the evaluator payload whose field ("chunk", or "limit" to refuse) gets it.
        self.counts: list[tuple[dict[str, Any], str, dict[str, Any], str]] = []
        self.constant_lists: list[tuple[str, int]] = []  # loops over a constant list, read on
        self.below, self.future = self._closures()
        # Document slots (statemachines.slots): the key each stored output is written to.
        # The first pass shares slots between outputs that are never live together; the
        # second gets the final names in ``keys`` and allocates nothing.
        self.keys: dict[str, str] = dict(keys or {})
        self.fixed = keys is not None
        self.private = private  # nodes a conflict showed must keep a slot of their own
        self.slots = Slots(self._live_bits(), frozenset(self._expanded(self.leaves)))

    # --- analysis -------------------------------------------------------------------

    def _output_kind(self, info: NodeInfo) -> str:
        """stored: an output kept at node_<id>; alias: the outputs it passes on (a merge's
        object of them); none: null (a disabled node does not run, whatever it is)."""
        if info.node.disabled:
            return "none"
        if info.plugin.name == "merge":
            return "alias"
        if info.is_task or info.plugin.name in ("loop", "approval"):
            return "stored"
        return "none"

    def _sources(self, node_id: str) -> list[str]:
        seen: list[str] = []
        for edge in self.graph.incoming[node_id]:
            if edge.source not in seen:
                seen.append(edge.source)
        return seen

    def _result_node(self, loop: str, body: set[str]) -> str | None:
        """The body's last node: of the body itself (not of a loop nested in it), with no
        connection out of it but a nested loop's body port."""
        sinks = [
            n
            for n in body
            if self.topology.enclosing[n][-1] == loop
            and all(e.port_type == "loop" for e in self.graph.outgoing[n])
        ]
        return max(sinks, key=self.position.__getitem__) if sinks else None

    def _expand(self, node_id: str, into: set[str]) -> None:
        stack = [node_id]
        while stack:
            current = stack.pop()
            if current in into:
                continue
            into.add(current)
            stack.extend(self.alias_of.get(current, ()))

    def _touched(self, node_id: str) -> int:
        """Bitset of the nodes whose status shapes this node's states."""
        found: set[str] = set()
        for read in self.reads[node_id].nodes:
            self._expand(read, found)
        result = self.results.get(node_id)
        if result is not None:
            self._expand(result, found)
        return self._bits(found)

    def _expanded(self, nodes: list[str]) -> set[str]:
        found: set[str] = set()
        for node in nodes:
            self._expand(node, found)
        return found

    def _bits(self, nodes: set[str] | list[str]) -> int:
        bits = 0
        for n in nodes:
            bits |= self.graph.bit(n)
        return bits

    def _leaves(self) -> list[str]:
        """The nodes the execution's result is made of (DESIGN §3): outside loop bodies,
        with an output, and no connection out of them but from their error port (or a
        loop's body port: its 'done' is what leads on)."""
        return [
            n
            for n in self.topology.order
            if self.kind[n] != "none"
            and not self.topology.enclosing.get(n)
            and all(e.port_type in ("error", "loop") for e in self.graph.outgoing[n])
        ]

    def _needed(self) -> set[str]:
        """Nodes whose output must be kept in the document."""
        touched = 0
        for bits in self.touch.values():
            touched |= bits
        touched |= self.leaf_bits
        needed = {n for n in self.graph.members(touched) if self.kind[n] == "stored"}
        needed.update(n for n, info in self.infos.items() if info.plugin.name == "approval")
        return needed

    def _live_bits(self) -> dict[str, int]:
        """Per stored output: its own bit and those of the top-level nodes that read it (a
        reader inside a loop body counts as its outermost loop): while any is still to
        come, its slot is taken."""
        live = {n: self.graph.bit(n) for n in self.infos}
        for reader in self.infos:
            enclosing = self.topology.enclosing.get(reader)
            bit = self.graph.bit(enclosing[0] if enclosing else reader)
            for index in iter_bits(self.touch[reader]):
                live[self.graph.nodes[index]] |= bit
        return live

    def _key_of(self, node_id: str) -> str:
        """The document key holding ``node_id``'s output."""
        return self.keys.get(node_id) or node_key(node_id)

    def _doc_path(self, node_id: str) -> str:
        return f"$.{self._key_of(node_id)}"

    def _closures(self) -> tuple[dict[str, int], dict[str, int]]:
        below: dict[str, int] = {}
        future: dict[str, int] = {}
        for node in reversed(self.topology.order):
            b, f = self.graph.bit(node), self.touch[node]
            for edge in self.graph.outgoing[node]:
                b |= below[edge.target]
                f |= future[edge.target]
            below[node], future[node] = b, f
        return below, future

    # --- states and warnings ------------------------------------------------------------

    def _add(self, scope: Scope, name: str, state: State, node_id: str | None) -> str:
        self.state_count += 1
        if self.state_count > MAX_STATES:
            raise CompileError(
                f"the routine needs more than {MAX_STATES} states: too many conditional paths "
                "meet again with different data; use a merge node before reading their outputs"
            )
        scope.states[name] = state
        if node_id is not None:
            self.state_nodes[name] = node_id
        return name

    def _name(self, base: str, owner: str | None = None) -> str:
        return self.namer.take(base, owner)

    def _warn(self, node: str, message: str) -> None:
        """One not_series_parallel warning per node, however many paths reach it."""
        path = node_path(node)
        self.warnings.setdefault(path, Problem(Warn.NOT_SERIES_PARALLEL.value, path, message))

    # --- implemented by the walk driver (sub-scopes recurse through it) -------------------

    @abstractmethod
    def go(self, scope: Scope, sim: Sim) -> str:
        """Emit the states that run from this point of the simulation; return the first."""

    @abstractmethod
    def finish(self, scope: Scope, begin: str) -> StateMachine:
        """Resolve the scope's exits into a state machine."""


__all__ = ["EmitterBase"]
