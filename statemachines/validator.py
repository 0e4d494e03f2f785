"""Save-time validation: every error and warning of a routine document, in one pass.

Phases, each reporting everything it finds: JSON guard → shape → plugins and parameters →
connections and ports → graph (cycles, reachability, loop bodies) → expressions.
Later phases run on whatever earlier ones could make sense of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract.errors import InvalidRoutineError
from contract.problems import Code, Report, Warn, connection_path, join_path, node_path
from plugins.sdk import PluginRegistry, PortType, can_connect, check_parameters, default_registry
from statemachines.document import Parts, check_json, check_top_level, parse_parts
from statemachines.express import check_express
from statemachines.gaps import Gaps
from statemachines.graph import Edge, Graph
from statemachines.graph_checks import graph_checks
from statemachines.model import Routine
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
    gaps = Gaps.of(parts)
    infos = _plugins(parts, registry or default_registry(), report, gaps)
    edges = _connections(parts, infos, report, gaps)
    topology = Topology(infos, Graph(list(infos), edges))
    gaps.settle(topology.graph)
    graph_checks(topology, parts, report, gaps)
    _first_merges(topology, report)
    references = ReferenceChecker(topology, parts.variables, report, gaps)
    for info in infos.values():
        references.check_node(info)
    references.report_unused_variables()
    _implicit_inputs(topology)
    if not report.valid:
        return Validation(report)
    routine = Routine.model_validate(document)
    # execution: "express" on a routine that cannot be one is refused with every reason.
    report.errors.extend(check_express(routine, topology))
    if not report.valid:
        return Validation(report)
    return Validation(report, routine, topology)


def _plugins(parts: Parts, registry: PluginRegistry, report: Report, gaps: Gaps) -> dict[str, NodeInfo]:
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
            gaps.unseen.add(node.id)
            continue
        version = node.version or plugin.version
        if version not in plugin.versions:
            report.error(
                Code.UNKNOWN_PLUGIN,
                path,
                f"plugin '{plugin.name}' has no version {version} "
                f"(available: {', '.join(map(str, plugin.versions))})",
            )
            gaps.unseen.add(node.id)
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
        if len(report.errors) > before and plugin.dynamic_outputs is not None:
            # Its ports come from parameters that are wrong: what they connect to is unknown.
            gaps.unseen.add(node.id)
        info = NodeInfo(node, plugin, parameters)
        _node_settings(info, report)
        infos[node.id] = info
    return infos


def _first_merges(topology: Topology, report: Report) -> None:
    """A merge with mode "first" races parallel branches (statemachines.machine.race): it
    needs two or more, and a branch that an if, a switch or an error port may not take is
    not in a race (what the compiler cannot build into one Parallel it reports too)."""
    for node_id, info in topology.infos.items():
        if info.plugin.name != "merge" or info.parameters.get("mode") != "first" or info.node.disabled:
            continue
        path = join_path(node_path(node_id), "parameters", "mode")
        incoming = topology.graph.incoming[node_id]
        if len(incoming) < 2:
            report.error(Code.INVALID_PARAMETER, path, "a merge with mode 'first' joins two or more branches")
        for edge in incoming:
            if edge.port_type != PortType.MAIN.value:
                report.error(
                    Code.INVALID_PARAMETER,
                    path,
                    f"a merge with mode 'first' races parallel branches; '{edge.source}' reaches it "
                    f"through its '{edge.port}' port, which is not always taken",
                )


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


def _connections(parts: Parts, infos: dict[str, NodeInfo], report: Report, gaps: Gaps) -> list[Edge]:
    edges: list[Edge] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    known = set(parts.nodes) | parts.broken_node_ids
    for index, conn in parts.connections:
        path = connection_path(index)
        ends = (conn.source_node_id, conn.target_node_id)
        missing = [n for n in ends if n not in known]
        if missing and gaps.nodes_known:
            report.error(Code.UNKNOWN_NODE, path, f"no node with id '{missing[0]}'")
        source, target = infos.get(conn.source_node_id), infos.get(conn.target_node_id)
        if source is None or target is None:
            gaps.cut(*ends)  # a missing node (reported), or one broken and already reported
            continue
        if source.id in gaps.unseen or not gaps.ambiguous.isdisjoint(ends):
            # Its output ports are unknown (wrong parameters), or the id names several nodes
            # (a duplicate): either is reported already, and the connection cannot be judged.
            gaps.cut(*ends)
            continue
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
            gaps.cut(*ends)
            continue
        if conn.type is not None and conn.type != out_port.type.value:
            report.error(
                Code.PORT_TYPE_MISMATCH,
                path,
                f"connection type '{conn.type}' does not match port '{out_port.name}' "
                f"of type '{out_port.type.value}'",
            )
            gaps.cut(*ends)
            continue
        if not can_connect(out_port.type, in_port.type):
            report.error(
                Code.PORT_TYPE_MISMATCH,
                path,
                f"a {out_port.type.value} port cannot feed a {in_port.type.value} port",
            )
            gaps.cut(*ends)
            continue
        key = (conn.source_node_id, conn.source_port, conn.target_node_id, conn.target_port)
        if key in seen:
            report.warn(Warn.DUPLICATE_CONNECTION, path, f"same as connections[{seen[key]}]; ignored")
            continue
        seen[key] = index
        edges.append(make_edge(index, conn, source, out_port))
    return edges


# Nodes whose ``input`` defaults to the node's input (the outputs of the nodes before it).
IMPLICIT_INPUT = ("execute-routine",)
# Nodes that hand on what reached them rather than an output of their own.
PASS_ON = ("if", "switch", "wait")


def _implicit_inputs(topology: Topology) -> None:
    """An ``execute-routine`` node without ``input`` gets the node's input written out as an
    expression (after the reference checks: it is never the user's mistake), so liveness,
    the compiler and the trace read it as if the user had written it: the output of the
    node before it, an object by node id when several lead to it (through if, switch and
    wait nodes, which have no output), ``loop.item`` first in a loop's body, and the
    trigger for a first node. The stored document keeps what the user wrote."""
    for node_id, info in list(topology.infos.items()):
        if info.plugin.name not in IMPLICIT_INPUT or "input" in info.parameters:
            continue
        sources: list[str] = []
        in_loop = False
        stack = list(reversed(topology.graph.incoming[node_id]))
        seen: set[str] = set()
        while stack:
            edge = stack.pop()
            if edge.port_type == PortType.LOOP.value:
                in_loop = True
                continue
            source = topology.infos[edge.source]
            if source.plugin.name in PASS_ON or source.node.disabled:
                if edge.source not in seen:
                    seen.add(edge.source)
                    stack.extend(reversed(topology.graph.incoming[edge.source]))
                continue
            if edge.source not in sources:
                sources.append(edge.source)
        entries = [f"'{s}': nodes.{s}" for s in sources]
        if in_loop:
            text = "{{ {'item': loop.item, " + ", ".join(entries) + "} }}" if entries else "{{ loop.item }}"
        elif len(sources) == 1:
            text = f"{{{{ nodes.{sources[0]} }}}}"
        elif sources:
            text = "{{ {" + ", ".join(entries) + "} }}"
        else:
            text = "{{ trigger }}"
        topology.infos[node_id] = NodeInfo(info.node, info.plugin, {**info.parameters, "input": text})
