"""API latency through ``routines serve`` on this machine. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/api_latency.py [--rounds N]

A real HTTP server on 127.0.0.1 (the local runtime, moto in-process) and a client on
keep-alive connections, as a user's curl or UI would call it. Per operation, over N
rounds on a 10-node routine with a cron trigger:

- save: ``POST /routines`` (validate + store version 1), and ``PUT`` (a new version);
- activate: ``POST /routines/{id}/activate`` (compile, create the state machine and the
  Scheduler schedule); the very first one is shown apart — it pays moto's one-time import
  of its Step Functions backend, which a deployed API never does;
- re-activate after an edit (update machine and schedule in place);
- start: ``POST /routines/{id}/executions`` (202 once Step Functions has the execution
  and its RUNNING record is written; the run itself is not timed);
- read: ``GET /routines/{id}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.serve import running


def routine(name: str, message: str = "hello") -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "plugin": "static-data", "parameters": {"data": {"n": 0}}}]
    for i in range(1, 10):
        fields = {"step": i, "previous": f"{{{{ nodes.n{i - 1} }}}}", "message": message}
        nodes.append({"id": f"n{i}", "plugin": "transform", "parameters": {"fields": fields}})
    connections = [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(9)]
    trigger = {"type": "cron", "schedule": "0 8 * * 1-5", "timezone": "Europe/Berlin"}
    return {"name": name, "trigger": trigger, "nodes": nodes, "connections": connections}


class Client:
    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[float, Any]:
        data = None if body is None else json.dumps(body)
        started = time.perf_counter()
        self.connection.request(method, path, data, {"X-User-Id": "bench", **(headers or {})})
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return elapsed, json.loads(payload) if payload else None


def show(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    print(
        f"  {label:<28} median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   "
        f"min {ordered[0]:7.1f} ms   max {ordered[-1]:7.1f} ms   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    figures: dict[str, list[float]] = {
        k: [] for k in ("save", "update", "activate", "reactivate", "start", "read")
    }
    started = time.perf_counter()
    with running() as server:
        print(f"routines serve up in {(time.perf_counter() - started):.1f} s at {server.url}")
        client = Client(server.url)
        runs: list[str] = []
        _, first = client.call("POST", "/routines", routine("warm-up"))
        cold, _ = client.call("POST", f"/routines/{first['id']}/activate")
        for n in range(rounds):
            elapsed, saved = client.call("POST", "/routines", routine(f"r{n}"))
            figures["save"].append(elapsed)
            path = f"/routines/{saved['id']}"
            figures["activate"].append(client.call("POST", f"{path}/activate")[0])
            elapsed, run = client.call("POST", f"{path}/executions", {"input": {"n": n}})
            figures["start"].append(elapsed)
            runs.append(run["executionId"])
            figures["read"].append(client.call("GET", path)[0])
            figures["update"].append(
                client.call("PUT", path, routine(f"r{n}", "edited"), {"If-Match": '"1"'})[0]
            )
            figures["reactivate"].append(client.call("POST", f"{path}/activate")[0])
        # Let the runs finish before the local AWS goes away (else they fail noisily).
        deadline = time.monotonic() + 120
        while runs and time.monotonic() < deadline:
            if client.call("GET", f"/executions/{runs[-1]}")[1]["status"] == "RUNNING":
                time.sleep(0.2)
            else:
                runs.pop()
    print(f"API latency through routines serve, 10-node cron routine, {rounds} rounds:")
    print(f"  {'first activation (cold)':<28} {cold:7.1f} ms  (moto imports its Step Functions backend once)")
    show("save (POST /routines)", figures["save"])
    show("update (PUT, new version)", figures["update"])
    show("activate", figures["activate"])
    show("re-activate after an edit", figures["reactivate"])
    show("start (POST executions)", figures["start"])
    show("read (GET /routines/{id})", figures["read"])


if __name__ == "__main__":
    main()
