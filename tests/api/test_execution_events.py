"""``GET /executions/{id}/events`` under ``routines serve``: Server-Sent Events, streamed
live until the terminal status, numbered from the execution history (replay with
``Last-Event-ID``), scoped to the caller like every execution route."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.serve import running
from tests.api.conftest import example
from tests.api.test_serve import http as call

TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
KINDS = ("standard", "express")


class Stream:
    """One events request, read as it arrives: ``(id, data, seconds since the request)``."""

    def __init__(self, base: str, execution_id: str, user: str | None = "alice", last: str | None = None):
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        headers = {"X-User-Id": user} if user else {}
        if last is not None:
            headers["Last-Event-ID"] = last
        self.started = time.monotonic()
        self.connection.request("GET", f"/executions/{execution_id}/events", headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())

    def events(self) -> list[tuple[str, dict[str, Any], float]]:
        out: list[tuple[str, dict[str, Any], float]] = []
        event_id, data = "", ""
        while True:
            raw = self.response.readline()
            if not raw:
                break
            line = raw.decode().rstrip("\n")
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data:
                out.append((event_id, json.loads(data), time.monotonic() - self.started))
                event_id, data = "", ""
        self.connection.close()
        return out


def _seq(event_id: str) -> tuple[int, int]:
    head, _, tail = event_id.partition(".")
    return int(head), int(tail or 0)


def _start(base: str, document: dict[str, Any], user: str = "alice") -> str:
    routine = call(base, "POST", "/routines", document, user=user)[1]
    status, started, _ = call(
        base, "POST", f"/routines/{routine['id']}/executions", {"input": {}, "test": True}, user=user
    )
    assert status == 202, started
    return str(started["executionId"])


def _machine_type(server: Any, execution_id: str) -> str:
    machine = execution_id.split(":", 1)[0]
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"
    return str(server.aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["type"])


def _finished(base: str, execution_id: str) -> dict[str, Any]:
    for _ in range(300):
        body = call(base, "GET", f"/executions/{execution_id}")[1]
        if body["status"] in TERMINAL:
            return dict(body)
        time.sleep(0.1)
    raise AssertionError("the execution did not end")


def _napping(seconds: int, execution: str = "standard") -> dict[str, Any]:
    return {
        "name": "napping",
        # Both kinds: an Express execution's events come from its history while it runs and
        # from its settled record's trace once it has ended — the trace the recorder built on
        # that same history (functions/recorder/recorder.py ``_express_trace``, issue #28).
        "execution": execution,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "before", "plugin": "static-data", "parameters": {"data": {"a": 1}}},
            {"id": "nap", "plugin": "wait", "parameters": {"seconds": seconds}},
            {"id": "after", "plugin": "transform", "parameters": {"fields": {"a": "{{ nodes.before.a }}"}}},
        ],
        "connections": [
            {"sourceNodeId": "before", "targetNodeId": "nap"},
            {"sourceNodeId": "nap", "targetNodeId": "after"},
        ],
    }


def test_a_finished_execution_streams_every_event_and_ends() -> None:
    with running() as server:
        execution_id = _start(server.url, example("hello.json"))
        record = _finished(server.url, execution_id)
        stream = Stream(server.url, execution_id)
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = stream.events()
        ids = [_seq(event_id) for event_id, _, _ in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        first, last = events[0][1], events[-1][1]
        assert (first["type"], first["status"]) == ("status", "RUNNING")
        assert (last["type"], last["status"]) == ("status", "SUCCEEDED")
        ends = {
            data["node"]: data for _, data, _ in events if data["type"] == "node" and "durationMs" in data
        }
        starts = [
            data["node"] for _, data, _ in events if data["type"] == "node" and "durationMs" not in data
        ]
        # Every node ends once, with the status the trace gives it; nodes that ran also start.
        assert {node: data["status"] for node, data in ends.items()} == {
            node: entry["status"] for node, entry in record["nodes"].items()
        }
        assert starts == ["people", "adults", "anyone", "greet"]
        assert ends["nobody"]["status"] == "skipped"
        for _, data, _ in events:
            assert set(data) <= {"type", "node", "status", "at", "durationMs", "error"}
            assert data["at"].endswith("Z")


@pytest.mark.parametrize("execution", KINDS)
def test_a_running_execution_streams_live_until_its_end(execution: str) -> None:
    with running() as server:
        execution_id = _start(server.url, _napping(2, execution))
        stream = Stream(server.url, execution_id)
        events = stream.events()
        by_kind = {(data["node"], data["status"]): seconds for _, data, seconds in events}
        # The wait node's start arrived while it waited, long before the end.
        assert by_kind[("nap", "waiting")] < by_kind[(None, "SUCCEEDED")] - 1.0
        assert by_kind[("before", "succeeded")] < 1.5
        assert events[-1][1]["status"] == "SUCCEEDED"
        assert [data["node"] for _, data, _ in events if data["type"] == "node"] == [
            "before",
            "before",
            "nap",
            "nap",
            "after",
            "after",
        ]


def test_last_event_id_replays_exactly_what_was_missed() -> None:
    with running() as server:
        execution_id = _start(server.url, example("hello.json"))
        _finished(server.url, execution_id)
        everything = Stream(server.url, execution_id).events()
        for cut in (1, len(everything) // 2, len(everything) - 2):
            last_seen = everything[cut - 1][0]
            replay = Stream(server.url, execution_id, last=last_seen).events()
            assert [(i, d) for i, d, _ in replay] == [(i, d) for i, d, _ in everything[cut:]]
        # After the terminal event there is nothing more: 204 (EventSource stops reconnecting).
        done = Stream(server.url, execution_id, last=everything[-1][0])
        assert done.status == 204 and done.events() == []
        assert Stream(server.url, execution_id, last="not-an-id").status == 422


@pytest.mark.parametrize("execution", KINDS)
def test_a_live_stream_cut_and_resumed_misses_nothing(execution: str) -> None:
    with running() as server:
        execution_id = _start(server.url, _napping(1, execution))
        first = Stream(server.url, execution_id)
        seen: list[tuple[str, dict[str, Any]]] = []
        while True:  # read until the wait node is waiting, then drop the connection
            raw = first.response.readline().decode().rstrip("\n")
            if raw.startswith("id:"):
                event_id = raw[3:].strip()
            elif raw.startswith("data:"):
                seen.append((event_id, json.loads(raw[5:])))
                if seen[-1][1]["status"] == "waiting":
                    break
        first.connection.close()
        rest = Stream(server.url, execution_id, last=seen[-1][0]).events()
        record = _finished(server.url, execution_id)
        whole = Stream(server.url, execution_id).events()
        assert seen + [(i, d) for i, d, _ in rest] == [(i, d) for i, d, _ in whole]
        # After the end, from the settled record: the same events again, the wait's
        # duration included (what a reconnect after the end is served).
        again = Stream(server.url, execution_id, last=seen[0][0]).events()
        assert [(i, d) for i, d, _ in again] == [(i, d) for i, d, _ in whole[1:]]
        nap_end = next(d for _, d, _ in whole if d["node"] == "nap" and d["status"] == "succeeded")
        assert nap_end["durationMs"] >= 900
        assert record["nodes"]["nap"]["durationMs"] == nap_end["durationMs"]
        assert _machine_type(server, execution_id) == execution.upper()


def test_another_users_execution_is_not_found() -> None:
    with running() as server:
        execution_id = _start(server.url, example("hello.json"), user="alice")
        stream = Stream(server.url, execution_id, user="mallory")
        assert stream.status == 404
        assert json.loads(stream.response.read())["errors"][0]["code"] == "not_found"
        assert Stream(server.url, execution_id, user=None).status == 401
        assert Stream(server.url, "routines-nope:123", user="alice").status == 404


def test_a_run_stopped_while_it_waits_on_an_approval_ends_aborted_as_its_record_says() -> None:
    with running() as server:
        routine = call(server.url, "POST", "/routines", example("approval-flow.json"))[1]
        status, started, _ = call(
            server.url,
            "POST",
            f"/routines/{routine['id']}/executions",
            {"input": {"customer": "c1", "amount": 80}, "test": True},
        )
        assert status == 202, started
        execution_id = started["executionId"]
        for _ in range(300):  # until the approval waits
            nodes = call(server.url, "GET", f"/executions/{execution_id}")[1].get("nodes") or {}
            if nodes.get("approve", {}).get("status") == "waiting":
                break
            time.sleep(0.1)
        stopped = call(server.url, "POST", f"/executions/{execution_id}/stop", {"reason": "not today"})
        assert stopped[0] == 202, stopped
        record = _finished(server.url, execution_id)
        assert record["status"] == "ABORTED"
        last = Stream(server.url, execution_id).events()[-1][1]
        assert last["type"] == "status" and last["status"] == "ABORTED", last
        assert last["error"]["message"] == record["error"]["message"] == "stopped by alice: not today"
