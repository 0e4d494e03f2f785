"""Monthly AWS cost of a load, from the compile report. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/monthly_cost.py [EXECUTIONS_PER_MONTH] [ROUTINE.json]

Default: 100,000 webhook-started executions of the 10-node routine below. Per execution:
billed state transitions (the report's maximum: every branch taken at its costliest) and
Lambda invocations (the plugin tasks on that path, plus the webhook and two recorder
events). Prices
are us-east-1 list prices (ARM Lambda, Standard workflows, REST API, on-demand DynamoDB)
as written below: check the AWS pricing pages for your region; free tiers are ignored.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statemachines.compiler import compile_routine

PRICE = {
    "transition": 0.025 / 1000,  # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "api_request": 3.50 / 1e6,  # REST API, first 333 M requests
    "dynamodb_write": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read": 0.125 / 1e6,
    "log_gb": 0.50,  # CloudWatch Logs ingestion
    "xray_trace": 5.00 / 1e6,  # traces recorded
}
PLUGIN_MEMORY_GB = 0.5  # infra/runtime.py: 512 MB plugins, 1 GB API and webhook
PLUGIN_SECONDS = 0.15  # assumed mean billed duration of a warm plugin invocation
CONTROL_SECONDS = 0.10
LOG_BYTES_PER_INVOCATION = 1500  # one JSON log line per invocation plus START/END/REPORT

T = "{{ %s }}"


def ten_nodes() -> dict[str, Any]:
    """Webhook → fetch → if big: enrich → filter lines → notify → summary → audit → done;
    else a note; a failed fetch routes to an alert."""

    def node(node_id: str, plugin: str, **parameters: Any) -> dict[str, Any]:
        return {"id": node_id, "plugin": plugin, "parameters": parameters}

    url = "https://api.example.com/orders/" + T % "trigger.body.orderId"
    nodes = [
        {**node("fetch", "http-request", method="GET", url=url), "onError": "route"},
        node("isBig", "if", condition={"left": T % "nodes.fetch.body.total", "op": "gt", "right": 100}),
        node(
            "enrich",
            "transform",
            fields={"id": T % "nodes.fetch.body.id", "total": T % "nodes.fetch.body.total"},
        ),
        node(
            "lines",
            "filter",
            items=T % "nodes.fetch.body.lines",
            condition={"left": T % "item.qty", "op": "gt", "right": 0},
        ),
        node(
            "notify",
            "http-request",
            method="POST",
            url="https://hooks.example.com/big",
            body={"id": T % "nodes.enrich.id"},
        ),
        node(
            "summary",
            "transform",
            fields={"lines": T % "nodes.lines.items", "status": T % "nodes.notify.status"},
        ),
        node(
            "audit",
            "http-request",
            method="POST",
            url="https://audit.example.com",
            body={"s": T % "nodes.summary.status"},
        ),
        node("done", "static-data", data={"ok": True}),
        node("small", "transform", fields={"note": "small order"}),
        node("alert", "transform", fields={"failed": T % "nodes.fetch.error.message"}),
    ]
    chain = ["fetch", "isBig", "enrich", "lines", "notify", "summary", "audit", "done"]
    links = [{"sourceNodeId": a, "targetNodeId": b} for a, b in itertools.pairwise(chain)]
    links[1]["sourcePort"] = "true"
    links += [
        {"sourceNodeId": "isBig", "sourcePort": "false", "targetNodeId": "small"},
        {"sourceNodeId": "fetch", "sourcePort": "error", "targetNodeId": "alert"},
    ]
    return {"name": "Ten nodes", "trigger": {"type": "webhook"}, "nodes": nodes, "connections": links}


def most_tasks(machine: dict[str, Any]) -> int:
    """Lambda Task states entered on the costliest path (Parallel: all branches; a Map
    body counts once per item, so pass a routine without loops or multiply yourself)."""
    states = machine["States"]
    memo: dict[str, int] = {}

    def walk(name: str) -> int:
        if name not in memo:
            state = states[name]
            own = int(state["Type"] == "Task")
            own += sum(most_tasks(branch) for branch in state.get("Branches", []))
            if "ItemProcessor" in state:
                own += most_tasks(state["ItemProcessor"])
            nexts = [state["Next"]] if "Next" in state else []
            nexts += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
            nexts += [state["Default"]] if "Default" in state else []
            memo[name] = own + max((walk(n) for n in nexts), default=0)
        return memo[name]

    return walk(machine["StartAt"])


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    document = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else ten_nodes()
    compiled = compile_routine(document)
    report = compiled.report
    transitions = report["transitions"]["max"]
    tasks = most_tasks(compiled.asl)
    control = 3  # webhook + recorder (RUNNING, then the terminal status)
    invocations = tasks + control
    gb_seconds = (
        tasks * PLUGIN_MEMORY_GB * PLUGIN_SECONDS + 1 * 1.0 * CONTROL_SECONDS + 2 * 0.5 * CONTROL_SECONDS
    )
    per_execution = {
        "Step Functions transitions": transitions * PRICE["transition"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda duration (ARM)": gb_seconds * PRICE["lambda_gb_second_arm"],
        "API Gateway (webhook call)": PRICE["api_request"],
        # node logs (one write per task), idempotency + execution record writes, reads
        "DynamoDB": (tasks + 4) * PRICE["dynamodb_write"] + 3 * PRICE["dynamodb_read"],
        "CloudWatch Logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["log_gb"],
        "X-Ray traces": PRICE["xray_trace"],
    }
    print(f"routine: {document['name']}, {len(document['nodes'])} nodes, {report['states']} states")
    print(f"per execution: {transitions} transitions (max), {tasks} Lambda tasks, {invocations} invocations")
    print(f"{executions:,} executions/month:")
    total = 0.0
    for item, cost in per_execution.items():
        total += cost * executions
        print(f"  {item:<28} ${cost * executions:>9.2f}")
    print(f"  {'total':<28} ${total:>9.2f}")
    print("fixed: 16 alarms (30 metrics) ~$3.00; payload bucket storage and request costs; Cognito")
    print("(free for the first 10,000 monthly active users on the Lite plan)")


if __name__ == "__main__":
    main()
