"""The live timeline of ``routines run``: each node's own state says ``done`` or
``failed: <error>`` (a failure the node's onError catches is a failure too), a retried
attempt is shown, and a node's other states (internal names) print nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main

CLOSED = "http://127.0.0.1:9/nothing-listens-here"


def timeline(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The timeline's lines without their times."""
    err = capsys.readouterr().err
    return [" ".join(line.split()[1:]) for line in err.splitlines() if line.startswith("  ")]


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any]) -> list[str]:
    path = tmp_path / "routine.json"
    path.write_text(json.dumps(document))
    main(["run", str(path)])
    return timeline(capsys)


def fetch(**settings: Any) -> dict[str, Any]:
    return {"id": "get", "plugin": "http-request", "parameters": {"url": CLOSED}, **settings}


def after() -> dict[str, Any]:
    return {"id": "after", "plugin": "transform", "parameters": {"fields": {"a": 1}}}


def routine(*nodes: dict[str, Any], connections: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": "t",
        "trigger": {"type": "manual"},
        "nodes": list(nodes),
        "connections": connections or [],
    }


def test_a_node_that_succeeds_is_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, capsys, routine(after())) == ["after done"]


def test_a_retried_failure_shows_each_attempt_and_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = routine(fetch(retry={"maxAttempts": 2, "intervalSeconds": 1}))
    assert run(tmp_path, capsys, document) == [
        "get attempt failed: Routines.OperationalError",
        "get failed: Routines.OperationalError",
        "execution failed",
    ]


def test_a_caught_failure_is_failed_not_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = [{"sourceNodeId": "get", "sourcePort": "error", "targetNodeId": "after"}]
    document = routine(fetch(onError="route"), after(), connections=link)
    assert run(tmp_path, capsys, document) == ["get failed: Routines.OperationalError", "after done"]


def test_internal_states_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # An execute-routine node has a call-depth Choice and a Task per attempt.
    order = {"body": {"order": {"id": "A-1", "items": [{"price": 2.5, "qty": 4}]}}}
    main(["run", "examples/sub-routine.json", "--input", json.dumps(order)])
    lines = [
        " ".join(line.split()[1:]) for line in capsys.readouterr().err.splitlines() if line.startswith("  ")
    ]
    assert lines == ["price done", "accepted done"]
