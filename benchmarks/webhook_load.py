"""Webhook load through ``routines serve`` (loopback only, bounded): N concurrent signed
webhook calls, each with its own Idempotency-Key, plus repeats of some keys; then every
execution must end with exactly one terminal record — zero lost, zero duplicated — and
no connection may be reset.

    .venv/bin/python benchmarks/webhook_load.py [--calls 200] [--concurrency 16] [--repeats 20]
        [--burst] [--process] [--state-dir DIR]

``--burst``: every call on a connection of its own, all released at once (the concurrency
is then the number of calls). ``--process``: the server is a real ``routines serve``
subprocess (else one in this process, whose client threads share its interpreter);
records are then read through the API. ``--state-dir``: the server keeps its state there.

Prints requests/s, p50/p95 latency of the webhook calls, the answers (202, 503 with
Retry-After, connection resets and other failures), executions started (Step Functions'
own count in-process; the records listed with ``--process``), terminal records, lost and
duplicated, and the time until the last record was terminal.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from functions.local.status_events import StatusEvents
from functions.serve.server import running
from functions.store import TERMINAL, ExecutionStore
from functions.webhook import sign

HOST = "127.0.0.1"  # loopback only
ROUTINE = {
    "name": "load",
    "trigger": {"type": "webhook"},
    "nodes": [{"id": "echo", "plugin": "transform", "parameters": {"fields": {"n": "{{ trigger.body.n }}"}}}],
}
USER = {"X-User-Id": "bench", "Content-Type": "application/json"}
Result = tuple[Any, Any, float]  # (status, or the exception's name), answer, seconds


def call(port: int, path: str, headers: dict[str, str], body: bytes, method: str = "POST") -> Result:
    """One request on a connection of its own."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        status: Any = reply.status
        if status == 503 and reply.getheader("Retry-After"):
            status = "503+Retry-After"
        payload = json.loads(data) if data else None
    except Exception as exc:  # ConnectionResetError, RemoteDisconnected, BrokenPipeError, …
        status, payload = type(exc).__name__, None
    finally:
        connection.close()
    return status, payload, time.perf_counter() - started


@contextmanager
def in_process(state_dir: Path | None) -> Iterator[tuple[int, Callable[[float], bool], Any]]:
    with running(state_dir=state_dir) as server:
        settle = StatusEvents._current

        def settled(timeout: float) -> bool:
            return settle.settle(timeout) if settle is not None else False

        yield int(server.httpd.server_address[1]), settled, server


@contextmanager
def subprocess_server(state_dir: Path | None) -> Iterator[tuple[int, Callable[[float], bool], Any]]:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "functions.cli", "serve", "--port", str(port)]
    if state_dir is not None:
        command += ["--state-dir", str(state_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        yield port, lambda timeout: True, None
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def listed(port: int, routine_id: str) -> dict[str, str]:
    """Execution id → status, from the records, through the API."""
    found: dict[str, str] = {}
    token = ""
    while True:
        path = f"/routines/{routine_id}/executions?limit=100" + (f"&nextToken={token}" if token else "")
        status, page, _ = call(port, path, USER, b"", "GET")
        assert status == 200, (status, page)
        found.update({item["executionId"]: item["status"] for item in page["items"]})
        token = page.get("nextToken") or ""
        if not token:
            return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20, help="calls repeating an earlier Idempotency-Key")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting for records after this")
    parser.add_argument("--burst", action="store_true", help="every call at once, each on its own connection")
    parser.add_argument("--process", action="store_true", help="a real `routines serve` subprocess")
    parser.add_argument("--state-dir", type=Path, help="the server keeps its state here")
    args = parser.parse_args()
    server = subprocess_server if args.process else in_process
    with server(args.state_dir) as (port, settled, local):
        _, created, _ = call(port, "/routines", USER, json.dumps(ROUTINE).encode())
        _, shown, _ = call(port, f"/routines/{created['id']}/activate", USER, b"{}")
        secret, hook = shown["webhook"]["secret"], f"/hooks/{created['id']}"
        plan = list(range(args.calls)) + list(range(min(args.repeats, args.calls)))
        concurrency = len(plan) if args.burst else args.concurrency
        barrier = threading.Barrier(concurrency) if args.burst else None

        def signed(n: int) -> Result:
            body = json.dumps({"n": n}).encode()
            headers = {"X-Signature-256": sign(secret, body), "Idempotency-Key": f"k{n}"}
            if barrier is not None:
                barrier.wait(timeout=60)
            return call(port, hook, {**headers, "Content-Type": "application/json"}, body)

        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(signed, plan))
        elapsed = time.perf_counter() - began
        answers = Counter(status for status, _, _ in results)
        by_key: dict[int, set[str]] = {}
        for n, (status, payload, _) in zip(plan, results, strict=True):
            if status == 202:
                by_key.setdefault(n, set()).add(payload["executionId"])
        ids = {i for found in by_key.values() for i in found}
        waited = time.perf_counter()
        if args.process:  # the records, through the API, until every one is terminal
            deadline = time.monotonic() + args.timeout
            while True:
                records = listed(port, created["id"])
                settled_all = all(records.get(i) in TERMINAL for i in ids)
                if settled_all or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            started = len(records)
            terminal = sum(1 for i in ids if records.get(i) in TERMINAL)
        else:
            settled_all = settled(args.timeout)
            sfn = local.aws.client("stepfunctions")
            started = sum(
                len(p["executions"])
                for p in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=shown["stateMachineArn"]
                )
            )
            store = ExecutionStore()
            stored = [store.get("bench", i) for i in ids]
            terminal = sum(1 for r in stored if r is not None and r.status in TERMINAL)
        settle_s = time.perf_counter() - waited
    latencies = sorted(r[2] * 1000 for r in results)
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    expected = len(by_key)  # keys answered 202 at least once
    failures = {k: v for k, v in answers.items() if k not in (202, "503+Retry-After")}
    print(
        f"webhook calls       {len(plan)} ({args.calls} keys + {len(plan) - args.calls} repeats), "
        f"concurrency {concurrency}{' (burst)' if args.burst else ''}, "
        f"server {'subprocess' if args.process else 'in-process'}"
        f"{f', state in {args.state_dir}' if args.state_dir else ''}"
    )
    print(f"requests/s          {len(plan) / elapsed:.1f}")
    print(f"latency p50 / p95   {statistics.median(latencies):.1f} / {p95:.1f} ms")
    print(
        f"answers             202: {answers[202]}, 503 with Retry-After: {answers['503+Retry-After']}, "
        f"connection resets and other failures: {sum(failures.values())} {failures or ''}"
    )
    print(f"executions started  {started} (expected {expected}); distinct ids answered {len(ids)}")
    print(
        f"terminal records    {terminal} (all settled: {settled_all}, {settle_s:.1f} s after the last call)"
    )
    lost = expected - terminal
    duplicated = started - expected + sum(1 for found in by_key.values() if len(found) > 1)
    print(f"lost / duplicated   {lost} / {duplicated}")
    return 0 if lost == 0 and duplicated == 0 and started == expected and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
