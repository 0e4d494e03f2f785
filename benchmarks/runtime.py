"""Plugin runtime and local runtime figures. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/runtime.py

1. Plugin handler overhead per invocation, excluding the plugin's own work: a plugin that
   does nothing, called with a 10 KB document slice and one expression reading it. Shown
   with and without the node-log write (which here goes to moto's DynamoDB, in-process).
2. Cold import time of a plugin handler module (fresh interpreter, median of 5).
3. Wall time of k = 8 parallel branches that each wait (ASL's Wait takes whole seconds, so
   1 s instead of 0.5 s; the figure of interest is the ratio to one wait).
4. ``routines run`` wall time for a 10-node routine: the whole command in a fresh process,
   and one execution on an already started local runtime.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.local import LocalAWS, run_routine
from plugins.runtime import handler as runtime
from plugins.runtime.nodelog import NodeLog
from plugins.sdk import PluginDefinition

ROOT = Path(__file__).resolve().parent.parent


class Context:
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def handler_overhead() -> None:
    noop = PluginDefinition("noop", 1, "No-op", "does nothing", "bench")
    rows = [{"id": f"row-{i}", "name": "x" * 60, "n": i} for i in range(120)]
    event = {
        "node": "bench",
        "parameters": {"pick": "{{ nodes.src.rows[7].id }}"},
        "execution": {
            "id": "arn:aws:states:us-east-1:123456789012:execution:m:e",
            "routineId": "r",
            "startedAt": "t",
        },
        "attempt": 0,
        "nodes": {"src": {"rows": rows}},
    }
    print(f"1. handler overhead, 10 KB document (slice is {len(json.dumps(event['nodes'])) / 1024:.1f} KiB)")
    with LocalAWS():
        for label, patch in (("with node log", False), ("without node-log write", True)):
            original = NodeLog.write
            if patch:
                NodeLog.write = lambda self: None  # type: ignore[method-assign]
            try:
                # Figures only: the handler prints a metric line per invocation (EMF on stdout).
                with contextlib.redirect_stdout(io.StringIO()):
                    for _ in range(50):  # warm: parsers, validators, clients
                        runtime.invoke(noop, lambda p, r: {}, event, Context())
                    samples = []
                    for _ in range(500):
                        started = time.perf_counter()
                        runtime.invoke(noop, lambda p, r: {}, event, Context())
                        samples.append(time.perf_counter() - started)
            finally:
                NodeLog.write = original  # type: ignore[method-assign]
            median, p95 = statistics.median(samples) * 1000, sorted(samples)[474] * 1000
            print(f"   {label:<24} median {median:.2f} ms, p95 {p95:.2f} ms")


def cold_imports() -> None:
    print("2. cold import of a handler module (fresh interpreter, median of 5)")
    for module in (
        "plugins.builtin.transform.handler",
        "plugins.builtin.http_request.handler",
        "plugins.system.evaluate",
    ):
        code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        samples = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
                ).stdout
            )
            for _ in range(5)
        ]
        print(f"   {module:<32} {statistics.median(samples) * 1000:6.0f} ms")


def routine(nodes: list[dict[str, Any]], connections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "bench", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def parallel_waits(k: int = 8) -> None:
    nodes = [{"id": "start", "plugin": "static-data", "parameters": {"data": 1}}]
    nodes += [{"id": f"w{i}", "plugin": "wait", "parameters": {"seconds": 1}} for i in range(k)]
    doc = routine(nodes, [{"sourceNodeId": "start", "targetNodeId": f"w{i}"} for i in range(k)])
    print(f"3. {k} parallel branches, each a 0.5 s wait (ASL Wait takes whole seconds: 1 s waits used)")
    with LocalAWS() as aws:
        run_routine(aws, routine(nodes[:1], []))  # warm
        started = time.perf_counter()
        result = run_routine(aws, doc)
        wall = time.perf_counter() - started
        events = {e["type"]: e["timestamp"] for e in result.history}
        span = (events["ParallelStateExited"] - events["ParallelStateEntered"]).total_seconds()
    print(f"   Parallel state {span:.2f} s for 1 s waits; execution {wall:.2f} s; {result.status}")


def run_times() -> None:
    nodes = [{"id": "n0", "plugin": "static-data", "parameters": {"data": {"v": 0}}}]
    nodes += [
        {"id": f"n{i}", "plugin": "transform", "parameters": {"fields": {"v": f"{{{{ nodes.n{i - 1}.v }}}}"}}}
        for i in range(1, 10)
    ]
    doc = routine(nodes, [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(9)])
    print("4. routines run, 10-node routine")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(doc, handle)
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv/bin/routines"), "run", "--json", handle.name], capture_output=True, check=True
        )
        samples.append(time.perf_counter() - started)
    print(f"   whole command (fresh process, median of 3) {statistics.median(samples):.2f} s")
    with LocalAWS() as aws:
        run_routine(aws, doc)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            run_routine(aws, doc)
            samples.append(time.perf_counter() - started)
    median = statistics.median(samples)
    print(f"   one execution on a started local runtime (median of 5): {median:.2f} s")


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # figures only: no plugin log lines
    handler_overhead()
    cold_imports()
    parallel_waits()
    run_times()
