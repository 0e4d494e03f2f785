"""Graph analysis of a routine: pure functions over node ids and typed edges.

Everything here is independent of ASL; the validator and the compiler both build on it.
Node sets are Python ints used as bitsets (bit i = i-th node in document order), which
keeps ancestor and must-run computations fast on routines of thousands of nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


def iter_bits(bits: int) -> list[int]:
    """Positions of the set bits, lowest first."""
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


@dataclass(frozen=True, slots=True)
class Edge:
    index: int  # position in the document's connections
    source: str
    port: str
    target: str
    target_port: str = "in"
    port_type: str = "main"
    fires_always: bool = True  # False: a branch, an error route, a port that may not fire
    can_fire: bool = True  # False: e.g. the error port of a node that does not route errors


@dataclass(slots=True)
class Graph:
    nodes: list[str]
    edges: list[Edge]
    position: dict[str, int] = field(init=False)
    outgoing: dict[str, list[Edge]] = field(init=False)
    incoming: dict[str, list[Edge]] = field(init=False)

    def __post_init__(self) -> None:
        self.position = {n: i for i, n in enumerate(self.nodes)}
        self.outgoing = {n: [] for n in self.nodes}
        self.incoming = {n: [] for n in self.nodes}
        for edge in self.edges:
            self.outgoing[edge.source].append(edge)
            self.incoming[edge.target].append(edge)

    def bit(self, node: str) -> int:
        return 1 << self.position[node]

    def members(self, bits: int) -> list[str]:
        """Node ids of a bitset, in document order; cost grows with the members, not the graph."""
        return [self.nodes[i] for i in iter_bits(bits)]

    def roots(self) -> list[str]:
        return [n for n in self.nodes if not self.incoming[n]]

    def sinks(self) -> list[str]:
        return [n for n in self.nodes if not self.outgoing[n]]


def back_edges(graph: Graph) -> list[tuple[Edge, list[str]]]:
    """One edge per cycle found by an iterative DFS in document order, with the cycle."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    found: list[tuple[Edge, list[str]]] = []
    for start in graph.nodes:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            out = graph.outgoing[node]
            if i == len(out):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, i + 1)
            edge = out[i]
            seen = state.get(edge.target)
            if seen == 1:
                found.append((edge, [*path[path.index(edge.target) :], edge.target]))
            elif seen is None:
                state[edge.target] = 1
                stack.append((edge.target, 0))
                path.append(edge.target)
    return found


def topological_order(graph: Graph, skip: Iterable[Edge] = ()) -> list[str]:
    """Kahn's order, ties broken by document order so the result is deterministic."""
    import heapq

    ignored = {e.index for e in skip}
    indegree = {n: 0 for n in graph.nodes}
    for edge in graph.edges:
        if edge.index not in ignored:
            indegree[edge.target] += 1
    ready = [graph.position[n] for n in graph.nodes if indegree[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = graph.nodes[heapq.heappop(ready)]
        order.append(node)
        for edge in graph.outgoing[node]:
            if edge.index in ignored:
                continue
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                heapq.heappush(ready, graph.position[edge.target])
    return order


def ancestors(graph: Graph, order: list[str]) -> dict[str, int]:
    """For each node, the bitset of nodes with a path to it (itself excluded)."""
    result: dict[str, int] = {}
    for node in order:
        bits = 0
        for edge in graph.incoming[node]:
            bits |= result.get(edge.source, 0) | graph.bit(edge.source)
        result[node] = bits
    return result


def reachable(graph: Graph, starts: Iterable[str], follow: set[int] | None = None) -> set[str]:
    """Nodes reachable from ``starts`` (included), over edges whose index is in ``follow``."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for edge in graph.outgoing[queue.popleft()]:
            if (follow is None or edge.index in follow) and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def live_nodes(graph: Graph) -> set[str]:
    """Nodes that can run: roots, and targets of edges that can fire from a live node."""
    seen = set(graph.roots())
    queue = deque(seen)
    while queue:
        for edge in graph.outgoing[queue.popleft()]:
            if edge.can_fire and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def must_run(graph: Graph, order: list[str]) -> dict[str, int]:
    """For each node N, a bitset of nodes that have certainly run whenever N runs.

    N runs only if one of its incoming connections delivered, so whatever all of its
    predecessors have in common has run too (the intersection of their sets). Roots start
    with the execution, so they have run before anything else finishes.
    """
    roots = 0
    for root in graph.roots():
        roots |= graph.bit(root)
    result: dict[str, int] = {}
    for node in order:
        incoming = graph.incoming[node]
        common = -1 if incoming else 0
        for edge in incoming:
            common &= result.get(edge.source, 0)
        result[node] = common | graph.bit(node) | roots
    return result


def always_runs_before(
    graph: Graph, node: str, other: str, order: list[str], upstream: dict[str, int], certain: dict[str, int]
) -> bool:
    """Has ``other`` (upstream of ``node``) certainly run whenever ``node`` runs?

    Beyond :func:`must_run`: a node whose predecessor certainly ran over a connection that
    always fires (a parallel branch) has run too, because ``node`` waits for it.
    """
    known = certain[node]
    if known & graph.bit(other):
        return True
    scope = upstream[node]
    for candidate in order:
        bit = graph.bit(candidate)
        if not scope & bit or known & bit:
            continue
        if any(e.fires_always and known & graph.bit(e.source) for e in graph.incoming[candidate]):
            known |= bit
    return bool(known & graph.bit(other))


def is_series_parallel(sources: list[str], edges: list[tuple[str, str]], sinks: list[str]) -> bool:
    """Two-terminal series-parallel test by series/parallel reduction (parallel edges merge).

    A virtual source feeds ``sources`` and a virtual sink drains ``sinks``; the graph is
    series-parallel iff the reductions leave the single edge source → sink.
    """
    start, end = "\x00start", "\x00end"
    succ: dict[str, set[str]] = {}
    pred: dict[str, set[str]] = {}

    def link(a: str, b: str) -> None:
        succ.setdefault(a, set()).add(b)
        pred.setdefault(b, set()).add(a)
        succ.setdefault(b, set())
        pred.setdefault(a, set())

    for s in sources:
        link(start, s)
    for a, b in edges:
        link(a, b)
    for t in sinks:
        link(t, end)
    work = deque(n for n in succ if n not in (start, end))
    while work:
        node = work.popleft()
        if node not in succ or len(pred[node]) != 1 or len(succ[node]) != 1:
            continue
        (before,), (after,) = pred.pop(node), succ.pop(node)
        succ[before].discard(node)
        pred[after].discard(node)
        link(before, after)
        work.extend(n for n in (before, after) if n not in (start, end))
    return set(succ) == {start, end} and succ[start] == {end}
