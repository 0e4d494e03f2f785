"""``respond: "result"`` on a webhook trigger: the caller waits (``respondTimeoutSeconds``,
1…25, default 10) and gets the execution's result — 200 with its output; a ``stop`` node
failing with ``httpStatus`` answers that status with ``{"error"}``; any other failure 502;
past the timeout 202 ``{executionId}``. A repeated Idempotency-Key is answered about the
same execution."""

from __future__ import annotations

import time
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.store import ExecutionStore
from statemachines.validator import validate_document
from tests.api.conftest import Api
from tests.api.test_webhooks import Hook


def responding(
    nodes: list[dict[str, Any]], connections: list[dict[str, Any]] | None = None, **trigger: Any
) -> Any:
    return {
        "name": "answering hook",
        "trigger": {"type": "webhook", "respond": "result", **trigger},
        "nodes": nodes,
        "connections": connections or [],
    }


class RespondingHook(Hook):
    def __init__(self, api: Api, aws: LocalAWS, document: dict[str, Any]) -> None:
        self.api, self.aws = api, aws
        self.id = api.ok("POST", "/routines", document)["id"]
        shown = api.ok("POST", f"/routines/{self.id}/activate")
        self.secret = shown["webhook"]["secret"]
        self.arn = shown["stateMachineArn"]
        from functions.webhook import secrets

        secrets.forget()


ECHO = [
    {"id": "echo", "plugin": "transform", "parameters": {"fields": {"got": "{{ trigger.body.orderId }}"}}}
]


def check_then_stop(http_status: Any = None) -> list[dict[str, Any]]:
    stop: dict[str, Any] = {"status": "fail", "error": "InvalidOrder", "cause": "orderId must be positive"}
    if http_status is not None:
        stop["httpStatus"] = http_status
    return [
        {
            "id": "valid",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.body.orderId }}", "op": "gt", "right": 0}},
        },
        {
            "id": "ok",
            "plugin": "transform",
            "parameters": {"fields": {"accepted": "{{ trigger.body.orderId }}"}},
        },
        {"id": "reject", "plugin": "stop", "parameters": stop},
    ]


CHECK_CONNECTIONS = [
    {"sourceNodeId": "valid", "sourcePort": "true", "targetNodeId": "ok"},
    {"sourceNodeId": "valid", "sourcePort": "false", "targetNodeId": "reject"},
]


def test_the_caller_gets_the_result(api: Api, aws: LocalAWS) -> None:
    hook = RespondingHook(api, aws, responding(ECHO))
    began = time.monotonic()
    status, body = hook.call(b'{"orderId": 7}')
    assert (status, body) == (200, {"echo": {"got": 7}})
    assert time.monotonic() - began < 10
    [execution] = hook.executions()
    assert execution["status"] == "SUCCEEDED"


def test_a_stop_with_an_http_status_answers_it(api: Api, aws: LocalAWS) -> None:
    hook = RespondingHook(api, aws, responding(check_then_stop(422), CHECK_CONNECTIONS))
    status, body = hook.call(b'{"orderId": -1}')
    assert status == 422
    assert body == {"error": {"type": "InvalidOrder", "message": "orderId must be positive"}}
    assert hook.call(b'{"orderId": 3}') == (200, {"ok": {"accepted": 3}})


def test_a_stop_without_one_is_500_and_any_other_failure_502(api: Api, aws: LocalAWS) -> None:
    hook = RespondingHook(api, aws, responding(check_then_stop(), CHECK_CONNECTIONS))
    status, body = hook.call(b'{"orderId": -1}')
    assert (status, body["error"]["type"]) == (500, "InvalidOrder")
    broken = [{"id": "parse", "plugin": "transform", "parameters": {"fields": {"n": "{{ $number('x') }}"}}}]
    other = RespondingHook(api, aws, responding(broken))
    status, body = other.call(b"{}")
    assert status == 502, body
    assert set(body) == {"error"} and body["error"]["type"]


def test_past_the_timeout_it_is_202_and_a_repeated_key_waits_for_the_same_execution(
    api: Api, aws: LocalAWS
) -> None:
    nap = [{"id": "nap", "plugin": "wait", "parameters": {"seconds": 3}}]
    hook = RespondingHook(api, aws, responding(nap, respondTimeoutSeconds=1))
    began = time.monotonic()
    status, body = hook.call(b'{"orderId": 1}', headers={"Idempotency-Key": "k-1"})
    assert status == 202 and set(body) == {"executionId"}
    assert 1 <= time.monotonic() - began < 3
    first = body["executionId"]
    # Still running: the repeat is a 202 with the same id, and nothing new started.
    status, body = hook.call(b'{"orderId": 1}', headers={"Idempotency-Key": "k-1"})
    assert (status, body) == (202, {"executionId": first})
    deadline = time.monotonic() + 15
    while hook.executions()[0]["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Ended: the repeat answers with that execution's result.
    status, body = hook.call(b'{"orderId": 1}', headers={"Idempotency-Key": "k-1"})
    assert status == 200, body  # the result of a routine that only waits: {}
    assert len(hook.executions()) == 1
    record = ExecutionStore().find(first)
    assert record is not None and record.trigger_type == "webhook"


def test_without_respond_it_is_202_at_once(api: Api, aws: LocalAWS) -> None:
    hook = RespondingHook(api, aws, {**responding(ECHO), "trigger": {"type": "webhook"}})
    status, body = hook.call()
    assert status == 202 and set(body) == {"executionId"}


@pytest.mark.parametrize("value", [0, 26, -1, "10", 2.5, True])
def test_a_bad_respond_timeout_is_an_error_at_its_path(value: Any) -> None:
    errors = validate_document(responding(ECHO, respondTimeoutSeconds=value)).errors
    assert [e.path for e in errors] == ["trigger.respondTimeoutSeconds"], errors


@pytest.mark.parametrize("value", [1, 10, 25])
def test_a_good_respond_timeout_validates(value: int) -> None:
    assert validate_document(responding(ECHO, respondTimeoutSeconds=value)).valid


def test_respond_takes_result_or_accepted() -> None:
    errors = validate_document(responding(ECHO, respond="later")).errors
    assert [e.path for e in errors] == ["trigger.respond"]
    assert validate_document(
        {**responding(ECHO), "trigger": {"type": "webhook", "respond": "accepted"}}
    ).valid


@pytest.mark.parametrize("value", [399, 600, 422.5])
def test_a_bad_http_status_is_an_error_at_its_path(value: Any) -> None:
    errors = validate_document(responding(check_then_stop(value), CHECK_CONNECTIONS)).errors
    assert [e.path for e in errors] == ["nodes[reject].parameters.httpStatus"], errors
