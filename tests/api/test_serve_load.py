"""``routines serve`` under load (issue #25): no connection is reset. Loopback only
(127.0.0.1), bounded in count and time.

250 concurrent signed webhook calls against a real ``routines serve`` process each get an
answer — ``202``, or ``503`` with ``Retry-After`` when the server's bounded pool is full —
and a full pool answers ``503`` rather than dropping connections."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.serve import running
from functions.webhook import sign
from tests.api.test_webhooks import webhook_routine

HOST = "127.0.0.1"  # never anything else
CALLS = 250
USER = {"X-User-Id": "alice", "Content-Type": "application/json"}


def call(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def webhook(port: int) -> tuple[str, str]:
    """An active webhook routine: its hook path and secret."""
    status, _, data = call(port, "POST", "/routines", json.dumps(webhook_routine()).encode(), USER)
    assert status == 201, data
    routine_id = json.loads(data)["id"]
    status, _, data = call(port, "POST", f"/routines/{routine_id}/activate", b"{}", USER)
    assert status == 200, data
    return f"/hooks/{routine_id}", json.loads(data)["webhook"]["secret"]


def burst(port: int, path: str, secret: str, calls: int) -> tuple[Counter[Any], list[str]]:
    """``calls`` signed webhook calls, each on its own connection, all released at once.
    Outcome → count (a status and whether Retry-After came with it, or the exception's
    name), and the execution ids answered."""
    barrier = threading.Barrier(calls)
    outcomes: Counter[Any] = Counter()
    executions: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        body = json.dumps({"n": n}).encode()
        headers = {"X-Signature-256": sign(secret, body), "Content-Type": "application/json"}
        barrier.wait(timeout=30)
        try:
            status, answer_headers, data = call(port, "POST", path, body, headers)
            outcome: Any = (status, "Retry-After" in answer_headers)
        except Exception as exc:  # ConnectionResetError, RemoteDisconnected, BrokenPipeError…
            outcome, data = type(exc).__name__, b""
        with lock:
            outcomes[outcome] += 1
            if outcome == (202, False):
                executions.append(json.loads(data)["executionId"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, executions


@contextmanager
def serve_process() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"Routines API on http://{HOST}:{port}"), first
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_250_concurrent_signed_webhooks_are_all_answered_and_none_reset() -> None:
    with serve_process() as port:
        path, secret = webhook(port)
        began = time.monotonic()
        outcomes, executions = burst(port, path, secret, CALLS)
        elapsed = time.monotonic() - began
    print(f"\n{CALLS} concurrent signed webhook calls in {elapsed:.1f} s: {dict(outcomes)}")
    assert sum(outcomes.values()) == CALLS
    assert set(outcomes) <= {(202, False), (503, True)}, outcomes  # no reset, no other answer
    assert len(set(executions)) == len(executions) == outcomes[(202, False)]


def test_a_full_pool_answers_503_with_retry_after_and_resets_nothing(tmp_path: Any) -> None:
    log = (tmp_path / "requests.log").open("w")
    with running(log=log, workers=1, waiting=1) as server:
        port = int(server.httpd.server_address[1])
        path, secret = webhook(port)
        # The one worker, then the one place in the queue, taken by clients that connect
        # and send nothing yet.
        slow = []
        for _ in range(2):
            slow.append(socket.create_connection((HOST, port)))
            time.sleep(0.3)
        big = json.dumps({"pad": "x" * 200_000}).encode()  # refused, yet read: no reset
        outcomes: Counter[Any] = Counter()
        for body in (b"{}", big):
            for _ in range(10):
                status, headers, data = call(
                    port, "POST", path, body, {"X-Signature-256": sign(secret, body)}
                )
                outcomes[status, headers.get("Retry-After"), json.loads(data)["errors"][0]["code"]] += 1
        assert outcomes == {(503, "1", "busy"): 20}
        assert server.httpd.refused == 20
        lines = (tmp_path / "requests.log").read_text().splitlines()
        assert lines.count(f"POST {path} 503 busy") == 20
        for client in slow:
            client.close()
        # The worker is free again once it has seen those clients go: a retry gets in.
        deadline = time.monotonic() + 10
        while (status := call(port, "POST", path, b"{}", {"X-Signature-256": sign(secret, b"{}")})[0]) == 503:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert status == 202
    log.close()
