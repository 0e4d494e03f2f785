"""Every Lambda task retries what AWS recommends, and waits out throttling (reserved
concurrency) for minutes, not seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statemachines.compiler import compile_routine

EXAMPLES = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.json") if ".test." not in p.name
)


def _tasks(machine: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for state in machine["States"].values():
        if state["Type"] == "Task" and "lambda" in json.dumps(state.get("Resource", "")):
            out.append(state)
        for branch in state.get("Branches", []):
            out += _tasks(branch)
        if "ItemProcessor" in state:
            out += _tasks(state["ItemProcessor"])
    return out


def _budget(retrier: dict[str, Any]) -> float:
    """Longest total wait of a retrier (before jitter)."""
    delay, total = retrier["IntervalSeconds"], 0.0
    for _ in range(retrier["MaxAttempts"]):
        total += min(delay, retrier.get("MaxDelaySeconds", delay))
        delay *= retrier["BackoffRate"]
    return total


def _delays(retrier: dict[str, Any]) -> list[float]:
    """The wait before each retry (before jitter)."""
    out, delay = [], retrier["IntervalSeconds"]
    for _ in range(retrier["MaxAttempts"]):
        out.append(min(delay, retrier.get("MaxDelaySeconds", delay)))
        delay *= retrier["BackoffRate"]
    return out


# docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
AWS_RECOMMENDED = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}


def _first_matching(task: dict[str, Any], error: str) -> dict[str, Any]:
    """The retrier Step Functions uses for ``error``: the first that names it (or States.ALL)."""
    return next(r for r in task["Retry"] if error in r["ErrorEquals"] or r["ErrorEquals"] == ["States.ALL"])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_lambda_tasks_retry_throttling_for_minutes(path: Path) -> None:
    tasks = _tasks(compile_routine(json.loads(path.read_text())).asl)
    assert tasks
    for task in tasks:
        throttled = _first_matching(task, "Lambda.TooManyRequestsException")
        assert throttled["JitterStrategy"] == "FULL" and _budget(throttled) >= 240


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_lambda_tasks_retry_transient_errors_at_least_as_aws_recommends(path: Path) -> None:
    """Every retry AWS's recommended retrier makes is made, after a wait no longer than its."""
    recommended = _delays(AWS_RECOMMENDED)
    for task in _tasks(compile_routine(json.loads(path.read_text())).asl):
        for error in AWS_RECOMMENDED["ErrorEquals"]:
            retrier = _first_matching(task, error)
            assert retrier["ErrorEquals"] != ["States.ALL"], "a node's own policy is no substitute"
            ours = _delays(retrier)
            assert len(ours) >= len(recommended)
            assert all(a <= b for a, b in zip(ours, recommended, strict=False)), (ours, recommended)


def test_one_retrier_covers_every_lambda_error_before_the_nodes_own_policy() -> None:
    """A Task's Retry is the largest part of a compiled machine: the Lambda errors share one
    retrier, and it comes first, so a node's States.ALL policy never takes them."""
    routine = {
        "name": "retrying",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "a",
                "plugin": "transform",
                "parameters": {"fields": {"x": 1}},
                "retry": {"maxAttempts": 3, "intervalSeconds": 5},
            }
        ],
        "connections": [],
    }
    [task] = _tasks(compile_routine(routine).asl)
    lambda_errors = [r for r in task["Retry"] if any(e.startswith("Lambda.") for e in r["ErrorEquals"])]
    assert lambda_errors == [task["Retry"][0]]
    throttled = "Lambda.TooManyRequestsException"
    assert set(task["Retry"][0]["ErrorEquals"]) == {*AWS_RECOMMENDED["ErrorEquals"], throttled}
    assert task["Retry"][-1]["ErrorEquals"] == ["States.ALL"] and task["Retry"][-1]["MaxAttempts"] == 2
