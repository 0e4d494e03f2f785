"""The execution trace: every node of the routine with a status, built from the execution
history, the node logs and the compile report (DESIGN §3: skipped nodes are listed too)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from plugins.runtime.context import normalize
from statemachines.layout import node_key
from statemachines.topology import Topology

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"


def transitions(history: list[dict[str, Any]]) -> int:
    """State transitions Step Functions bills: one per state entered."""
    return sum(1 for event in history if event["type"].endswith("StateEntered"))


def build_trace(
    topology: Topology, report: dict[str, Any], history: list[dict[str, Any]], logs: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    state_nodes: dict[str, str] = report["stateNodes"]
    entered: dict[str, list[datetime]] = defaultdict(list)
    exited: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
    for event in history:
        if "stateEnteredEventDetails" in event:
            node = state_nodes.get(event["stateEnteredEventDetails"]["name"])
            if node:
                entered[node].append(event["timestamp"])
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            node = state_nodes.get(details["name"])
            if node:
                exited[node].append((event["timestamp"], details.get("output")))
    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        by_node[log["nodeId"]].append(log)
    trace: dict[str, dict[str, Any]] = {}
    for node_id in topology.order:
        info = topology.infos[node_id]
        if by_node.get(node_id) and info.is_task:
            trace[node_id] = _from_logs(by_node[node_id])
        elif node_id in entered:
            trace[node_id] = _from_states(
                node_id, info.plugin.name, info.parameters, entered[node_id], exited[node_id]
            )
        elif info.node.disabled:
            trace[node_id] = {
                "status": SKIPPED,
                "output": None,
                "error": None,
                "durationMs": 0,
                "disabled": True,
            }
        elif not _has_state(node_id, state_nodes) and _ran_before(topology, node_id, trace):
            trace[node_id] = {"status": SUCCEEDED, "output": None, "error": None, "durationMs": 0}
        else:
            trace[node_id] = {"status": SKIPPED, "output": None, "error": None, "durationMs": 0}
    return trace


def _has_state(node_id: str, state_nodes: dict[str, str]) -> bool:
    return node_id in state_nodes.values()


def _ran_before(topology: Topology, node_id: str, trace: dict[str, dict[str, Any]]) -> bool:
    """A node compiled into no state (merge, a condition decided at compile time) ran if
    something before it ran."""
    incoming = topology.graph.incoming[node_id]
    if not incoming:
        return True
    return any(trace.get(e.source, {}).get("status") in (SUCCEEDED, FAILED) for e in incoming)


def _from_logs(logs: list[dict[str, Any]]) -> dict[str, Any]:
    runs: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        runs[log.get("loopIndex")].append(log)
    finals = [runs[key][-1] for key in sorted(runs, key=lambda k: (k is not None, k or 0))]
    failed = [log for log in finals if log["status"] == "failed"]
    outputs = [normalize(log.get("output")) for log in finals]
    return {
        "status": FAILED if failed else SUCCEEDED,
        "output": outputs[0] if len(finals) == 1 else outputs,
        "error": {"type": failed[0].get("errorType"), "message": failed[0].get("errorMessage")}
        if failed
        else None,
        "durationMs": round(sum(float(log["durationMs"]) for log in finals), 1),
        "attempts": max(int(log["attempt"]) for log in logs),
        **({"runs": len(finals)} if len(finals) > 1 else {}),
    }


def _from_states(
    node_id: str,
    plugin: str,
    parameters: dict[str, Any],
    entered: list[datetime],
    exited: list[tuple[datetime, Any]],
) -> dict[str, Any]:
    duration = 0.0
    if entered and exited:
        duration = max(0.0, (exited[-1][0] - entered[0]).total_seconds() * 1000)
    output = None
    if exited and exited[-1][1]:
        document = json.loads(exited[-1][1])
        if isinstance(document, dict):
            output = normalize(document.get(node_key(node_id)))
    if plugin == "stop" and parameters.get("status") == "fail":
        error = {
            "type": parameters.get("error") or "RoutineStopped",
            "message": parameters.get("cause") or "",
        }
        return {"status": FAILED, "output": None, "error": error, "durationMs": 0}
    if not exited:
        return {"status": FAILED, "output": None, "error": None, "durationMs": round(duration, 1)}
    if plugin in ("if", "switch") and isinstance(output, dict) and "port" in output:
        output = None  # the evaluator's routing answer, not a node output
    return {"status": SUCCEEDED, "output": output, "error": None, "durationMs": round(duration, 1)}
