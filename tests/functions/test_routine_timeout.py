"""Routine-level ``timeoutSeconds``: validated (1 … 31,536,000, a whole number, at path
``timeoutSeconds``), compiled into the machine's top-level ``TimeoutSeconds``, and an
execution that runs past it ends TIMED_OUT with an error that says so."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.api import context as api_context
from functions.cli.main import main
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.store import ExecutionStore
from functions.trace import timed_out_error
from statemachines.compiler import compile_routine
from statemachines.model import MAX_ROUTINE_TIMEOUT_SECONDS
from statemachines.validator import validate_document
from tests.api.conftest import Api


def routine(timeout: Any = None, wait: int = 5, execution: str = "auto") -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "slow",
        "trigger": {"type": "manual"},
        "execution": execution,
        "nodes": [{"id": "nap", "plugin": "wait", "parameters": {"seconds": wait}}],
    }
    if timeout is not None:
        document["timeoutSeconds"] = timeout
    return document


@pytest.mark.parametrize("value", [0, -5, MAX_ROUTINE_TIMEOUT_SECONDS + 1, "60", 1.5, True, None, [1]])
def test_a_bad_timeout_is_an_error_at_its_path(value: Any) -> None:
    document = routine()
    document["timeoutSeconds"] = value
    errors = validate_document(document).errors
    assert [(e.code, e.path) for e in errors] == [("invalid_document", "timeoutSeconds")]
    assert "1 to 31,536,000" in errors[0].message


@pytest.mark.parametrize("value", [1, 3600, MAX_ROUTINE_TIMEOUT_SECONDS])
def test_a_good_timeout_validates(value: int) -> None:
    assert validate_document(routine(value)).valid


def test_compile_puts_it_on_the_machine_and_only_there() -> None:
    asl = compile_routine(routine(90)).asl
    assert asl["TimeoutSeconds"] == 90
    assert all("TimeoutSeconds" not in state for state in asl["States"].values())
    assert "TimeoutSeconds" not in compile_routine(routine()).asl


def test_the_error_names_the_timeout() -> None:
    assert timed_out_error(1) == {
        "type": "States.Timeout",
        "message": "the routine ran longer than its timeoutSeconds (1 s)",
    }
    assert timed_out_error(None)["type"] == "States.Timeout"


@pytest.fixture
def api() -> Iterator[tuple[Api, LocalAWS]]:
    with LocalAWS() as aws:
        api_context.reset()
        yield Api(), aws
        api_context.reset()


@pytest.mark.parametrize("execution", ["standard", "express"])
def test_a_run_past_its_timeout_ends_timed_out_with_a_clear_error(
    api: tuple[Api, LocalAWS], execution: str
) -> None:
    client, aws = api
    routine_id = client.ok("POST", "/routines", routine(1, wait=5, execution=execution))["id"]
    client.ok("POST", f"/routines/{routine_id}/activate")
    expected = {"type": "States.Timeout", "message": "the routine ran longer than its timeoutSeconds (1 s)"}
    began = time.monotonic()
    # Read from Step Functions before any recorder ran: already the same error.
    execution_id = client.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
    shown: dict[str, Any] = {}
    while time.monotonic() - began < 4.5:
        shown = client.ok("GET", f"/executions/{execution_id}")
        if shown["status"] != "RUNNING":
            break
        time.sleep(0.1)
    assert shown["status"] == "TIMED_OUT" and shown["error"] == expected
    assert time.monotonic() - began < 4.5  # the timeout, not the 5 s wait, ended it
    # Recorded by the recorder from the status event.
    with StatusEvents(aws) as events:
        second = client.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
        assert events.settle(30)
    record = ExecutionStore().find(second)
    assert record is not None and record.status == "TIMED_OUT" and record.error == expected
    # It ran until its timeout: a Standard one's end is dated by its status event, an
    # Express one's by the sweep (started + limit).
    assert record.stopped_at is not None and 0.9 <= record.stopped_at - record.started_at < 4.5
    shown = client.ok("GET", f"/executions/{second}")
    assert shown["error"] == expected
    # The wait did not fail: the routine's time ran out while it waited.
    assert shown["nodes"]["nap"]["status"] == "cancelled" and shown["nodes"]["nap"]["error"] is None


def test_routines_run_json_reports_the_timeout(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(routine(timeout=1, wait=5)))
    assert main(["run", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["status"] == "TIMED_OUT"
    assert report["error"] == timed_out_error(1)
