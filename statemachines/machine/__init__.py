"""The compiler: a routine → a ``QueryLanguage: JSONata`` machine with workflow variables.
``plan`` is the pure analysis, ``walk`` the emit state and the walk, ``constructs`` one
function per node kind, ``values`` what roots and parameters become. See
docs/design/jsonata-engine.md and docs/compiler.md."""

from __future__ import annotations

from statemachines.asl import StateMachine
from statemachines.layout import Status
from statemachines.machine.plan import Plan, make_plan
from statemachines.machine.records import finish_machine
from statemachines.machine.walk import Build, Scope
from statemachines.options import CompileOptions
from statemachines.topology import Topology
from statemachines.walk import start


def build_machine(
    topology: Topology, variables: dict[str, object], options: CompileOptions
) -> tuple[Build, StateMachine]:
    plan: Plan = make_plan(topology, dict(variables), options)
    build = Build(plan)
    graph = plan.graph
    body_nodes = set().union(*topology.loop_bodies.values()) if topology.loop_bodies else set()
    members = activated = 0
    for node in graph.nodes:
        if node in body_nodes:
            continue
        members |= graph.bit(node)
        if not graph.incoming[node]:
            activated |= graph.bit(node)
    scope = Scope("top")
    begin = build.go(scope, start(graph, members, activated, {}))
    machine = build.finish(scope, begin)
    build.share_room()
    machine.query_language = "JSONata"
    machine = finish_machine(machine, build.state_nodes, topology, options)
    return build, machine


def routes(build: Build) -> dict[str, dict[str, list[str]]]:
    """Choice state → {next state: ports} (the trace reads which port an execution took)."""
    out: dict[str, dict[str, list[str]]] = {}
    for name, fields, rules, default in build.choices:
        by_target = out.setdefault(name, {})
        ways = [(rule["Next"], port) for rule, port in rules]
        if "Default" in fields:
            ways.append((fields["Default"], default))
        for target, port in ways:
            if port not in by_target.setdefault(target, []):
                by_target[target].append(port)
    return out


__all__ = ["Build", "Status", "build_machine", "routes"]
