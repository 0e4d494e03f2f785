"""Save-time validation: every error and warning of a routine document, in one pass.

Phases, each reporting everything it finds: JSON guard → shape → plugins and parameters →
connections and ports → graph (cycles, reachability, loop bodies) → expressions.
Later phases run on whatever earlier ones could make sense of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugins.sdk import PluginRegistry, PortType, can_connect, check_parameters, default_registry
from statemachines.document import Parts, check_json, check_top_level, parse_parts
from statemachines.errors import InvalidRoutineError
from statemachines.graph import Edge, Graph, is_series_parallel, live_nodes
from statemachines.model import Routine
from statemachines.problems import Code, Report, Warn, connection_path, join_path, node_path
from statemachines.references import ReferenceChecker
from statemachines.topology import NodeInfo, Topology, make_edge
from statemachines.triggers import check_trigger


@dataclass(slots=True)
class Validation:
    report: Report
    routine: Routine | None = None
    topology: Topology | None = None


def validate_document(document: Any, registry: PluginRegistry | None = None) -> Report:
    """All errors and warnings of a routine document (any JSON value is accepted)."""
    return analyse(document, registry).report


def validate_routine(document: Any, registry: PluginRegistry | None = None) -> Routine:
    """The routine, or :class:`InvalidRoutineError` listing every error."""
    result = analyse(document, registry)
    if result.routine is None:
        raise InvalidRoutineError(result.report.errors)
    return result.routine


def analyse(document: Any, registry: PluginRegistry | None = None) -> Validation:
    report = Report()
    if not check_json(document, report):
        return Validation(report)
    if not isinstance(document, dict):
        report.error(Code.INVALID_DOCUMENT, "", "a routine is a JSON object with name, trigger and nodes")
        return Validation(report)
    check_top_level(document, report)
    if "trigger" in document:
        check_trigger(document["trigger"], report)
    parts = parse_parts(document, report)
    infos = _plugins(parts, registry or default_registry(), report)
    edges = _connections(parts, infos, report)
    topology = Topology(infos, Graph(list(infos), edges))
    _graph_checks(topology, parts, report)
    references = ReferenceChecker(topology, parts.variables, report)
    for info in infos.values():
        references.check_node(info)
    references.report_unused_variables()
    if not report.valid:
        return Validation(report)
    return Validation(report, Routine.model_validate(document), topology)


def _plugins(parts: Parts, registry: PluginRegistry, report: Report) -> dict[str, NodeInfo]:
    infos: dict[str, NodeInfo] = {}
    for node in parts.nodes.values():
        path = node_path(node.id)
        plugin = registry.find(node.plugin)
        if plugin is None:
            report.error(
                Code.UNKNOWN_PLUGIN,
                path,
                f"no plugin '{node.plugin}' (available: {', '.join(registry.names())})",
            )
            continue
        version = node.version or plugin.version
        if version not in plugin.versions:
            report.error(
                Code.UNKNOWN_PLUGIN,
                path,
                f"plugin '{plugin.name}' has no version {version} "
                f"(available: {', '.join(map(str, plugin.versions))})",
            )
            continue
        parameters = (
            plugin.migrate(node.parameters, version) if version != plugin.version else node.parameters
        )
        before = len(report.errors)
        check_parameters(plugin.parameters, parameters, join_path(path, "parameters"), report)
        if len(report.errors) == before and plugin.check is not None:
            for name, message in plugin.check(parameters):
                code = Code.INVALID_PARAMETER if name in parameters else Code.MISSING_PARAMETER
                report.error(code, join_path(path, "parameters", name), message)
        info = NodeInfo(node, plugin, parameters)
        _node_settings(info, report)
        infos[node.id] = info
    return infos


def _node_settings(info: NodeInfo, report: Report) -> None:
    path = node_path(info.id)
    has_error_port = any(p.type is PortType.ERROR for p in info.plugin.outputs)
    if info.node.on_error == "route" and not has_error_port:
        report.error(
            Code.INVALID_DOCUMENT,
            join_path(path, "onError"),
            f"'{info.plugin.name}' nodes cannot fail, so they have no error port to route to",
        )
    if not has_error_port:
        for name, alias in (("retry", "retry"), ("timeout_seconds", "timeoutSeconds")):
            if getattr(info.node, name) is not None:
                report.warn(
                    Warn.IGNORED_SETTING,
                    join_path(path, alias),
                    f"'{alias}' does nothing on a '{info.plugin.name}' node",
                )


def _connections(parts: Parts, infos: dict[str, NodeInfo], report: Report) -> list[Edge]:
    edges: list[Edge] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    known = set(parts.nodes) | parts.broken_node_ids
    for index, conn in parts.connections:
        path = connection_path(index)
        missing = [n for n in (conn.source_node_id, conn.target_node_id) if n not in known]
        if missing:
            report.error(Code.UNKNOWN_NODE, path, f"no node with id '{missing[0]}'")
            continue
        source, target = infos.get(conn.source_node_id), infos.get(conn.target_node_id)
        if source is None or target is None:
            continue  # the node itself is broken and already reported
        out_port = next(
            (p for p in source.plugin.output_ports(source.parameters) if p.name == conn.source_port), None
        )
        in_port = next((p for p in target.plugin.inputs if p.name == conn.target_port), None)
        if out_port is None:
            names = ", ".join(p.name for p in source.plugin.output_ports(source.parameters)) or "none"
            report.error(
                Code.UNKNOWN_PORT,
                join_path(path, "sourcePort"),
                f"'{source.id}' ({source.plugin.name}) has no output port '{conn.source_port}' "
                f"(outputs: {names})",
            )
        if in_port is None:
            names = ", ".join(p.name for p in target.plugin.inputs) or "none"
            report.error(
                Code.UNKNOWN_PORT,
                join_path(path, "targetPort"),
                f"'{target.id}' ({target.plugin.name}) has no input port '{conn.target_port}' "
                f"(inputs: {names})",
            )
        if out_port is None or in_port is None:
            continue
        if conn.type is not None and conn.type != out_port.type.value:
            report.error(
                Code.PORT_TYPE_MISMATCH,
                path,
                f"connection type '{conn.type}' does not match port '{out_port.name}' "
                f"of type '{out_port.type.value}'",
            )
            continue
        if not can_connect(out_port.type, in_port.type):
            report.error(
                Code.PORT_TYPE_MISMATCH,
                path,
                f"a {out_port.type.value} port cannot feed a {in_port.type.value} port",
            )
            continue
        key = (conn.source_node_id, conn.source_port, conn.target_node_id, conn.target_port)
        if key in seen:
            report.warn(Warn.DUPLICATE_CONNECTION, path, f"same as connections[{seen[key]}]; ignored")
            continue
        seen[key] = index
        edges.append(make_edge(index, conn, source, out_port))
    return edges


def _graph_checks(topology: Topology, parts: Parts, report: Report) -> None:
    graph = topology.graph
    for edge, cycle in topology.cycles:
        report.error(
            Code.CYCLE,
            connection_path(edge.index),
            f"this connection closes a cycle: {' → '.join(cycle)} (use a loop node to repeat work)",
        )
    in_cycle = {n for _, cycle in topology.cycles for n in cycle}
    live = live_nodes(graph)
    for node_id in graph.nodes:
        if node_id not in live and node_id not in in_cycle:
            report.error(Code.UNREACHABLE_NODE, node_path(node_id), _why_unreachable(topology, node_id))
    for loop_id, body in topology.loop_bodies.items():
        _check_loop_body(topology, loop_id, body, report)
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


def _check_loop_body(topology: Topology, loop_id: str, body: set[str], report: Report) -> None:
    body_edges = {e.index for e in topology.body_edges(loop_id)}
    if not body_edges:
        report.warn(
            Warn.EMPTY_LOOP_BODY,
            node_path(loop_id),
            "nothing is connected to the 'body' port; the loop returns its items unchanged",
        )
    for node_id in sorted(body, key=topology.graph.position.__getitem__):
        incoming = topology.graph.incoming[node_id]
        outside = [e for e in incoming if e.source not in body and e.index not in body_edges]
        if not outside:
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
