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


def main() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".test.json"):
            continue
        document = json.loads(path.read_text())
        print(path.name)
        print("  " + figures(document))
    for name, document in [("chain of 1,000", chain(1000)), ("fan-out of 100", fan_out(100))]:
        print(name)
        print("  " + figures(document))
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
