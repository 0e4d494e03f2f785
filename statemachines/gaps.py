"""What earlier errors hid from later checks, so that later checks report only what is
certain: an error must never spawn false errors downstream of it.

A node that did not parse, or names an unknown plugin, still exists: references and
connections to it are not "unknown". A connection that could not be made leaves its
target's ancestry incomplete, and everything downstream of that target too: whether a
node there is upstream of another, reachable, or inside a loop body cannot be known, so
those checks stay silent there until the first error is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statemachines.document import Parts
from statemachines.graph import Graph, reachable


@dataclass(slots=True)
class Gaps:
    unseen: set[str] = field(default_factory=set)  # in the document, but not analysable
    ambiguous: set[str] = field(default_factory=set)  # ids of several nodes: which one is meant?
    cut_from: set[str] = field(default_factory=set)  # sources of connections not made
    cut_to: set[str] = field(default_factory=set)  # targets of connections not made
    blind: set[str] = field(default_factory=set)  # nodes whose ancestry is incomplete
    nodes_known: bool = True  # False: 'nodes' itself is unusable
    variables_known: bool = True  # False: 'variables' itself is unusable

    @classmethod
    def of(cls, parts: Parts) -> Gaps:
        gaps = cls(
            unseen=set(parts.broken_node_ids),
            ambiguous=set(parts.duplicate_ids),
            nodes_known=parts.nodes_known,
            variables_known=parts.variables_known,
        )
        for source, target in parts.broken_connections:
            gaps.cut(source, target)
        return gaps

    def cut(self, source: str | None, target: str | None) -> None:
        """A connection between these nodes was meant but could not be made."""
        if source is not None:
            self.cut_from.add(source)
        if target is not None:
            self.cut_to.add(target)

    def settle(self, graph: Graph) -> None:
        """Once the graph is built: everything downstream of a cut is blind."""
        self.blind = reachable(graph, [n for n in self.cut_to if n in graph.position])

    def knows_node(self, node_id: str) -> bool:
        """Could a reference to this id be judged (the node is analysable, or surely absent)?"""
        return self.nodes_known and node_id not in self.unseen and node_id not in self.ambiguous
