"""The client commands say whose routines they see, take the user from the environment,
and read a status in any case; ``routines --version`` answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions.cli.main import main
from functions.serve import running
from tests.api.conftest import manual
from tests.api.test_serve import http

ROOT = Path(__file__).resolve().parents[2]


def test_push_and_executions_say_which_user_and_take_it_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routine_file = tmp_path / "r.json"
    routine_file.write_text(json.dumps(manual("mine")))
    monkeypatch.setenv("ROUTINES_USER", "alice")
    with running() as server:
        assert main(["push", str(routine_file), "--api", server.url, "--json"]) == 0
        routine_id = json.loads(capsys.readouterr().out)["routine"]["id"]
        assert http(server.url, "GET", "/routines", user="alice")[1]["items"][0]["id"] == routine_id
        started = [
            http(server.url, "POST", f"/routines/{routine_id}/executions", {"input": {}}, user="alice")[1]
            for _ in range(2)
        ]
        _until_recorded(server.url, routine_id, [e["executionId"] for e in started])
        assert main(["executions", routine_id, "--api", server.url]) == 0
        said = capsys.readouterr()
        assert f"as user 'alice' at {server.url}" in said.err
        assert len(said.out.splitlines()) == 3  # a header and alice's two executions
        assert main(["executions", routine_id, "--api", server.url, "--status", "succeeded", "--json"]) == 0
        page = json.loads(capsys.readouterr().out)
        assert page["items"] and {item["status"] for item in page["items"]} == {"SUCCEEDED"}
        # Another user sees nothing of alice's, and is told who they asked as.
        assert main(["executions", routine_id, "--api", server.url, "--user", "bob"]) == 1
        assert "as user 'bob'" in capsys.readouterr().err


def _until_recorded(url: str, routine_id: str, execution_ids: list[str]) -> None:
    """Until the list (read from the execution records, which the recorder writes after
    Step Functions ends a run) shows every execution ended. ``GET /executions/{id}`` says
    so earlier, from Step Functions itself, so polling it would race the recorder."""
    deadline = time.monotonic() + 30
    while True:
        items = http(url, "GET", f"/routines/{routine_id}/executions", user="alice")[1]["items"]
        ended = {i["executionId"] for i in items if i["status"] != "RUNNING"}
        if ended >= set(execution_ids):
            return
        assert time.monotonic() < deadline, f"the records did not end: {items}"
        time.sleep(0.05)


def test_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "functions.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert (
        done.returncode == 0 and done.stdout.startswith("routines ") and done.stdout.split()[1][0].isdigit()
    )
