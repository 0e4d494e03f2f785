"""The trace tells what is happening: a node still running or waiting is not 'failed',
the nodes after it are 'pending', and a node Step Functions timed out is 'failed' with the
timeout even when its error is routed on (and whatever its Lambda logged afterwards)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from functions.local.runner import RunningExecution, start_routine
from functions.trace import trace_execution
from plugins.runtime import handler as plugin_handler
from tests.conftest import link, routine
from tests.functions.test_local_runtime import _approval_doc


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields or {"x": 1}}}


def statuses_now(aws: LocalAWS, running: RunningExecution) -> dict[str, str]:
    trace = trace_execution(
        aws.client("stepfunctions"), running.arn, running.topology, running.compiled.report
    )
    return {node: entry["status"] for node, entry in trace.nodes.items()}


def until(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_run_at_a_wait_node_shows_it_waiting_and_what_follows_pending(aws: LocalAWS) -> None:
    document = routine(
        transform("first"),
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 2}},
        transform("after"),
        connections=[link("first", "pause"), link("pause", "after")],
    )
    running = start_routine(aws, document)
    until(lambda: statuses_now(aws, running).get("pause") == "waiting")
    assert statuses_now(aws, running) == {"first": "succeeded", "pause": "waiting", "after": "pending"}
    result = running.wait(timeout=30)
    assert {n: e["status"] for n, e in result.nodes.items()} == {
        "first": "succeeded",
        "pause": "succeeded",
        "after": "succeeded",
    }


def test_an_approval_waiting_for_a_person_shows_waiting(aws: LocalAWS) -> None:
    running = start_routine(aws, _approval_doc(), {"id": 1})
    until(lambda: statuses_now(aws, running).get("ask") == "waiting")
    now = statuses_now(aws, running)
    assert now == {"ask": "waiting", "ship": "pending", "cancel": "pending"}
    aws.client("stepfunctions").stop_execution(executionArn=running.arn)


@pytest.fixture
def slow_first_attempt(monkeypatch: pytest.MonkeyPatch) -> threading.Semaphore:
    """The ``slow`` node's first attempt outlives its timeoutSeconds (then logs success)."""
    invoke, attempts, returned = plugin_handler.invoke, [0], threading.Semaphore(0)

    def slow(plugin: Any, execute: Any, event: dict[str, Any], context: Any, **kw: Any) -> Any:
        if event.get("node") == "slow":
            attempts[0] += 1
            if attempts[0] == 1:
                time.sleep(1.5)
                try:
                    return invoke(plugin, execute, event, context, **kw)
                finally:
                    returned.release()
        return invoke(plugin, execute, event, context, **kw)

    monkeypatch.setattr(plugin_handler, "invoke", slow)
    return returned


def test_a_timed_out_node_whose_error_is_routed_is_failed_with_the_timeout(
    aws: LocalAWS, slow_first_attempt: threading.Semaphore
) -> None:
    document = routine(
        transform("slow") | {"timeoutSeconds": 1, "onError": "route"},
        transform("ok"),
        transform("handled", seen="{{ nodes.slow.error.type }}"),
        connections=[link("slow", "ok"), link("slow", "handled", "error")],
    )
    result = run_routine(aws, document, timeout=30)
    assert slow_first_attempt.acquire(timeout=10)  # its Lambda went on, and logged success
    assert result.status == "SUCCEEDED"
    slow = result.nodes["slow"]
    assert slow["status"] == "failed" and slow["error"]["type"] == "States.Timeout"
    assert slow["output"] == {"error": slow["error"]}  # what the nodes after it read
    assert result.nodes["ok"]["status"] == "skipped"
    assert result.nodes["handled"]["output"] == {"seen": "States.Timeout"}


def test_a_timed_out_attempt_retried_to_success_is_succeeded(
    aws: LocalAWS, slow_first_attempt: threading.Semaphore
) -> None:
    document = routine(
        transform("slow") | {"timeoutSeconds": 1, "retry": {"maxAttempts": 2, "intervalSeconds": 1}},
        transform("after", got="{{ nodes.slow.x }}"),
        connections=[link("slow", "after")],
    )
    result = run_routine(aws, document, timeout=30)
    assert slow_first_attempt.acquire(timeout=10)
    assert result.status == "SUCCEEDED"
    assert result.nodes["slow"]["status"] == "succeeded"
    assert result.nodes["after"]["output"] == {"got": 1}
