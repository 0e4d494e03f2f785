"""Random routines over transform / if / merge / stop nodes, some of them disabled, and the
reference semantics of DESIGN §3 to predict what an execution must do — the oracle for
the compiler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from contract.conditions import evaluate

PASS_THROUGH = {"transform": "out", "merge": "out", "if": "false"}


@st.composite
def random_routines(draw: st.DrawFn, max_nodes: int = 9) -> tuple[dict[str, Any], dict[str, Any]]:
    """(routine, trigger): a DAG where every non-root node has 1-3 incoming connections;
    about one node in seven is disabled, and at most one node is a ``stop`` (a leaf)."""
    count = draw(st.integers(2, max_nodes))
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    ancestors: dict[str, set[str]] = {}
    trigger: dict[str, Any] = {}
    stopped = False
    for index in range(count):
        node_id = f"n{index}"
        kinds = ["transform", "transform", "if", "merge"] + ([] if stopped else ["stop"])
        kind = draw(st.sampled_from(kinds)) if index else "transform"
        stopped = stopped or kind == "stop"
        sources: set[str] = set()
        if index:
            choices = [n["id"] for n in nodes if n["plugin"] != "stop"]
            sources = set(draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3, unique=True)))
        ancestors[node_id] = set(sources).union(*(ancestors[s] for s in sources)) if sources else set()
        for source in sorted(sources):
            source_node = next(n for n in nodes if n["id"] == source)
            port = draw(st.sampled_from(["true", "false"])) if source_node["plugin"] == "if" else None
            connection = {"sourceNodeId": source, "targetNodeId": node_id}
            if port:
                connection["sourcePort"] = port
            connections.append(connection)
        if kind == "if":
            trigger[node_id] = draw(st.booleans())
            node = {
                "id": node_id,
                "plugin": "if",
                "parameters": {
                    "condition": {"left": f"{{{{ trigger.{node_id} }}}}", "op": "eq", "right": True}
                },
            }
        elif kind == "merge":
            node = {"id": node_id, "plugin": "merge"}
        elif kind == "stop":
            status = draw(st.sampled_from(["succeed", "fail"]))
            parameters = {"status": status}
            if status == "fail":
                parameters.update({"error": f"Stopped{node_id}", "cause": f"{node_id} said so"})
            node = {"id": node_id, "plugin": "stop", "parameters": parameters}
        else:
            readable = sorted(
                a
                for a in ancestors[node_id]
                if any(n["id"] == a and n["plugin"] == "transform" for n in nodes)
            )
            seen = draw(st.lists(st.sampled_from(readable), max_size=2, unique=True)) if readable else []
            fields: dict[str, Any] = {"id": node_id}
            fields.update({f"saw_{a}": f"{{{{ nodes.{a}.id }}}}" for a in seen})
            node = {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}
        if kind != "stop" and index and draw(st.integers(0, 6)) == 0:
            node["disabled"] = True
        nodes.append(node)
    routine = {"name": "random", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}
    return routine, trigger


@dataclass
class Expected:
    nodes: dict[str, tuple[str, Any]]  # node id → (status, output)
    result: dict[str, Any]  # the execution's result (when no stop ran)
    stop: dict[str, Any] | None = None  # the stop node that ran
    before_stop: set[str] = field(default_factory=set)  # nodes surely decided before it


def reference_run(routine: dict[str, Any], trigger: dict[str, Any]) -> Expected:
    """What DESIGN §3 says: a node runs when an incoming connection is active; connections
    from an if's other port, or from nodes that did not run, are inactive; a disabled node
    does not run but passes activation on and reads as null; a merge outputs the outputs
    of its sources that ran; a stop ends the execution."""
    connections = routine["connections"]
    fired: dict[str, set[str]] = {}
    ran: dict[str, bool] = {}
    outputs: dict[str, Any] = {}
    stop = None
    for node in routine["nodes"]:  # generated in topological order
        node_id, plugin = node["id"], node["plugin"]
        incoming = [c for c in connections if c["targetNodeId"] == node_id]
        active = not incoming or any(c.get("sourcePort", "out") in fired[c["sourceNodeId"]] for c in incoming)
        ran[node_id] = active and not node.get("disabled")
        fired[node_id] = set()
        if not active:
            continue
        if node.get("disabled"):
            fired[node_id] = {PASS_THROUGH[plugin]}
            continue
        if plugin == "if":
            outcome = evaluate(
                node["parameters"]["condition"],
                lambda v: trigger.get(v[11:-3]) if isinstance(v, str) and v.startswith("{{") else v,
            )
            fired[node_id] = {"true" if outcome else "false"}
        elif plugin == "stop":
            stop = stop or node
        else:
            fired[node_id] = {"out"}
        if plugin == "transform":
            outputs[node_id] = {
                k: (v if k == "id" else outputs[v[9:-6]]["id"] if ran.get(v[9:-6]) else None)
                for k, v in node["parameters"]["fields"].items()
            }
        elif plugin == "merge":
            sources = dict.fromkeys(c["sourceNodeId"] for c in incoming)
            outputs[node_id] = {s: outputs[s] for s in sources if ran[s] and s in outputs}
    statuses = {n["id"]: ("succeeded" if ran[n["id"]] else "skipped") for n in routine["nodes"]}
    leaves = [
        n["id"]
        for n in routine["nodes"]
        if n["plugin"] in ("transform", "merge")
        and not any(c["sourceNodeId"] == n["id"] for c in connections)
    ]
    expected = Expected(
        {n: (statuses[n], outputs.get(n)) for n in statuses},
        {leaf: outputs[leaf] for leaf in leaves if ran[leaf]},
    )
    if stop is not None:
        expected.stop = stop
        expected.before_stop = _ancestors(routine, stop["id"])
    return expected


def _ancestors(routine: dict[str, Any], node_id: str) -> set[str]:
    found: set[str] = set()
    todo = [node_id]
    while todo:
        current = todo.pop()
        for c in routine["connections"]:
            if c["targetNodeId"] == current and c["sourceNodeId"] not in found:
                found.add(c["sourceNodeId"])
                todo.append(c["sourceNodeId"])
    return found
