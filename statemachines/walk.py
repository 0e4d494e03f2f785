"""The static simulation the compiler walks: which nodes are still to come, which of them
have been activated, and what is known about the ones that are done.

The routine's semantics (DESIGN §3) are simulated at compile time. A node whose incoming
connections are all resolved either runs (some connection is active) or is skipped (none
is); a branch point forks the simulation, one copy per outcome. Two copies that reach the
same situation — same nodes to come, same activations, same facts about everything still
to be read — continue as the same states, which is how exclusive branches meet again in a
shared join without any bookkeeping at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statemachines.graph import Graph
from statemachines.layout import Status


@dataclass(slots=True)
class Sim:
    pending: int  # bitset of nodes of the current scope still to come
    activated: int  # bitset of pending nodes with at least one active incoming connection
    waiting: dict[str, int]  # unresolved incoming connections per pending node
    ready: set[str]  # pending nodes whose incoming connections are all resolved
    status: dict[str, Status] = field(default_factory=dict)
    known: int = 0  # bitset of the nodes in ``status``

    def copy(self) -> Sim:
        return Sim(
            self.pending, self.activated, dict(self.waiting), set(self.ready), dict(self.status), self.known
        )

    def record(self, graph: Graph, node: str, status: Status) -> None:
        self.status[node] = status
        self.known |= graph.bit(node)


def start(graph: Graph, members: int, activated: int, status: dict[str, Status]) -> Sim:
    """A simulation of the nodes in ``members`` (a bitset), counting only connections
    between members: a loop body's connections from its loop node are its activation."""
    waiting: dict[str, int] = {}
    for node in graph.members(members):
        waiting[node] = sum(1 for e in graph.incoming[node] if members & graph.bit(e.source))
    ready = {n for n, count in waiting.items() if count == 0}
    known = 0
    for node in status:
        known |= graph.bit(node)
    return Sim(members, activated, waiting, ready, dict(status), known)


def complete(graph: Graph, sim: Sim, node: str, status: Status, fired: frozenset[str]) -> None:
    """Record that ``node`` is done with ``status``; connections from ``fired`` ports are
    active, all others are resolved as inactive."""
    bit = graph.bit(node)
    sim.pending &= ~bit
    sim.activated &= ~bit
    sim.ready.discard(node)
    sim.record(graph, node, status)
    for edge in graph.outgoing[node]:
        target = edge.target
        if not sim.pending & graph.bit(target):
            continue  # outside this scope (a loop node's body) or already done
        if edge.port in fired and edge.can_fire:
            sim.activated |= graph.bit(target)
        sim.waiting[target] -= 1
        if sim.waiting[target] == 0:
            sim.ready.add(target)
