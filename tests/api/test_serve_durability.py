"""``routines serve --state-dir`` across a crash (issue #25).

A crash is simulated two ways: in-process, by copying the state directory while the server
runs (what a ``kill -9`` at that instant would leave on disk) and starting a new server on
the copy; and for real, with ``kill -9`` of a ``routines serve`` process.

Runs that end are both kinds: Standard ones, recorded from their status events, and
Express ones, whose machines write their records themselves (settled and journaled as the
machine writes its end, before any request can see it: functions/local/status_events.py,
functions/serve/state.py — issue #28)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.local.status_events import StatusEvents
from functions.serve import Server, running
from functions.serve.state import FILE, StateFileError
from tests.api.conftest import manual

STOPPED = "Routines.LocalServerStopped"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# How runs that end are recorded: from status events, or by their own (Express) machine.
KINDS = ("standard", "express")


def http(
    base: str, method: str, path: str, body: Any = None, user: str = "alice", timeout: float = 30
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("X-User-Id", user)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text else None


def until(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def approval_routine() -> dict[str, Any]:
    return {
        "name": "ship?",
        "execution": "standard",  # an approval cannot be Express
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "ask", "plugin": "approval", "parameters": {"message": "Ship it?"}},
            {"id": "ship", "plugin": "transform", "parameters": {"fields": {"by": "{{ nodes.ask.by }}"}}},
        ],
        "connections": [{"sourceNodeId": "ask", "sourcePort": "approved", "targetNodeId": "ship"}],
    }


def waiting_routine() -> dict[str, Any]:
    return {
        "name": "later",
        "execution": "standard",  # an hour's wait cannot be Express (5 minutes at most)
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "pause", "plugin": "wait", "parameters": {"seconds": 3600}},
            {"id": "after", "plugin": "transform", "parameters": {"fields": {"done": True}}},
        ],
        "connections": [{"sourceNodeId": "pause", "targetNodeId": "after"}],
    }


def finishing_later(seconds: int = 1, execution: str = "standard") -> dict[str, Any]:
    """A run that ends well after the request that started it has been answered (and
    has saved what it wrote)."""
    return {
        "name": "soon",
        "execution": execution,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "pause", "plugin": "wait", "parameters": {"seconds": seconds}},
            {"id": "greet", "plugin": "transform", "parameters": {"fields": {"who": "{{ trigger.who }}"}}},
        ],
        "connections": [{"sourceNodeId": "pause", "targetNodeId": "greet"}],
    }


def on_error() -> dict[str, Any]:
    return {
        "name": "on error",
        "trigger": {"type": "error"},
        "nodes": [
            {
                "id": "note",
                "plugin": "transform",
                "parameters": {"fields": {"s": "{{ trigger.execution.status }}"}},
            }
        ],
    }


def failing_later(error_routine: str) -> dict[str, Any]:
    """An Express run that fails after its start request was answered."""
    return {
        "name": "fragile",
        "execution": "express",
        "errorRoutine": error_routine,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "pause", "plugin": "wait", "parameters": {"seconds": 1}},
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Broken", "cause": "bad"},
            },
        ],
        "connections": [{"sourceNodeId": "pause", "targetNodeId": "boom"}],
    }


def machine_type(server: Server, routine_id: str) -> str:
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:routines-{routine_id}"
    return str(server.aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["type"])


def activated(base: str, document: dict[str, Any]) -> str:
    status, created = http(base, "POST", "/routines", document)
    assert status == 201, created
    status, shown = http(base, "POST", f"/routines/{created['id']}/activate")
    assert status == 200, shown
    return str(created["id"])


def start(base: str, routine_id: str, payload: Any = None) -> str:
    status, started = http(base, "POST", f"/routines/{routine_id}/executions", {"input": payload or {}})
    assert status == 202, started
    return str(started["executionId"])


def recorded(base: str, routine_id: str) -> dict[str, str]:
    """Execution id → status, as the execution records say (the list reads only those)."""
    status, page = http(base, "GET", f"/routines/{routine_id}/executions?limit=100")
    assert status == 200, page
    return {item["executionId"]: item["status"] for item in page["items"]}


def crash_copy(state_dir: Path, into: Path) -> Path:
    """What a kill -9 at this instant leaves on disk."""
    shutil.copytree(state_dir, into)
    return into


@pytest.mark.parametrize("execution", KINDS)
def test_a_run_that_finished_before_a_crash_keeps_its_terminal_record(tmp_path: Path, execution: str) -> None:
    with running(state_dir=tmp_path / "live") as server:
        routine_id = activated(server.url, finishing_later(execution=execution))
        assert machine_type(server, routine_id) == execution.upper()
        execution_id = start(server.url, routine_id, {"who": "ada"})
        until(lambda: recorded(server.url, routine_id).get(execution_id) == "SUCCEEDED", what="SUCCEEDED")
        # No request since the run ended: only the recorder wrote its terminal record.
        crashed = crash_copy(tmp_path / "live", tmp_path / "crashed")
    with running(state_dir=crashed) as server:
        status, record = http(server.url, "GET", f"/executions/{execution_id}")
        assert status == 200
        assert record["status"] == "SUCCEEDED", record
        assert record["output"] == {"greet": {"who": "ada"}}
        assert record["nodes"]["greet"]["status"] == "succeeded"
        assert record["nodes"]["pause"]["status"] == "succeeded"
        assert recorded(server.url, routine_id) == {execution_id: "SUCCEEDED"}


def test_a_failed_express_run_keeps_its_record_its_error_routine_run_and_one_alarm_message(
    tmp_path: Path,
) -> None:
    """The settle of a failed Express run — trace, clean error, error routine started,
    failed-executions message — happens as its machine writes the end, journaled before
    the guard is released; a crash right after keeps all of it (and sends nothing twice)."""
    with running(state_dir=tmp_path / "live") as server:
        handler_id = activated(server.url, on_error())
        routine_id = activated(server.url, failing_later(handler_id))
        assert machine_type(server, routine_id) == "EXPRESS"
        execution_id = start(server.url, routine_id)
        until(lambda: recorded(server.url, routine_id).get(execution_id) == "FAILED", what="FAILED")
        status, record = http(server.url, "GET", f"/executions/{execution_id}")
        assert record["errorRoutine"]["note"] is None, record
        handled = record["errorRoutine"]["executionId"]
        until(lambda: recorded(server.url, handler_id).get(handled) == "SUCCEEDED", what="the error routine")
        crashed = crash_copy(tmp_path / "live", tmp_path / "crashed")
        events = StatusEvents._current
        assert events is not None
        sent = [m["detail"]["name"] for m in events.failed_executions()]
        assert sent == [execution_id.split(":", 1)[1]]
    with running(state_dir=crashed) as server:
        status, record = http(server.url, "GET", f"/executions/{execution_id}")
        assert status == 200 and record["status"] == "FAILED", record
        assert record["error"] == {"type": "Broken", "message": "bad"}
        assert record["nodes"]["boom"]["status"] == "failed"
        assert record["errorRoutine"]["executionId"] == handled
        assert recorded(server.url, handler_id) == {handled: "SUCCEEDED"}


def test_runs_in_flight_at_a_crash_are_closed_aborted_and_can_be_rerun(tmp_path: Path) -> None:
    with running(state_dir=tmp_path / "live") as server:
        asking = activated(server.url, approval_routine())
        pausing = activated(server.url, waiting_routine())
        paused = start(server.url, asking)
        waiting = start(server.url, pausing)
        time.sleep(0.5)  # both reach their waiting node
        assert recorded(server.url, asking) == {paused: "RUNNING"}
        crashed = crash_copy(tmp_path / "live", tmp_path / "crashed")
    with running(state_dir=crashed) as server:
        base = server.url
        for execution_id in (paused, waiting):
            status, record = http(base, "GET", f"/executions/{execution_id}")
            assert status == 200 and record["status"] == "ABORTED", record
            assert record["error"] == {
                "type": STOPPED,
                "message": "the local server stopped while this execution ran",
            }
            assert record["stoppedAt"] is not None and record["durationMs"] >= 0
        assert recorded(base, asking) == {paused: "ABORTED"}
        status, body = http(base, "POST", f"/executions/{paused}/approvals/ask", {"decision": "approve"})
        assert status == 409 and body["errors"][0]["code"] == "not_waiting"
        # Re-run: same version, same trigger data; it pauses at the approval again, and
        # can be approved this time.
        status, rerun = http(base, "POST", f"/executions/{paused}/rerun")
        assert status == 202, rerun
        again = rerun["executionId"]
        until(
            lambda: (
                http(base, "POST", f"/executions/{again}/approvals/ask", {"decision": "approve"})[0] == 200
            ),
            what="the re-run's approval",
        )
        until(lambda: recorded(base, asking).get(again) == "SUCCEEDED", what="the re-run to succeed")
        status, original = http(base, "GET", f"/executions/{paused}")
        assert original["reruns"] == [again]
        assert http(base, "POST", f"/executions/{waiting}/rerun")[0] == 202


@pytest.mark.parametrize("execution", KINDS)
def test_records_written_after_a_restart_survive_the_next_crash(tmp_path: Path, execution: str) -> None:
    """The journal of a restarted server goes on where the last one's left off."""
    live = tmp_path / "live"
    with running(state_dir=live) as server:
        routine_id = activated(server.url, finishing_later(execution=execution))
        first = start(server.url, routine_id)
        until(lambda: recorded(server.url, routine_id).get(first) == "SUCCEEDED", what="first run")
    with running(state_dir=live) as server:
        second = start(server.url, routine_id)
        until(lambda: recorded(server.url, routine_id).get(second) == "SUCCEEDED", what="second run")
        crashed = crash_copy(live, tmp_path / "crashed")
    with running(state_dir=crashed) as server:
        assert recorded(server.url, routine_id) == {first: "SUCCEEDED", second: "SUCCEEDED"}


@pytest.mark.parametrize("execution", KINDS)
def test_a_journal_line_cut_short_by_a_crash_is_the_write_that_had_not_happened(
    tmp_path: Path, execution: str
) -> None:
    live = tmp_path / "live"
    with running(state_dir=live) as server:
        routine_id = activated(server.url, finishing_later(execution=execution))
        done = start(server.url, routine_id)
        until(lambda: recorded(server.url, routine_id).get(done) == "SUCCEEDED", what="SUCCEEDED")
        crashed = crash_copy(live, tmp_path / "crashed")
    (journal,) = sorted(crashed.glob("journal-*.jsonl"))
    lines = journal.read_text().splitlines()
    # The terminal record, last; an Express machine's own RUNNING write may come first
    # (journaled as written, unless the start request's snapshot already held it).
    assert json.loads(lines[-1])["item"]["status"] == {"S": "SUCCEEDED"}
    assert len(lines) == 1 if execution == "standard" else len(lines) in (1, 2)
    with journal.open("a") as out:
        out.write('{"table": "executions", "item": {"executionId": {"S": "rout')  # no newline: cut
    with running(state_dir=crashed) as server:
        assert recorded(server.url, routine_id) == {done: "SUCCEEDED"}


# -- damaged state files -------------------------------------------------------------------

GOOD_ITEM = {"executionId": {"S": "x"}, "status": {"S": "RUNNING"}}
DAMAGED: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "the file is empty"),
    "blank": (b"  \n", "the file is empty"),
    "cut short": (b'{"format": 1, "tables": {"routines": [{"ownerId": {"S": "al', "cut short"),
    "not json": (b"format = 1\n", "not valid JSON (Expecting value at line 1, column 1)"),
    "not utf-8": (b'{"format": 1, "tables": {}, "x": "\xff\xfe"}', "not UTF-8 text"),
    "a list": (b"[1, 2]", "expected a JSON object with 'format' and 'tables', found a list"),
    "another format": (b'{"format": 7, "tables": {}}', "unknown state format 7"),
    "no tables": (b'{"format": 1}', "'tables' must be an object"),
    "tables a list": (b'{"format": 1, "tables": []}', "'tables' must be an object"),
    "items not a list": (b'{"format": 1, "tables": {"executions": {}}}', "tables.executions must be a list"),
    "item not an object": (
        b'{"format": 1, "tables": {"executions": ["x"]}}',
        "tables.executions[0] is not a DynamoDB item",
    ),
    "value not typed": (
        b'{"format": 1, "tables": {"executions": [{"executionId": "x"}]}}',
        "tables.executions[0].executionId is not a DynamoDB attribute value",
    ),
    "wrong type inside": (
        b'{"format": 1, "tables": {"executions": [{"n": {"M": {"a": {"N": 3}}}}]}}',
        "tables.executions[0].n is not a DynamoDB attribute value: a: N holds a number",
    ),
    "secrets not text": (
        b'{"format": 1, "tables": {}, "webhookSecrets": {"routines/webhooks/a": 1}}',
        "'webhookSecrets' must be",
    ),
}


@pytest.fixture
def never_serves(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A server that gets as far as serving stops at once: a state file taken for good
    makes a test fail, not hang."""
    serve_forever = Server.serve_forever

    def stop_at_once(self: Server) -> None:
        threading.Thread(target=self.httpd.shutdown).start()
        serve_forever(self)

    monkeypatch.setattr(Server, "serve_forever", stop_at_once)
    on_sigterm = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, on_sigterm)


@pytest.mark.usefixtures("never_serves")
@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_state_file_is_one_line_naming_it_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, reason = DAMAGED[case]
    (tmp_path / FILE).write_bytes(content)
    assert main(["serve", "--port", "0", "--state-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"routines serve: {tmp_path / FILE}: ")
    assert reason in lines[0]
    assert captured.out == ""


@pytest.mark.usefixtures("never_serves")
def test_an_item_dynamodb_refuses_is_one_line_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = {"format": 1, "tables": {"executions": [GOOD_ITEM, {"status": {"S": "RUNNING"}}]}}
    (tmp_path / FILE).write_text(json.dumps(state))
    assert main(["serve", "--port", "0", "--state-dir", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"routines serve: {tmp_path / FILE}: tables.executions[1]: DynamoDB refuses")


@pytest.mark.usefixtures("never_serves")
def test_a_damaged_journal_line_names_the_journal_and_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / FILE).write_text(json.dumps({"format": 1, "journal": 3, "tables": {}}))
    (tmp_path / "journal-2.jsonl").write_text("older, replaced by the snapshot: never read\n")
    journal = tmp_path / "journal-3.jsonl"
    journal.write_text(json.dumps({"table": "executions", "item": GOOD_ITEM}) + "\n{oops\n")
    assert main(["serve", "--port", "0", "--state-dir", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"routines serve: {journal}: line 2: not valid JSON")


@pytest.mark.usefixtures("never_serves")
def test_a_state_dir_that_cannot_be_used_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / FILE).mkdir()
    assert main(["serve", "--port", "0", "--state-dir", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"routines serve: {tmp_path / FILE}: is a directory, not a state file"
    plain_file = tmp_path / "not-a-directory"
    plain_file.write_text("")
    with pytest.raises(StateFileError) as raised, running(state_dir=plain_file):
        pass
    assert str(raised.value).startswith(f"{plain_file}: cannot write the state there: ")


def test_running_raises_the_same_error(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text("{")
    with pytest.raises(StateFileError, match="cut short"), running(state_dir=tmp_path):
        pass


def test_the_command_itself_exits_2_with_one_line_for_a_damaged_file(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text('{"format": 1, "tables": {"routines": [')
    finished = subprocess.run(
        [sys.executable, "-m", "functions.cli", "serve", "--port", "0", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr.splitlines() == [
        f"routines serve: {tmp_path / FILE}: cut short: the JSON ends after 38 bytes, inside a value"
    ]


# -- kill -9 of a real `routines serve` ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_process(state_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str], str]]:
    """A `routines serve --state-dir` process on loopback: (its URL, the process, its
    state line)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", "serve", "--port", str(port), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"Routines API on http://127.0.0.1:{port}"), first
        state_line = process.stdout.readline().strip()
        yield f"http://127.0.0.1:{port}", process, state_line
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


QUICK, PAUSING, ASKING = 10, 5, 5


@pytest.mark.parametrize("execution", KINDS)
def test_kill_9_during_twenty_executions_loses_no_terminal_record(tmp_path: Path, execution: str) -> None:
    """20 executions — 10 that finish at once (Standard, or Express: their machines write
    their records), 5 on a one-hour wait node, 5 at an approval — then kill -9 and a
    restart on the same directory: every finished one is kept as it ended, none is left
    RUNNING, and the interrupted ones can be re-run."""
    state_dir = tmp_path / "state"
    began = time.monotonic()
    with serve_process(state_dir) as (base, process, _):
        quick = activated(base, manual("quick") | {"execution": execution})
        pausing = activated(base, waiting_routine())
        asking = activated(base, approval_routine())
        started: dict[str, list[str]] = {quick: [], pausing: [], asking: []}
        for n in range(max(QUICK, PAUSING, ASKING)):
            for routine_id, count in ((pausing, PAUSING), (asking, ASKING), (quick, QUICK)):
                if n < count:
                    started[routine_id].append(start(base, routine_id, {"who": f"n{n}"}))

        def all_quick_finished() -> dict[str, str] | None:
            seen = recorded(base, quick)
            return seen if list(seen.values()).count("SUCCEEDED") == QUICK else None

        finished = until(all_quick_finished, what="the quick runs' terminal records")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with serve_process(state_dir) as (base, _, state_line):
        assert f"{PAUSING + ASKING} interrupted execution(s) closed as ABORTED" in state_line, state_line
        after = {routine_id: recorded(base, routine_id) for routine_id in started}
        lost = [e for e, status in finished.items() if after[quick].get(e) != status]
        everything = {e: s for statuses in after.values() for e, s in statuses.items()}
        missing = [e for ids in started.values() for e in ids if e not in everything]
        stuck = [e for e, status in everything.items() if status not in TERMINAL]
        print(
            f"\nkill -9 with {sum(map(len, started.values()))} executions ({execution} quick ones): "
            f"finished before the kill "
            f"{len(finished)}, finished status lost {len(lost)}, missing {len(missing)}, "
            f"not terminal after the restart {len(stuck)} ({time.monotonic() - began:.1f} s)"
        )
        assert (lost, missing, stuck) == ([], [], [])
        for routine_id in (pausing, asking):
            assert set(after[routine_id].values()) == {"ABORTED"}
            status, record = http(base, "GET", f"/executions/{started[routine_id][0]}")
            assert record["error"]["type"] == STOPPED
        status, rerun = http(base, "POST", f"/executions/{started[asking][0]}/rerun")
        assert status == 202, rerun
