"""A routine's checked nodes and connections as a graph, with what both the validator and
the compiler need to know about it: order, loop bodies, ancestry, what surely ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugins.sdk import Kind, PluginDefinition, Port, PortType
from statemachines.graph import (
    Edge,
    Graph,
    always_runs_before,
    ancestors,
    back_edges,
    must_run,
    reachable,
    topological_order,
)
from statemachines.model import Connection, Node

PASS_THROUGH_PORTS = ("out", "done", "default", "false", "rejected")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    node: Node
    plugin: PluginDefinition
    parameters: dict[str, Any]  # migrated to the plugin's current version

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def is_task(self) -> bool:
        return self.plugin.kind is Kind.TASK

    @property
    def pass_through_port(self) -> str:
        """The port a disabled node passes activation on through (its main way on)."""
        ports = {p.name for p in self.plugin.output_ports(self.parameters)}
        return next((p for p in PASS_THROUGH_PORTS if p in ports), "")


def make_edge(index: int, connection: Connection, source: NodeInfo, port: Port) -> Edge:
    routes_errors = source.node.on_error == "route"
    can_fire = not (port.type is PortType.ERROR and not routes_errors)
    if port.requires and source.parameters.get(port.requires) is None:
        can_fire = False
    # An output "always fires" if the node ran: plain outputs of nodes whose failures end
    # the execution (or are turned into output). Branches and error routes may not fire.
    fires_always = port.type in (PortType.MAIN, PortType.LOOP) and not routes_errors
    return Edge(
        index,
        connection.source_node_id,
        connection.source_port,
        connection.target_node_id,
        connection.target_port,
        port.type.value,
        fires_always,
        can_fire,
    )


@dataclass(slots=True)
class Topology:
    infos: dict[str, NodeInfo]
    graph: Graph
    cycles: list[tuple[Edge, list[str]]] = field(init=False)
    order: list[str] = field(init=False)
    loop_bodies: dict[str, set[str]] = field(init=False)
    enclosing: dict[str, tuple[str, ...]] = field(init=False)
    upstream: dict[str, int] = field(init=False)
    certain: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.cycles = back_edges(self.graph)
        self.order = topological_order(self.graph) if not self.cycles else []
        self.loop_bodies = {
            node_id: reachable(self.graph, [e.target for e in self.body_edges(node_id)])
            for node_id, info in self.infos.items()
            if any(p.type is PortType.LOOP for p in info.plugin.outputs)
        }
        self.enclosing = {n: self._loops_around(n) for n in self.graph.nodes}
        self.upstream = ancestors(self.graph, self.order) if self.order else {}
        self.certain = must_run(self.graph, self.order) if self.order else {}

    @property
    def acyclic(self) -> bool:
        return not self.cycles

    def body_edges(self, loop_id: str) -> list[Edge]:
        return [e for e in self.graph.outgoing[loop_id] if e.port_type == PortType.LOOP.value]

    def _loops_around(self, node_id: str) -> tuple[str, ...]:
        loops = [loop for loop, body in self.loop_bodies.items() if node_id in body]
        # Outer loops have larger bodies that contain the inner ones.
        return tuple(sorted(loops, key=lambda loop: -len(self.loop_bodies[loop])))

    def is_upstream(self, node_id: str, other: str) -> bool:
        return bool(self.upstream.get(node_id, 0) & self.graph.bit(other))

    def surely_ran(self, node_id: str, other: str) -> bool:
        return always_runs_before(self.graph, node_id, other, self.order, self.upstream, self.certain)
