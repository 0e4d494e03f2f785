"""Monthly AWS cost of a load, from the compile report. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/monthly_cost.py [EXECUTIONS_PER_MONTH] [ROUTINE.json]

First, for every example in examples/: the machine type the compiler chooses (and why
not Express), and the price of a million executions as Standard and as Express machines,
Lambda included (the compile report's ``cost``: statemachines/cost.py, docs/cost.md),
per execution and per loop item. Then the monthly bill of a load: by default 100,000
webhook-started executions of the 10-node routine below, as both types. Per execution:
billed state transitions (the report's maximum: every branch taken at its costliest) and
Lambda invocations (the plugin tasks on that path, plus the webhook and two recorder
events). Step Functions and Lambda prices are the report's table (statemachines.cost.PRICES,
with the date they were read); the others are us-east-1 list prices (REST API, on-demand
DynamoDB, CloudWatch Logs, X-Ray) as written below: check the AWS pricing pages for your
region; free tiers are ignored. Compiled with the JSONata compiler, which compiles every
example.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statemachines.compiler import compile_routine
from statemachines.cost import ASSUMED_LAMBDA_MS, PER, PRICES
from statemachines.options import CompileOptions

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = CompileOptions()
PRICE = {
    "api_request": 3.50 / 1e6,  # REST API, first 333 M requests
    "dynamodb_write": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read": 0.125 / 1e6,
    "log_gb": 0.50,  # CloudWatch Logs ingestion
    "xray_trace": 5.00 / 1e6,  # traces recorded
}
CONTROL_SECONDS = 0.10  # the webhook and recorder functions' assumed billed duration
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


def _range(bounds: dict[str, float]) -> str:
    low, high = bounds["min"], bounds["max"]
    return f"${low:,.2f}" if low == high else f"${low:,.2f}-{high:,.2f}"


def examples() -> None:
    """Both machine types' price per million executions for every example, and the choice."""
    print(
        f"Per million executions, Lambda included (prices read {PRICES.read}, {PRICES.region}; "
        f"{ASSUMED_LAMBDA_MS} ms per Lambda invocation):"
    )
    print(f"  {'example':<30} {'chosen':<9} {'Standard':>20} {'Express':>20} {'Express saves':>14}")
    for path in sorted((ROOT / "examples").glob("*.json")):
        if path.name.endswith(".test.json"):
            continue
        report = compile_routine(json.loads(path.read_text()), options=OPTIONS).report
        cost, execution = report["cost"], report["execution"]
        standard, express = cost["standard"]["perMillion"], cost["express"]["perMillion"]
        saves = 1 - express["max"] / standard["max"] if standard["max"] else 0.0
        chosen = execution["type"] + ("" if execution["requested"] == "auto" else " (asked)")
        print(f"  {path.stem:<30} {chosen:<9} {_range(standard):>20} {_range(express):>20} {saves:>13.0%}")
        transitions = cost["standard"]["transitions"]
        print(
            f"      transitions {transitions['min']}-{transitions['max']}, Lambda invocations "
            f"{cost['lambdaInvocations']['min']}-{cost['lambdaInvocations']['max']}, Express "
            f"duration {cost['express']['durationMs']['max']:,.0f} ms at most"
        )
        for node, item in cost["perLoopItem"].items():
            child = (
                f", a {item['childExecutions']['type']} child execution each"
                if "childExecutions" in item
                else ""
            )
            print(
                f"      per million items of loop '{node}' ({item['mode']}{child}): Standard "
                f"{_range(item['standard']['perMillion'])}, Express {_range(item['express']['perMillion'])}"
            )
        for reason in execution["reasons"]:
            print(f"      why not Express: {reason}")


def load(executions: int, document: dict[str, Any]) -> None:
    compiled = compile_routine(document, options=OPTIONS)
    report = compiled.report
    cost = report["cost"]
    transitions = report["transitions"]["max"]
    tasks = cost["lambdaInvocations"]["max"]
    control = 3  # webhook + recorder (RUNNING, then the terminal status)
    invocations = tasks + control
    control_gb_seconds = (
        1 * 1.0 * CONTROL_SECONDS + 2 * 0.5 * CONTROL_SECONDS
    )  # webhook 1 GB, recorder 512 MB
    around = {
        # the report's Lambda figure covers the plugin tasks; these are the product's own
        "Lambda (webhook, recorder)": control * PRICES.lambda_request
        + control_gb_seconds * PRICES.lambda_gb_second,
        "API Gateway (webhook call)": PRICE["api_request"],
        # node logs (one write per task), idempotency + execution record writes, reads
        "DynamoDB": (tasks + 4) * PRICE["dynamodb_write"] + 3 * PRICE["dynamodb_read"],
        "CloudWatch Logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["log_gb"],
        "X-Ray traces": PRICE["xray_trace"],
    }
    print(f"routine: {document['name']}, {len(document['nodes'])} nodes, {report['states']} states")
    print(f"per execution: {transitions} transitions (max), {tasks} Lambda tasks, {invocations} invocations")
    print(f"chosen: {report['execution']['type']} (requested {report['execution']['requested']})")
    print(f"{executions:,} executions/month:")
    rest = sum(around.values()) * executions
    plugins = cost["lambdaPerMillion"]["max"] / PER * executions
    for kind in ("standard", "express"):
        machine = cost[kind]["perMillion"]["max"] / PER * executions - plugins
        print(f"  as {kind}:")
        print(f"    {'Step Functions':<28} ${machine:>9.2f}")
        print(f"    {'Lambda (plugin tasks)':<28} ${plugins:>9.2f}")
        for item, price in around.items():
            print(f"    {item:<28} ${price * executions:>9.2f}")
        print(f"    {'total':<28} ${machine + plugins + rest:>9.2f}")
    print("fixed: 16 alarms (30 metrics) ~$3.00; payload bucket storage and request costs; Cognito")
    print("(free for the first 10,000 monthly active users on the Lite plan)")


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    document = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else ten_nodes()
    examples()
    print()
    load(executions, document)


if __name__ == "__main__":
    main()
