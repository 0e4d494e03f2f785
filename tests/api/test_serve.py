"""``routines serve`` over real HTTP: the adapter, identity, limits, persistence, the CLI
client commands, and the command itself (prints its URL, stops on Ctrl-C)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.serve import running
from tests.api.conftest import manual


def http(
    base: str, method: str, path: str, body: Any = None, user: str | None = "alice", raw: bytes | None = None
) -> tuple[int, Any, dict[str, str]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if user:
        request.add_header("X-User-Id", user)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None, dict(response.headers)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text else None, dict(exc.headers)


def test_serve_speaks_http_with_the_api_handler(tmp_path: Path) -> None:
    log = (tmp_path / "requests.log").open("w")
    with running(log=log) as server:
        base = server.url
        assert base.startswith("http://127.0.0.1:")
        # curl -d sends a form Content-Type: the body is still read as JSON
        status, created, headers = http(base, "POST", "/routines", manual())
        assert status == 201 and headers["ETag"] == '"1"'
        assert http(base, "GET", "/routines", user=None)[0] == 401
        status, body, _ = http(base, "POST", "/routines", raw=b'{"name": ')
        assert status == 400 and body["errors"][0]["code"] == "invalid_json"
        status, body, _ = http(base, "POST", "/routines", raw=b"{" + b" " * (1024 * 1024) + b"}")
        assert status == 413
        webhook = {**manual("hook"), "trigger": {"type": "webhook"}}
        routine = http(base, "POST", "/routines", webhook)[1]
        activation = http(base, "POST", f"/routines/{routine['id']}/activate")[1]
        assert activation["webhook"]["url"] == f"{base}/hooks/{routine['id']}"
        status, started, _ = http(
            base, "POST", f"/routines/{routine['id']}/executions", {"input": {"who": "x"}}
        )
        assert status == 202
        assert http(base, "GET", f"/executions/{started['executionId']}")[0] == 200
        assert http(base, "GET", f"/routines/{created['id']}", user="mallory")[0] == 404
        status, document, _ = http(base, "GET", "/openapi.json", user=None)
        assert status == 200 and "/routines" in document["paths"]
    log.close()
    lines = (tmp_path / "requests.log").read_text().splitlines()
    assert lines[0].startswith("POST /routines 201 ") and lines[0].endswith("ms")
    assert any(line.startswith("GET /routines 401 ") for line in lines)


def test_state_dir_keeps_routines_activations_and_webhook_secrets(tmp_path: Path) -> None:
    cron = {
        **manual("nightly"),
        "trigger": {"type": "cron", "schedule": "0 3 * * *", "timezone": "Asia/Tokyo"},
    }
    webhook = {**manual("hook"), "trigger": {"type": "webhook"}}
    with running(state_dir=tmp_path) as server:
        nightly = http(server.url, "POST", "/routines", cron)[1]
        http(server.url, "POST", f"/routines/{nightly['id']}/activate")
        hook = http(server.url, "POST", "/routines", webhook)[1]
        secret = http(server.url, "POST", f"/routines/{hook['id']}/activate")[1]["webhook"]["secret"]
        http(
            server.url, "PUT", f"/routines/{hook['id']}", manual("hook v2") | {"trigger": {"type": "webhook"}}
        )
    assert (tmp_path / "state.json").exists()
    with running(state_dir=tmp_path) as server:
        listed = http(server.url, "GET", "/routines")[1]["items"]
        assert {r["id"]: r["status"] for r in listed} == {nightly["id"]: "active", hook["id"]: "active"}
        assert http(server.url, "GET", f"/routines/{hook['id']}")[1]["version"] == 2
        schedules = server.aws.client("scheduler").list_schedules()["Schedules"]
        assert [s["Name"] for s in schedules] == [f"routines-{nightly['id']}"]
        stored = server.aws.client("secretsmanager").get_secret_value(
            SecretId=f"routines/webhooks/{hook['id']}"
        )
        assert stored["SecretString"] == secret
        again = http(server.url, "POST", f"/routines/{hook['id']}/activate")[1]
        assert again["webhook"]["secret"] is None  # still the one shown before the restart
        assert http(server.url, "GET", "/routines", user="bob")[1]["items"] == []


def test_cli_push_and_executions_against_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routine_file = tmp_path / "cron.json"
    document = {
        **manual("report"),
        "trigger": {"type": "cron", "schedule": "0 8 * * 1-5", "timezone": "Europe/Berlin"},
    }
    routine_file.write_text(json.dumps(document))
    with running() as server:
        assert main(["push", str(routine_file), "--api", server.url]) == 0
        out = capsys.readouterr().out
        assert "version 1" in out and out.count("next run: ") == 5
        assert main(["push", str(routine_file), "--api", server.url, "--json"]) == 0  # same name: new version
        pushed = json.loads(capsys.readouterr().out)
        assert pushed["routine"]["version"] == 2 and pushed["activation"]["activeVersion"] == 2
        routine_id = pushed["routine"]["id"]
        http(
            server.url, "POST", f"/routines/{routine_id}/executions", {"input": {"who": "cli"}}, user="local"
        )
        assert main(["executions", routine_id, "--api", server.url, "--json"]) == 0
        page = json.loads(capsys.readouterr().out)
        assert len(page["items"]) == 1 and set(page) == {"items", "nextToken"}
        assert main(["executions", routine_id, "--api", server.url]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == ["EXECUTION", "STATUS", "STARTED", "STOPPED"]
        assert table[1].startswith(page["items"][0]["executionId"])
        assert main(["executions", "0000000000000000", "--api", server.url]) == 1
        assert "not_found" in capsys.readouterr().err
        broken = tmp_path / "broken.json"
        broken.write_text(json.dumps({**document, "nodes": [{"id": "x", "plugin": "nope"}]}))
        assert main(["push", str(broken), "--api", server.url]) == 1
        assert "unknown_plugin nodes[x]" in capsys.readouterr().err
    assert main(["executions", "abc", "--api", "http://127.0.0.1:9"]) == 2


def test_routines_serve_command_prints_its_url_and_stops_on_ctrl_c() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"Routines API on http://127.0.0.1:{port}")
        assert http(f"http://127.0.0.1:{port}", "GET", "/routines")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "GET /routines 200" in err and "Traceback" not in err
