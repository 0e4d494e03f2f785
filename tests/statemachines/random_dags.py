"""Random routines over transform / if / merge nodes, and the reference semantics of
DESIGN §3 to predict what an execution must do — the oracle for the compiler."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from statemachines.conditions import evaluate


@st.composite
def random_routines(draw: st.DrawFn, max_nodes: int = 9) -> tuple[dict[str, Any], dict[str, Any]]:
    """(routine, trigger): a DAG where every non-root node has 1-3 incoming connections."""
    count = draw(st.integers(2, max_nodes))
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    ancestors: dict[str, set[str]] = {}
    trigger: dict[str, Any] = {}
    for index in range(count):
        node_id = f"n{index}"
        kind = draw(st.sampled_from(["transform", "transform", "if", "merge"])) if index else "transform"
        sources: set[str] = set()
        if index:
            sources = set(
                draw(st.lists(st.sampled_from([n["id"] for n in nodes]), min_size=1, max_size=3, unique=True))
            )
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
        nodes.append(node)
    routine = {"name": "random", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}
    return routine, trigger


def reference_run(routine: dict[str, Any], trigger: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """node id → (status, output) by DESIGN §3: a node runs when an incoming connection is
    active; connections from an if's other port, or from skipped nodes, are inactive."""
    ran: dict[str, bool] = {}
    fired: dict[str, set[str]] = {}
    outputs: dict[str, Any] = {}
    for node in routine["nodes"]:  # generated in topological order
        incoming = [c for c in routine["connections"] if c["targetNodeId"] == node["id"]]
        active = not incoming or any(
            ran[c["sourceNodeId"]] and c.get("sourcePort", "out") in fired[c["sourceNodeId"]]
            for c in incoming
        )
        ran[node["id"]] = active
        fired[node["id"]] = set()
        if not active:
            continue
        if node["plugin"] == "if":
            outcome = evaluate(
                node["parameters"]["condition"],
                lambda v: trigger.get(v[11:-3]) if isinstance(v, str) and v.startswith("{{") else v,
            )
            fired[node["id"]] = {"true" if outcome else "false"}
        else:
            fired[node["id"]] = {"out"}
        if node["plugin"] == "transform":
            fields = node["parameters"]["fields"]
            outputs[node["id"]] = {
                k: (v if k == "id" else outputs.get(v[9:-6], {}).get("id") if ran.get(v[9:-6]) else None)
                for k, v in fields.items()
            }
    return {
        n["id"]: ("succeeded" if ran[n["id"]] else "skipped", outputs.get(n["id"])) for n in routine["nodes"]
    }
