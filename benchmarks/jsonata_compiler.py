"""The compiler's figures on the examples and on generated routines (the JSONPath column
went with the previous compiler, issue #23).

Prints, per example and per generated routine: states, definition bytes, billed
transitions (fewest..most over all paths, from the compile report), Lambda tasks and
evaluator tasks — and, for the fan-out, whether the widest one runs on the local runtime.

    .venv/bin/python benchmarks/jsonata_compiler.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import statemachines.document as document_limits
from contract.errors import CompileError, InvalidRoutineError
from functions.local import LocalAWS
from functions.local.runner import run_routine
from statemachines.compiler import compile_routine

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def figures(document: Any) -> str:
    try:
        report = compile_routine(document).report
    except (CompileError, InvalidRoutineError) as exc:
        return f"does not compile: {str(exc)[:70]}"
    t = report["transitions"]
    return (
        f"{report['states']:>5} states {report['definitionBytes']:>9,} bytes "
        f"{t['min']:>4}..{t['max']:<4} transitions {report['lambdaTasks']:>3} Lambda tasks "
        f"{report['evaluatorTasks']:>2} evaluator"
    )


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields or {"at": node_id}}}


def chain(n: int) -> dict[str, Any]:
    nodes = [transform(f"n{i}", prev=f"{{{{ nodes.n{i - 1}.at }}}}" if i else "start") for i in range(n)]
    for i, node in enumerate(nodes):
        node["parameters"]["fields"]["at"] = f"n{i}"
    links = [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(n - 1)]
    return {"name": f"chain of {n}", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def fan_out(width: int) -> dict[str, Any]:
    nodes = [
        transform("start"),
        *[transform(f"b{i}", i=i) for i in range(width)],
        {"id": "join", "plugin": "merge"},
    ]
    nodes.append(transform("count", n="{{ $count($keys(nodes.join)) }}"))
    links = [{"sourceNodeId": "start", "targetNodeId": f"b{i}"} for i in range(width)]
    links += [{"sourceNodeId": f"b{i}", "targetNodeId": "join"} for i in range(width)]
    links.append({"sourceNodeId": "join", "targetNodeId": "count"})
    return {
        "name": f"fan-out of {width}",
        "trigger": {"type": "manual"},
        "nodes": nodes,
        "connections": links,
    }


def mixed(n: int) -> dict[str, Any]:
    """About ``n`` nodes of chains (3 transforms), 3-way fan-outs joined by a merge and
    if/else joined by a merge, in turn; each node reads the one before it."""
    nodes: list[dict[str, Any]] = [transform("s", at="s")]
    links: list[dict[str, Any]] = []
    last = "s"

    def add(node: dict[str, Any], *sources: str, port: str | None = None) -> str:
        nodes.append(node)
        for source in sources:
            link = {"sourceNodeId": source, "targetNodeId": node["id"]}
            links.append({**link, "sourcePort": port} if port else link)
        return str(node["id"])

    segment = 0
    while len(nodes) < n - 5:  # the largest segment adds 5
        k = f"g{segment}"
        shape = segment % 3
        if shape == 0:
            for i in range(3):
                last = add(transform(f"{k}c{i}", prev=f"{{{{ nodes.{last}.at }}}}", at=f"{k}c{i}"), last)
        elif shape == 1:
            ends = [
                add(transform(f"{k}b{i}", prev=f"{{{{ nodes.{last}.at }}}}", at=f"{k}b{i}"), last)
                for i in range(3)
            ]
            last = add({"id": f"{k}m", "plugin": "merge"}, *ends)
            last = add(transform(f"{k}j", n="{{ $count($keys(nodes." + last + ")) }}", at=f"{k}j"), last)
        else:
            condition = {"left": f"{{{{ nodes.{last}.at }}}}", "op": "eq", "right": "x"}
            test = add({"id": f"{k}i", "plugin": "if", "parameters": {"condition": condition}}, last)
            yes = add(transform(f"{k}t", at=f"{k}t"), test, port="true")
            no = add(transform(f"{k}f", at=f"{k}f"), test, port="false")
            last = add({"id": f"{k}m", "plugin": "merge"}, yes, no)
            last = add(transform(f"{k}j", at=f"{k}j", pick="{{ nodes." + last + " }}"), last)
        segment += 1
    while len(nodes) < n:
        last = add(transform(f"t{len(nodes)}", prev=f"{{{{ nodes.{last}.at }}}}", at=f"t{len(nodes)}"), last)
    return {
        "name": f"mixed {len(nodes)}",
        "trigger": {"type": "manual"},
        "nodes": nodes,
        "connections": links,
    }


def eight_nodes() -> dict[str, Any]:
    """The issue's 8-node routine: http -> if -> two transforms -> merge -> a loop over a
    transform -> summary."""
    nodes = [
        {"id": "fetch", "plugin": "http-request", "parameters": {"url": "https://example.com/orders"}},
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.fetch.body.total }}", "op": "gt", "right": 100}},
        },
        transform("rush", lines="{{ nodes.fetch.body.lines }}", priority="high"),
        transform("normal", lines="{{ nodes.fetch.body.lines }}", priority="normal"),
        {"id": "picked", "plugin": "merge"},
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.fetch.body.lines }}"}},
        transform("line", sku="{{ loop.item.sku }}", qty="{{ loop.item.qty }}"),
        transform("summary", lines="{{ $count(nodes.each) }}", picked="{{ nodes.picked }}"),
    ]
    pairs = [("fetch", "big", None), ("big", "rush", "true"), ("big", "normal", "false")]
    pairs += [("rush", "picked", None), ("normal", "picked", None), ("picked", "each", None)]
    pairs += [("each", "line", "body"), ("each", "summary", "done")]
    links = [{"sourceNodeId": a, "targetNodeId": b, **({"sourcePort": p} if p else {})} for a, b, p in pairs]
    return {"name": "eight nodes", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def largest_chain() -> int:
    """The longest chain whose definition fits Step Functions' 1 MB (bisection; the product's
    limits of 1,000 nodes and a 256 KiB document are lifted to find it)."""
    document_limits.MAX_NODES = document_limits.MAX_CONNECTIONS = 100_000
    document_limits.MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
    low, high = 100, 2000
    while low < high:
        mid = (low + high + 1) // 2
        try:
            compile_routine(chain(mid))
            low = mid
        except CompileError:
            high = mid - 1
    return low


def main() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".test.json"):
            continue
        document = json.loads(path.read_text())
        print(path.name)
        print("  " + figures(document))
    generated = [
        ("eight nodes (http, if, two transforms, merge, loop, summary)", eight_nodes()),
        ("chain of 1,000", chain(1000)),
        ("mixed of 1,000 (chains, 3-way fan-outs, if/else joins)", mixed(1000)),
        ("fan-out of 100", fan_out(100)),
    ]
    for name, document in generated:
        print(name)
        print("  " + figures(document))
    print(f"largest chain under 1 MB: {largest_chain():,} nodes")
    with LocalAWS() as aws:
        for width in (13, 50, 100):
            started = time.perf_counter()
            try:
                result = run_routine(aws, fan_out(width), {}, timeout=120).to_json()
                outcome = f"{result['status']}, count = {(result['output'] or {}).get('count')}"
            except (CompileError, InvalidRoutineError) as exc:
                outcome = f"refused: {str(exc)[:90]}"
            print(f"run fan-out of {width:<3} {outcome} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
