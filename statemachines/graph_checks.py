"""Whole-graph checks of the validator: cycles, reachability, loop bodies, error routes and
the series-parallel shape. They stay silent where earlier errors left the graph incomplete
(:class:`~statemachines.gaps.Gaps`)."""

from __future__ import annotations

from contract.problems import Code, Report, Warn, connection_path, join_path, node_path
from statemachines.document import Parts
from statemachines.gaps import Gaps
from statemachines.graph import Graph, is_series_parallel, live_nodes
from statemachines.topology import Topology


def graph_checks(topology: Topology, parts: Parts, report: Report, gaps: Gaps) -> None:
    graph = topology.graph
    for edge, cycle in topology.cycles:
        report.error(
            Code.CYCLE,
            connection_path(edge.index),
            f"this connection closes a cycle: {' → '.join(cycle)} (use a loop node to repeat work)",
        )
    # Reachability as if the reported cycle-closing connections were gone: a cycle must not
    # make every node after it "unreachable" as well.
    closing = {edge.index for edge, _ in topology.cycles}
    live = live_nodes(Graph(graph.nodes, [e for e in graph.edges if e.index not in closing]))
    for node_id in graph.nodes:
        if node_id not in live and node_id not in gaps.blind:
            report.error(Code.UNREACHABLE_NODE, node_path(node_id), _why_unreachable(topology, node_id))
    for loop_id, body in topology.loop_bodies.items():
        _check_loop_body(topology, loop_id, body, report, gaps)
    routed = {c.source_node_id for _, c in parts.connections if c.source_port == "error"}
    for info in topology.infos.values():
        if info.node.on_error == "route" and info.id not in routed:
            report.warn(
                Warn.ERROR_PORT_UNCONNECTED,
                join_path(node_path(info.id), "onError"),
                "onError is 'route' but nothing is connected to the error port; "
                "errors will fail the execution",
            )
    if topology.acyclic and report.valid and not _series_parallel(topology):
        report.warn(
            Warn.NOT_SERIES_PARALLEL,
            "connections",
            "parallel branches cross each other; the compiler serialises some of them "
            "(correct, but less parallel)",
        )


def _why_unreachable(topology: Topology, node_id: str) -> str:
    dead = [e for e in topology.graph.incoming[node_id] if not e.can_fire]
    if dead:
        edge = dead[0]
        source = topology.infos[edge.source]
        if edge.port_type == "error":
            return (
                f"'{node_id}' is reached only through the error port of '{edge.source}', which never "
                f"fires because its onError is '{source.node.on_error}' (set onError: route)"
            )
        return (
            f"'{node_id}' is reached only through port '{edge.port}' of '{edge.source}', which never "
            f"fires with the current parameters"
        )
    return f"'{node_id}' is reached only from nodes that can never run"


# Nodes that cannot run in a distributed loop's iterations, which are child executions: a
# stop cannot end the parent execution from there (the Map fails with its tolerated-failure
# error, never the stop's), and a sub-routine's call depth does not reach them.
NOT_IN_DISTRIBUTED_LOOPS = {
    "stop": "a stop cannot end the execution from a distributed loop's iterations (child executions)",
    "execute-routine": "a sub-routine cannot be called from a distributed loop's iterations yet",
}


def _check_loop_body(topology: Topology, loop_id: str, body: set[str], report: Report, gaps: Gaps) -> None:
    if topology.infos[loop_id].parameters.get("mode") == "distributed":
        for node_id in sorted(body, key=topology.graph.position.__getitem__):
            why = NOT_IN_DISTRIBUTED_LOOPS.get(topology.infos[node_id].plugin.name)
            if why is not None:
                report.error(
                    Code.INVALID_PARAMETER,
                    node_path(node_id),
                    f'{why}: make loop \'{loop_id}\' inline (no "mode": "distributed"), '
                    "or move the node after the loop",
                )
    body_edges = {e.index for e in topology.body_edges(loop_id)}
    if not body_edges and loop_id not in gaps.cut_from:
        report.warn(
            Warn.EMPTY_LOOP_BODY,
            node_path(loop_id),
            "nothing is connected to the 'body' port; the loop returns its items unchanged",
        )
    for node_id in sorted(body, key=topology.graph.position.__getitem__):
        incoming = topology.graph.incoming[node_id]
        outside = [e for e in incoming if e.source not in body and e.index not in body_edges]
        if not outside or node_id in gaps.blind:
            continue
        for edge in incoming:
            if edge.source in body or edge.index in body_edges:
                report.error(
                    Code.LOOP_BODY_ESCAPE,
                    connection_path(edge.index),
                    f"the body of loop '{loop_id}' connects to '{node_id}', which also runs outside "
                    f"the loop (from '{outside[0].source}'); a body ends at its last node, "
                    "continue from 'done'",
                )


def _series_parallel(topology: Topology) -> bool:
    """Series-parallel test per region: the top level and each loop body separately."""
    graph = topology.graph
    body_edge_ids = {e.index for loop in topology.loop_bodies for e in topology.body_edges(loop)}
    regions: dict[str | None, list[str]] = {}
    for node_id in graph.nodes:
        regions.setdefault(
            topology.enclosing[node_id][-1] if topology.enclosing[node_id] else None, []
        ).append(node_id)
    for loop_id, members in regions.items():
        inside = set(members)
        edges = [
            (e.source, e.target)
            for e in graph.edges
            if e.index not in body_edge_ids and e.source in inside and e.target in inside
        ]
        if loop_id is None:
            sources = [n for n in members if not graph.incoming[n]]
        else:
            sources = [e.target for e in topology.body_edges(loop_id)]
        sinks = [n for n in members if not any(e.target in inside for e in graph.outgoing[n])]
        if _fans_out(graph, inside, sources) and not is_series_parallel(sources, edges, sinks):
            return False
    return True


def _fans_out(graph: Graph, inside: set[str], sources: list[str]) -> bool:
    """Does anything in this region start parallel branches? Exclusive branches (if, switch,
    error routes) compile to Choice states that may jump anywhere, so only fan-out matters."""
    if len(sources) > 1:
        return True
    for node_id in inside:
        ports: dict[str, int] = {}
        for edge in graph.outgoing[node_id]:
            ports[edge.port] = ports.get(edge.port, 0) + 1
            if ports[edge.port] > 1:
                return True
    return False
