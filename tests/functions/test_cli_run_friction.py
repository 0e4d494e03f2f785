"""``routines run`` as a newcomer meets it: an approval says how to decide it and can be
decided from the command line; a cron routine gets the trigger a firing gives; a routed
node is one line of the timeline."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main

APPROVAL = {
    "name": "ask first",
    "trigger": {"type": "manual"},
    "nodes": [
        {"id": "ask", "plugin": "approval", "parameters": {"message": "ok?"}},
        {"id": "yes", "plugin": "transform", "parameters": {"fields": {"by": "{{ nodes.ask.by }}"}}},
        {"id": "no", "plugin": "transform", "parameters": {"fields": {"x": 0}}},
    ],
    "connections": [
        {"sourceNodeId": "ask", "targetNodeId": "yes", "sourcePort": "approved"},
        {"sourceNodeId": "ask", "targetNodeId": "no", "sourcePort": "rejected"},
    ],
}


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: Any, *args: str
) -> tuple[int, str, str]:
    """The exit code, the last line of stdout (the --json report is one line; a plugin's
    metrics line, printed on a pooled thread, may come before it) and stderr."""
    path = tmp_path / "routine.json"
    path.write_text(json.dumps(document))
    code = main(["run", str(path), *args])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, lines[-1] if lines else "", err


def test_an_approval_says_how_to_decide_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, tmp_path, APPROVAL, "--timeout", "1")
    assert code == 1
    assert (
        "ask                      waits for a decision: run again with --approve ask or --reject ask" in err
    )


@pytest.mark.parametrize(("flag", "ran"), [("--approve", "yes"), ("--reject", "no")])
def test_approve_and_reject_decide_it_as_the_api_would(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str, ran: str
) -> None:
    code, out, err = run(capsys, tmp_path, APPROVAL, flag, "ask", "--json", "--timeout", "30")
    assert code == 0, err
    result = json.loads(out)
    assert result["nodes"][ran]["status"] == "succeeded"
    assert result["nodes"]["ask"]["output"]["by"] == "routines run"
    assert {"yes", "no"} - {ran} == {n for n in ("yes", "no") if result["nodes"][n]["status"] == "skipped"}


def test_a_decision_for_no_approval_node_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, tmp_path, APPROVAL, "--approve", "nope", "--json")
    assert code == 2 and "--approve/--reject name no approval node of the routine: nope" in err
    code, _, err = run(capsys, tmp_path, APPROVAL, "--approve", "ask", "--reject", "ask")
    assert code == 2 and "both --approve and --reject name ask" in err


CRON = {
    "name": "nightly",
    "trigger": {"type": "cron", "schedule": "0 8 * * 1-5", "timezone": "Europe/Berlin"},
    "nodes": [
        {
            "id": "when",
            "plugin": "transform",
            "parameters": {
                "fields": {
                    "at": "{{ trigger.scheduledTime }}",
                    "tz": "{{ trigger.timezone }}",
                    "x": "{{ trigger.x }}",
                }
            },
        }
    ],
    "connections": [],
}


def test_a_cron_routine_gets_the_trigger_a_firing_gives(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, tmp_path, CRON, "--json")
    assert code == 0
    seen = json.loads(out)["nodes"]["when"]["output"]
    assert seen["tz"] == "Europe/Berlin" and seen["x"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seen["at"])
    at = datetime.fromisoformat(seen["at"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)
    code, out, _ = run(capsys, tmp_path, CRON, "--json", "--input", '{"x": 1, "timezone": "UTC"}')
    seen = json.loads(out)["nodes"]["when"]["output"]
    assert (seen["x"], seen["tz"]) == (1, "UTC") and seen["at"]  # --input laid over the firing's


def test_a_routed_node_is_one_line_of_the_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["run", str(root / "examples" / "hello.json")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "done" in line]
    names = [line.split()[1] for line in lines]
    assert len(names) == len(set(names)) and "anyone" in names, lines
