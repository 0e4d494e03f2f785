"""Webhook load through ``routines serve`` (loopback only, bounded): N concurrent signed
webhook calls, each with its own Idempotency-Key, plus repeats of some keys; then every
execution must end with exactly one terminal record — zero lost, zero duplicated.

    .venv/bin/python benchmarks/webhook_load.py [--calls 200] [--concurrency 16] [--repeats 20]

Prints requests/s, p50/p95 latency of the webhook calls, executions started (Step
Functions' own count), terminal records, lost and duplicated, and the time until the last
record was terminal.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from functions.local.status_events import StatusEvents
from functions.serve.server import running
from functions.store import TERMINAL, ExecutionStore
from functions.webhook import sign

ROUTINE = {
    "name": "load",
    "trigger": {"type": "webhook"},
    "nodes": [{"id": "echo", "plugin": "transform", "parameters": {"fields": {"n": "{{ trigger.body.n }}"}}}],
}


def call(url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=120) as reply:
        payload = json.loads(reply.read())
        return reply.status, payload, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20, help="calls repeating an earlier Idempotency-Key")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting for records after this")
    args = parser.parse_args()
    user = {"X-User-Id": "bench", "Content-Type": "application/json"}
    with running() as server:
        base = server.url
        _, created, _ = call(f"{base}/routines", user, json.dumps(ROUTINE).encode())
        _, shown, _ = call(f"{base}/routines/{created['id']}/activate", user, b"{}")
        secret, hook = shown["webhook"]["secret"], f"{base}/hooks/{created['id']}"

        def signed(n: int) -> tuple[int, Any, float]:
            body = json.dumps({"n": n}).encode()
            headers = {"X-Signature-256": sign(secret, body), "Idempotency-Key": f"k{n}"}
            return call(hook, {**headers, "Content-Type": "application/json"}, body)

        plan = list(range(args.calls)) + list(range(min(args.repeats, args.calls)))
        began = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(signed, plan))
        elapsed = time.perf_counter() - began
        by_key: dict[int, set[str]] = {}
        for n, (status, payload, _) in zip(plan, results, strict=True):
            assert status == 202, (status, payload)
            by_key.setdefault(n, set()).add(payload["executionId"])
        ids = {i for found in by_key.values() for i in found}
        settle = StatusEvents._current
        waited = time.perf_counter()
        settled = settle.settle(args.timeout) if settle is not None else False
        settle_s = time.perf_counter() - waited
        machine = shown["stateMachineArn"]
        sfn = server.aws.client("stepfunctions")
        started = sum(
            len(p["executions"])
            for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
        )
        store = ExecutionStore()
        records = [store.get("bench", i) for i in ids]
        terminal = sum(1 for r in records if r is not None and r.status in TERMINAL)
    latencies = sorted(r[2] * 1000 for r in results)
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    print(
        f"webhook calls       {len(plan)} ({args.calls} keys + {len(plan) - args.calls} repeats), "
        f"concurrency {args.concurrency}"
    )
    print(f"requests/s          {len(plan) / elapsed:.1f}")
    print(f"latency p50 / p95   {statistics.median(latencies):.1f} / {p95:.1f} ms")
    print(f"executions started  {started} (expected {args.calls}); distinct ids answered {len(ids)}")
    print(f"terminal records    {terminal} (all settled: {settled}, {settle_s:.1f} s after the last call)")
    lost = args.calls - terminal
    duplicated = started - args.calls + sum(1 for found in by_key.values() if len(found) > 1)
    print(f"lost / duplicated   {lost} / {duplicated}")
    return 0 if lost == 0 and duplicated == 0 and started == args.calls else 1


if __name__ == "__main__":
    raise SystemExit(main())
