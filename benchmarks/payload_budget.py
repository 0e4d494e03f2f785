"""The cost of the payload budget (issue #8): extra state transitions and S3 requests per
execution, small payloads vs large ones. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/payload_budget.py

The routine: a chain of five transforms, an ``if`` on a field of the last one, a ``switch``
on the trigger, and a loop over a list from a node output. "Extra transitions" are the
states offloading adds that ran: the evaluator answering for a Choice whose value was
offloaded without the paths it reads (``<node> (offloaded)``, then ``<node> (route)``). S3
requests are counted on the plugin Lambdas' client, which the local trace shares. A list
or a loop's results too large for a variable fail the loop with a ``Routines.UserError``
(docs/design/jsonata-engine.md, "Remaining").
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.local import LocalAWS, run_routine
from plugins.runtime.aws import client

BUDGET_STATES = ("(offloaded)", "(route)")


def transform(node_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def routine() -> dict[str, Any]:
    chain = [transform(f"t{i}", {"i": i, "pad": "{{ trigger.pad }}", "ok": True}) for i in range(5)]
    nodes = [
        *chain,
        transform("rows", {"list": "{{ trigger.rows }}"}),
        {
            "id": "check",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.t4.ok }}", "op": "eq", "right": True}},
        },
        {
            "id": "kind",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {"port": "a", "condition": {"left": "{{ trigger.kind }}", "op": "eq", "right": "a"}}
                ]
            },
        },
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ nodes.rows.list }}", "maxConcurrency": 10},
        },
        transform("item", {"v": "{{ loop.item }}"}),
        transform(
            "end", {"first": "{{ nodes.each[0].v }}", "t0": "{{ nodes.t0.i }}", "t4": "{{ nodes.t4.i }}"}
        ),
    ]
    links = [{"sourceNodeId": f"t{i}", "targetNodeId": f"t{i + 1}"} for i in range(4)]
    links += [
        {"sourceNodeId": "t4", "targetNodeId": "rows"},
        {"sourceNodeId": "rows", "targetNodeId": "check"},
        {"sourceNodeId": "check", "targetNodeId": "kind", "sourcePort": "true"},
        {"sourceNodeId": "kind", "targetNodeId": "each", "sourcePort": "a"},
        {"sourceNodeId": "each", "targetNodeId": "item", "sourcePort": "body"},
        {"sourceNodeId": "each", "targetNodeId": "end", "sourcePort": "done"},
    ]
    return {"name": "budget", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def measure(aws: LocalAWS, label: str, trigger: dict[str, Any]) -> None:
    calls: Counter[str] = Counter()
    s3 = client("s3")
    s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
    result = run_routine(aws, routine(), trigger)
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in result.history if e["type"].endswith("StateEntered")
    ]
    extra = [name for name in entered if name.endswith(BUDGET_STATES)]
    print(
        f"{label:<44} {result.status:<9} transitions {result.transitions:>4}   "
        f"extra {len(extra):>2} {sorted(set(extra))}   S3 {dict(calls)}"
    )


def main() -> None:
    with LocalAWS() as aws:
        measure(
            aws,
            "small: 10 B outputs, 10-item list, small trigger",
            {"pad": "x" * 10, "kind": "a", "rows": list(range(10))},
        )
        measure(
            aws,
            "large: 300 KB outputs, 10-item list, 300 KB trigger",
            {"pad": "x" * 300_000, "kind": "a", "rows": list(range(10))},
        )
        measure(
            aws,
            "large list: 10 B outputs, 1,000 items of 300 B",
            {"pad": "x" * 10, "kind": "a", "rows": ["r" * 300] * 1_000},
        )
        measure(
            aws,
            "long list: 10 B outputs, 5,000 results of 200 B",
            {"pad": "x" * 10, "kind": "a", "rows": ["r" * 200] * 5_000},
        )


if __name__ == "__main__":
    main()
