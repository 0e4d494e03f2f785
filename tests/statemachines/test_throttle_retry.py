"""Every Lambda task waits out throttling (reserved concurrency) for minutes, not seconds."""

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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_lambda_tasks_retry_throttling_for_minutes(path: Path) -> None:
    tasks = _tasks(compile_routine(json.loads(path.read_text())).asl)
    assert tasks
    for task in tasks:
        [throttled] = [r for r in task["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert throttled["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
        assert throttled["JitterStrategy"] == "FULL" and _budget(throttled) >= 240
