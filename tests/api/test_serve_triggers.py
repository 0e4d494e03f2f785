"""Triggers through ``routines serve`` over HTTP: a signed webhook call runs, and the
recorder (fed by the local status events) leaves a terminal record with its trace."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from functions.serve.server import running
from functions.store import ExecutionStore
from functions.webhook import sign
from tests.api.test_webhooks import webhook_routine


def http(base: str, method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_webhook_call_through_serve_ends_with_a_terminal_record() -> None:
    with running() as server:
        base, user = server.url, {"X-User-Id": "alice", "Content-Type": "application/json"}
        _, created = http(base, "POST", "/routines", json.dumps(webhook_routine()).encode(), **user)
        _, shown = http(base, "POST", f"/routines/{created['id']}/activate", b"{}", **user)
        body = b'{"orderId": 42}'
        status, started = http(
            base,
            "POST",
            f"/hooks/{created['id']}",
            body,
            **{"X-Signature-256": sign(shown["webhook"]["secret"], body)},
        )
        assert status == 202
        assert http(base, "POST", f"/hooks/{created['id']}", body)[0] == 401
        assert server.triggers.events.settle(30)
        record = ExecutionStore().get("alice", started["executionId"])
        assert record is not None and record.status == "SUCCEEDED"
        assert record.nodes is not None and record.nodes["echo"]["status"] == "succeeded"
        assert record.nodes["echo"]["output"] == {"got": {"orderId": 42}}
