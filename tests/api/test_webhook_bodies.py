"""Signed webhook bodies that are JSON the product refuses (issue #25): nested too deep,
repeated keys, numbers out of range. A 400 ``invalid_json`` with the place, no execution —
and under ``routines serve`` an HTTP answer, never a dropped connection."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.local import LocalAWS
from functions.serve import running
from functions.store import ExecutionStore
from functions.webhook import sign
from tests.api.conftest import Api
from tests.api.test_serve import http
from tests.api.test_webhooks import Hook, webhook_routine


@pytest.fixture
def hook(api: Api, aws: LocalAWS) -> Hook:
    return Hook(api, aws)


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        (b"[" * 5000 + b"]" * 5000, "body", "nests deeper than 128 levels"),
        (b'{"a": ' + b"[" * 300 + b"]" * 300 + b"}", "body.a" + "[0]" * 127, "nests deeper than"),
        (b'{"orderId": 1, "orderId": 2}', "body.orderId", "duplicate key 'orderId'"),
        (b'{"total": ' + b"9" * 5000 + b"}", "body.total", "5,000 digits"),
        (b'{"total": 1e999}', "body.total", "out of range"),
        (b'{"note": "\\udc00"}', "body.note", "unpaired surrogate"),
    ],
)
def test_a_signed_body_the_parser_refuses_is_400_and_starts_nothing(
    hook: Hook, body: bytes, path: str, words: str
) -> None:
    status, answer = hook.call(body=body)
    assert status == 400, answer
    (problem,) = answer["errors"]
    assert problem["code"] == "invalid_json" and problem["path"] == path and words in problem["message"]
    assert hook.executions() == []


def test_an_unsigned_refused_body_is_still_401(hook: Hook) -> None:
    status, _ = hook.call(body=b"[" * 5000 + b"]" * 5000, signature=None)
    assert status == 401 and hook.executions() == []


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        (b"plain words", "plain words"),
        (b'{"a": NaN}', '{"a": NaN}'),  # not JSON: kept as text, as before
        (b"[1, 2", "[1, 2"),
        (b'{"a": [1, {"b": "\\ud83d\\ude00"}]}', {"a": [1, {"b": "\U0001f600"}]}),
    ],
)
def test_text_that_is_not_json_is_still_kept_as_text(hook: Hook, body: bytes, seen: Any) -> None:
    status, answer = hook.call(body=body)
    assert status == 202, answer
    record = ExecutionStore().get("alice", answer["executionId"])
    assert record is not None and record.trigger["body"] == seen


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """One raw HTTP request (an answer or an exception: a dropped connection is one)."""
    parts = urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_serve_answers_a_signed_body_nested_5000_deep_and_keeps_serving() -> None:
    with running() as server:
        routine = http(server.url, "POST", "/routines", webhook_routine())[1]
        secret = http(server.url, "POST", f"/routines/{routine['id']}/activate")[1]["webhook"]["secret"]
        body = b"[" * 5000 + b"]" * 5000
        status, answer = post(
            f"{server.url}/hooks/{routine['id']}", body, {"X-Signature-256": sign(secret, body)}
        )
        assert status == 400 and answer["errors"][0]["code"] == "invalid_json"
        assert http(server.url, "GET", f"/routines/{routine['id']}/executions")[1]["items"] == []
        body = b'{"orderId": 7}'
        status, answer = post(
            f"{server.url}/hooks/{routine['id']}", body, {"X-Signature-256": sign(secret, body)}
        )
        assert status == 202 and "executionId" in answer


def test_serve_answers_500_when_a_handler_raises_instead_of_dropping_the_connection() -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    with running() as server:
        server.dispatcher.add("/broken/", broken, "broken")
        status, answer = post(f"{server.url}/broken/x", b"{}", {})
        assert status == 500
        assert answer["errors"][0]["code"] == "internal" and "bug" not in json.dumps(answer)
        assert answer["requestId"]
        assert http(server.url, "GET", "/routines")[0] == 200  # still serving
