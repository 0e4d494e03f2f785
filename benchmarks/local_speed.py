"""Local runtime speed: warm execution time of three workflows, and a cold ``routines run``.

    .venv/bin/python benchmarks/local_speed.py [--repeat N] [--only chain10,branch_loop,chain1000,cold]

Prints figures only (medians of N runs; the machine may be shared, so run it a few times).
The workflows are the ones of issue #10, measured against n8n 2.8 on the same machine:

- ``chain10``: a 10-node transform chain (n8n 0.036 s; goal ≤ 0.11 s)
- ``branch_loop``: if → two branches → merge, then a loop over 100 items (n8n 0.082 s;
  goal ≤ 0.25 s)
- ``chain1000``: a 1,000-node transform chain (n8n 1.6 s; goal ≤ 4.8 s)
- ``cold``: ``routines run`` of the 10-node routine in a fresh process (goal < 2 s)

"Warm" means one execution on an already started local runtime (``LocalAWS``), from
``run_routine`` called to its result returned: validate, compile, deploy, execute, trace.

The last line, ``machine``, times a fixed pure-Python loop before and after the
figures: this machine's speed drifts (a shared host: a fixed loop's time has doubled within
a minute), so figures taken at different times compare only alongside it.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {"chain10": 0.11, "branch_loop": 0.25, "chain1000": 4.8, "cold": 2.0}


def routine(nodes: list[dict[str, Any]], connections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "bench", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def chain(length: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "plugin": "static-data", "parameters": {"data": {"v": 0}}}]
    nodes += [
        {"id": f"n{i}", "plugin": "transform", "parameters": {"fields": {"v": f"{{{{ nodes.n{i - 1}.v }}}}"}}}
        for i in range(1, length)
    ]
    return routine(nodes, [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(length - 1)])


def branch_loop(items: int = 100) -> dict[str, Any]:
    data = {"total": 150, "items": [{"sku": f"S-{i}", "price": i} for i in range(items)]}
    nodes = [
        {"id": "order", "plugin": "static-data", "parameters": {"data": data}},
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.order.total }}", "op": "gt", "right": 100}},
        },
        {"id": "vip", "plugin": "transform", "parameters": {"fields": {"tier": "vip"}}},
        {"id": "plain", "plugin": "transform", "parameters": {"fields": {"tier": "plain"}}},
        {"id": "joined", "plugin": "merge"},
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ nodes.order.items }}", "maxConcurrency": 10},
        },
        {
            "id": "row",
            "plugin": "transform",
            "parameters": {"fields": {"sku": "{{ loop.item.sku }}", "gross": "{{ loop.item.price }}"}},
        },
    ]
    connections = [
        {"sourceNodeId": "order", "targetNodeId": "big"},
        {"sourceNodeId": "big", "sourcePort": "true", "targetNodeId": "vip"},
        {"sourceNodeId": "big", "sourcePort": "false", "targetNodeId": "plain"},
        {"sourceNodeId": "vip", "targetNodeId": "joined"},
        {"sourceNodeId": "plain", "targetNodeId": "joined"},
        {"sourceNodeId": "joined", "targetNodeId": "each"},
        {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "row"},
    ]
    return routine(nodes, connections)


def warm(name: str, document: dict[str, Any], repeat: int) -> None:
    from contract.errors import CompileError
    from functions.local import LocalAWS, run_routine

    with LocalAWS() as aws:
        try:
            first = run_routine(aws, document)  # warm: imports, handlers, validators
        except CompileError as refused:  # e.g. the payload budget refuses the routine
            print(f"{name:<12} refused at compile: {refused}", flush=True)
            return
        if first.status != "SUCCEEDED":
            raise SystemExit(f"{name}: {first.status} {first.error} {first.cause}")
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = run_routine(aws, document)
            samples.append(time.perf_counter() - started)
            assert result.status == "SUCCEEDED", result.status
    report(name, samples, f"{result.transitions} transitions")


def cold(repeat: int) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(chain(10), handle)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv/bin/routines"), "run", handle.name], capture_output=True, check=True
        )
        samples.append(time.perf_counter() - started)
    Path(handle.name).unlink()
    report("cold", samples, "routines run, fresh process")


def report(name: str, samples: list[float], note: str) -> None:
    median = statistics.median(samples)
    verdict = "ok" if median <= GOALS[name] else "over"
    print(
        f"{name:<12} median {median:7.3f} s  (min {min(samples):.3f}, n={len(samples)})  "
        f"goal ≤ {GOALS[name]} s  {verdict}  [{note}]",
        flush=True,
    )


def reference_loop() -> float:
    """Seconds for 5,000,000 pure-Python additions: how fast the machine is right now."""
    started = time.perf_counter()
    total = 0
    for value in range(5_000_000):
        total += value
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument(
        "--only", default="chain10,branch_loop,chain1000,cold", help="comma-separated figures"
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # figures only: no plugin log or metric lines
    only = args.only.split(",")
    before = reference_loop()
    if "chain10" in only:
        warm("chain10", chain(10), args.repeat)
    if "branch_loop" in only:
        warm("branch_loop", branch_loop(), args.repeat)
    if "chain1000" in only:
        warm("chain1000", chain(1000), max(1, args.repeat // 2))
    if "cold" in only:
        cold(args.repeat)
    after = reference_loop()
    print(f"{'machine':<12} {before:.2f} s before, {after:.2f} s after  [reference loop: lower is faster]")


if __name__ == "__main__":
    main()
