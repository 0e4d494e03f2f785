"""The console and the events endpoint against a hostile or careless user: markup in every
text a user controls, odd user names, malformed routes, bad input, double clicks, and
event streams held open. Every test asserts what must hold. Written as an adversarial
pass (session 13): the 13 bugs it found are fixed, and their tests pass."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from functions.serve import running
from functions.serve.server import WORKERS, Server
from tests.api.conftest import example
from tests.api.test_serve import http
from tests.console.test_console_browser import browser, page

__all__ = ["browser", "page"]  # pytest fixtures, imported to be used here

# Markup that runs script if any of it reaches innerHTML unescaped.
EVIL = (
    '<img src=x onerror=window.pwned=1>"><svg onload=window.pwned=2></svg>'
    "</pre><script>window.pwned=3</script>'><iframe src=javascript:window.pwned=4>"
)
TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
SHORT = 3_000  # ms: what the console shows at once needs no longer
FAILING = {  # a routine whose every run fails at once
    "name": "Fails",
    "trigger": {"type": "manual"},
    "nodes": [
        {"id": "boom", "plugin": "stop", "parameters": {"status": "fail", "error": "Boom", "cause": "x"}}
    ],
    "connections": [],
}


@pytest.fixture(scope="module")
def served() -> Iterator[Server]:
    """One server for the browser tests of this module (each uses users of its own)."""
    with running() as server:
        yield server


def _login(page: Page, base: str, user: str, route: str = "") -> None:
    page.goto(base + "/" + route)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#user-name", user)
    page.click("#login-button")
    expect(page.locator("#current-user")).to_have_text(user)


def _start(base: str, routine_id: str, body: Any, user: str) -> str:
    status, started, _ = http(
        base, "POST", f"/routines/{routine_id}/executions", {"input": body, "test": True}, user=user
    )
    assert status == 202, started
    return str(started["executionId"])


def _until(base: str, execution_id: str, user: str, done: Any, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body = http(base, "GET", f"/executions/{execution_id}", user=user)[1]
        if done(body):
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def _waiting_at(node: str) -> Any:
    return lambda body: ((body.get("nodes") or {}).get(node) or {}).get("status") == "waiting"


def _ended(body: dict[str, Any]) -> bool:
    return body["status"] in TERMINAL


def _not_injected(page: Page) -> None:
    assert page.evaluate("() => window.pwned") is None
    injected = page.evaluate(
        "() => document.querySelectorAll('[onerror], [onload], #view img, #view script, #view iframe').length"
    )
    assert injected == 0


# -- markup in everything a user controls ---------------------------------------------------


def _evil_routine() -> dict[str, Any]:
    return {
        "name": "Evil " + EVIL,
        "description": EVIL,
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "seed",
                "plugin": "static-data",
                "parameters": {"data": {"v": EVIL, "t": "{{ trigger.evil }}"}},
            },
            {"id": "ask", "plugin": "approval", "parameters": {"message": EVIL, "timeoutSeconds": 3600}},
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Boom", "cause": EVIL},
            },
        ],
        "connections": [
            {"sourceNodeId": "seed", "targetNodeId": "ask"},
            {"sourceNodeId": "ask", "sourcePort": "approved", "targetNodeId": "boom"},
        ],
    }


def test_markup_in_names_parameters_inputs_outputs_errors_and_approval_data_is_text(
    page: Page, served: Server
) -> None:
    base, user = served.url, "mallory"
    status, routine, _ = http(base, "POST", "/routines", _evil_routine(), user=user)
    assert status == 201, routine
    routine_id = routine["id"]
    execution_id = _start(base, routine_id, {"evil": EVIL}, user)
    _until(base, execution_id, user, _waiting_at("ask"))
    decided = http(
        base,
        "POST",
        f"/executions/{execution_id}/approvals/ask",
        {"decision": "approve", "data": {"note": EVIL}},
        user=user,
    )
    assert decided[0] == 200, decided
    assert _until(base, execution_id, user, _ended)["status"] == "FAILED"

    _login(page, base, user)
    row = page.locator(f'tr[data-routine="{routine_id}"]')
    expect(row).to_contain_text("Evil " + EVIL)  # shown, as text
    _not_injected(page)

    row.locator("a").first.click()
    expect(page.locator(f'h1[data-routine="{routine_id}"]')).to_have_text("Evil " + EVIL)
    expect(page.locator("#graph .node")).to_have_count(3)
    _not_injected(page)

    page.goto(base + f"/#/executions/{execution_id}")
    expect(page.locator("#exec-status")).to_have_text("FAILED")
    expect(page.locator("#timeline li").last).to_contain_text(EVIL)  # the stop's cause
    page.click('[data-node="seed"]')
    expect(page.locator("#panel-input")).to_contain_text(json.dumps(EVIL)[1:-1])  # the trigger
    expect(page.locator("#panel-output")).to_contain_text(json.dumps(EVIL)[1:-1])
    page.click('[data-node="ask"]')
    expect(page.locator("#panel-output")).to_contain_text('"note"')
    page.click('[data-node="boom"]')
    expect(page.locator("#panel-error")).to_contain_text("Boom")
    _not_injected(page)


# -- identity -------------------------------------------------------------------------------


def test_a_user_name_with_markup_is_shown_as_text_and_refused_clearly(page: Page, served: Server) -> None:
    base = served.url
    name = "<img src=x onerror=window.pwned=1>'\""
    page.goto(base + "/")
    page.evaluate("(name) => localStorage.setItem('routines.user', name)", name)
    page.reload()
    expect(page.locator("#current-user")).to_have_text(name)
    expect(page.locator("#failure")).to_contain_text("unauthorized")  # not a user the API knows
    expect(page.locator("#switch-user")).to_be_visible()  # and a way out
    _not_injected(page)


def test_the_login_dialog_refuses_a_name_the_api_would_refuse(page: Page, served: Server) -> None:
    page.goto(served.url + "/")
    page.fill("#user-name", "bob smith <b>")
    page.click("#login-button")
    page.wait_for_timeout(500)
    expect(page.locator("#login")).to_be_visible(timeout=SHORT)
    assert page.evaluate("() => localStorage.getItem('routines.user')") is None


def test_escape_on_the_login_dialog_does_not_leave_a_dead_page(page: Page, served: Server) -> None:
    page.goto(served.url + "/")
    expect(page.locator("#login")).to_be_visible()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    expect(page.locator("#login-button:visible, #switch-user:visible").first).to_be_visible(timeout=SHORT)


def test_another_users_routines_and_executions_are_not_found(page: Page, served: Server) -> None:
    base = served.url
    routine_id = http(base, "POST", "/routines", example("hello.json"), user="alice2")[1]["id"]
    execution_id = _start(base, routine_id, {}, "alice2")
    _until(base, execution_id, "alice2", _ended)

    _login(page, base, "bob2")
    expect(page.locator("#routines")).to_contain_text("No routines yet")
    page.goto(base + f"/#/executions/{execution_id}")
    expect(page.locator("#failure")).to_contain_text("not_found")
    expect(page.locator("#graph")).to_have_count(0)
    page.goto(base + f"/#/routines/{routine_id}")
    expect(page.locator("#failure")).to_contain_text("not_found")

    # Switching back with the dialog: alice's run is there again.
    page.click("#switch-user")
    page.fill("#user-name", "alice2")
    page.click("#login-button")
    expect(page.locator("#current-user")).to_have_text("alice2")
    page.goto(base + f"/#/executions/{execution_id}")
    expect(page.locator("#exec-status")).to_have_text("SUCCEEDED")


# -- malformed routes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("#/executions/%E0%A4%A", "URI malformed"),
        ("#/routines/%E0%A4%A", "URI malformed"),
        ("#/routines/<script>window.pwned=1</script>", "invalid_request"),
        ("#/routines/%3Cimg%20src%3Dx%20onerror%3Dwindow.pwned%3D1%3E", "invalid_request"),
        ("#/executions/" + "a" * 5000, "invalid_request"),
        ("#/executions/nope", "not_found"),
        ("#/executions/routines-nope:abc", "not_found"),
        ("#/routines/nope", "not_found"),
        ("#/executions/%00", "not_found"),
    ],
)
def test_a_malformed_route_is_a_clear_message(page: Page, served: Server, route: str, message: str) -> None:
    _login(page, served.url, "routes", route)
    expect(page.locator("#failure")).to_contain_text(message)
    expect(page.locator("#view a", has_text="back to the routines")).to_be_visible()
    _not_injected(page)


def test_a_huge_id_is_a_clear_message(page: Page, served: Server) -> None:
    _login(page, served.url, "routes", "#/executions/" + "a" * 70_000)
    expect(page.locator("#failure")).to_be_visible()
    expect(page.locator("#failure")).not_to_contain_text("JSON", timeout=SHORT)


@pytest.mark.parametrize("route", ["#/routines/..", "#/executions/%2e%2e"])
def test_a_dot_dot_id_is_a_clear_message(page: Page, served: Server, route: str) -> None:
    _login(page, served.url, "routes", route)
    expect(page.locator("#failure")).to_be_visible()
    expect(page.locator("#failure")).not_to_contain_text("JSON", timeout=SHORT)


# -- ids the model allows ---------------------------------------------------------------------


@pytest.mark.parametrize("node_id", ["constructor", "toString"])
def test_a_node_named_like_an_object_member_is_drawn(page: Page, served: Server, node_id: str) -> None:
    base, user = served.url, "protos"
    document = {
        "name": node_id,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "first", "plugin": "static-data", "parameters": {"data": {"a": 1}}},
            {"id": node_id, "plugin": "transform", "parameters": {"fields": {"b": 2}}},
        ],
        "connections": [{"sourceNodeId": "first", "targetNodeId": node_id}],
    }
    status, routine, _ = http(base, "POST", "/routines", document, user=user)
    assert status == 201, routine  # the API takes it
    _login(page, base, user, f"#/routines/{routine['id']}")
    expect(page.locator("#graph .node")).to_have_count(2, timeout=SHORT)
    expect(page.locator(f'[data-node="{node_id}"]')).to_have_attribute("data-status", "")


# -- the run input editor ---------------------------------------------------------------------


def test_bad_run_input_is_a_clear_message(page: Page, served: Server) -> None:
    base, user = served.url, "typist"
    routine_id = http(base, "POST", "/routines", example("hello.json"), user=user)[1]["id"]
    _login(page, base, user, f"#/routines/{routine_id}")
    expect(page.locator("#graph svg")).to_be_visible()
    for text in ("{bad", "   ", '{"a": 1} trailing'):
        page.fill("#run-input", text)
        page.click("#run")
        expect(page.locator("#run-error")).to_contain_text("the input is not JSON")
    # 5 MB: refused by the server, said so, the page stays.
    page.evaluate(
        "(n) => { document.getElementById('run-input').value = JSON.stringify({blob: 'x'.repeat(n)}); }",
        5 * 1024 * 1024,
    )
    page.click("#run")
    expect(page.locator("#run-error")).to_contain_text("payload_too_large", timeout=15_000)
    assert "#/routines/" in page.url
    # A real run of a routine never activated: said so.
    page.fill("#run-input", "{}")
    page.uncheck("#run-test")
    page.click("#run")
    expect(page.locator("#run-error")).not_to_be_empty()
    assert "#/routines/" in page.url
    assert http(base, "GET", f"/routines/{routine_id}/executions", user=user)[1]["items"] == []


# -- the approval panel -----------------------------------------------------------------------


def _approval_waiting(page: Page, base: str, user: str) -> str:
    routine_id = http(base, "POST", "/routines", example("approval-flow.json"), user=user)[1]["id"]
    execution_id = _start(base, routine_id, {"customer": "c1", "amount": 80}, user)
    _login(page, base, user, f"#/executions/{execution_id}")
    approve = page.locator('[data-node="approve"]')
    expect(approve).to_have_attribute("data-status", "waiting", timeout=30_000)
    approve.click()
    expect(page.locator("#approval-data")).to_be_visible()
    return execution_id


def test_approval_with_bad_data_and_after_a_stop_is_a_clear_message(page: Page, served: Server) -> None:
    base, user = served.url, "approver"
    execution_id = _approval_waiting(page, base, user)
    page.fill("#approval-data", "{not json")
    page.click("#approve")
    expect(page.locator("#action-error")).to_contain_text("JSON")
    # 2 MB of data: refused by the server, said so.
    page.evaluate(
        "(n) => { document.getElementById('approval-data').value = JSON.stringify({blob: 'x'.repeat(n)}); }",
        2 * 1024 * 1024,
    )
    page.click("#approve")
    expect(page.locator("#action-error")).to_contain_text("payload_too_large", timeout=15_000)
    expect(page.locator('[data-node="approve"]')).to_have_attribute("data-status", "waiting")

    # Stopped elsewhere (another tab, the CLI) while the panel is open: approving says why not.
    assert http(base, "POST", f"/executions/{execution_id}/stop", {"reason": "x"}, user=user)[0] == 202
    # At once (one script: the panel may be redrawn at any moment): still shown, it is clicked.
    clicked = page.evaluate(
        "() => { const b = document.getElementById('approve'); if (!b) return false;"
        " document.getElementById('approval-data').value = 'null'; b.click(); return true; }"
    )
    if clicked:
        expect(page.locator("#action-error")).to_contain_text("not_waiting")
    expect(page.locator("#exec-status")).to_have_text("ABORTED", timeout=15_000)
    expect(page.locator("#approve")).to_have_count(0)


def test_a_double_click_on_approve_approves_once_without_an_error(page: Page, served: Server) -> None:
    base, user = served.url, "clicker"
    _approval_waiting(page, base, user)
    page.fill("#approval-data", '{"ok": true}')
    page.dblclick("#approve")
    expect(page.locator('[data-node="approve"]')).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    page.wait_for_timeout(1000)
    expect(page.locator("#action-error")).to_have_text("", timeout=SHORT)


def test_a_double_click_on_run_starts_one_run(page: Page, served: Server) -> None:
    base, user = served.url, "runner"
    routine_id = http(base, "POST", "/routines", example("hello.json"), user=user)[1]["id"]
    _login(page, base, user, f"#/routines/{routine_id}")
    expect(page.locator("#graph svg")).to_be_visible()
    page.dblclick("#run")
    page.wait_for_url(lambda url: "#/executions/" in url)
    page.wait_for_timeout(1500)
    runs = http(base, "GET", f"/routines/{routine_id}/executions", user=user)[1]["items"]
    assert len(runs) == 1, [run["executionId"] for run in runs]


def test_a_double_click_on_rerun_starts_one_run(page: Page, served: Server) -> None:
    base, user = served.url, "rerunner"
    routine_id = http(base, "POST", "/routines", FAILING, user=user)[1]["id"]
    execution_id = _start(base, routine_id, {}, user)
    _until(base, execution_id, user, _ended)
    _login(page, base, user, f"#/executions/{execution_id}")
    expect(page.locator("#rerun")).to_be_visible()
    page.dblclick("#rerun")
    page.wait_for_url(lambda url: execution_id not in url)
    page.wait_for_timeout(1500)
    runs = http(base, "GET", f"/routines/{routine_id}/executions", user=user)[1]["items"]
    assert len(runs) == 2, [run["executionId"] for run in runs]  # the first and one re-run


def test_a_deleted_routines_execution_is_a_clear_message(page: Page, served: Server) -> None:
    base, user = served.url, "deleter"
    execution_id = _approval_waiting(page, base, user)
    routine_id = execution_id.split(":", 1)[0].removeprefix("routines-").removesuffix("-test")
    assert http(base, "DELETE", f"/routines/{routine_id}", user=user)[0] == 204
    page.reload()
    expect(page.locator("#failure")).to_contain_text("not_found")
    _not_injected(page)


def _deleted_while_waiting(base: str, user: str) -> str:
    routine_id = http(base, "POST", "/routines", example("approval-flow.json"), user=user)[1]["id"]
    execution_id = _start(base, routine_id, {"customer": "c1", "amount": 80}, user)
    _until(base, execution_id, user, _waiting_at("approve"))
    assert http(base, "DELETE", f"/routines/{routine_id}", user=user)[0] == 204
    return execution_id


def test_the_event_stream_of_a_deleted_routines_execution_ends(served: Server) -> None:
    execution_id = _deleted_while_waiting(served.url, "orphan1")
    parts = urlsplit(served.url)
    connection = HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", f"/executions/{execution_id}/events", headers={"X-User-Id": "orphan1"})
        response = connection.getresponse()
        if response.status == 200:
            text = response.read().decode()  # a TimeoutError if it never ends
            assert '"type":"status"' in text.split("data:")[-1] and "RUNNING" not in text.split("data:")[-1]
        else:
            assert response.status in (204, 404)
    finally:
        connection.close()


def test_deciding_an_approval_of_a_deleted_routines_execution_is_a_4xx(served: Server) -> None:
    execution_id = _deleted_while_waiting(served.url, "orphan2")
    status, body, _ = http(
        served.url,
        "POST",
        f"/executions/{execution_id}/approvals/approve",
        {"decision": "approve", "data": None},
        user="orphan2",
    )
    assert 400 <= status < 500, body


# -- the events endpoint over HTTP ------------------------------------------------------------


def _raw_events(
    base: str,
    execution_id: str,
    headers: list[tuple[bytes, bytes]],
    method: bytes = b"GET",
    body: bytes = b"",
) -> tuple[int, bytes]:
    """One request written byte for byte (a header value need not be ASCII); the status and
    the whole answer (Connection: close), within a timeout."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as connection:
        lines = [method + b" /executions/" + execution_id.encode() + b"/events HTTP/1.1", b"Host: x"]
        lines += [name + b": " + value for name, value in headers]
        lines += [b"Connection: close", b"", b""]
        connection.sendall(b"\r\n".join(lines) + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.fixture(scope="module")
def finished(served: Server) -> str:
    """An ended execution of the user 'events'."""
    routine_id = http(served.url, "POST", "/routines", example("hello.json"), user="events")[1]["id"]
    execution_id = _start(served.url, routine_id, {}, "events")
    _until(served.url, execution_id, "events", _ended)
    return execution_id


@pytest.mark.parametrize(
    "last",
    [
        b"abc",
        b"-1",
        b"1.2.3",
        b"1.",
        b".1",
        b" ",
        b"9" * 10_000,
        "\u00e9\u2713".encode(),
        b"\xe9",
        b"1e3",
        b"0x10",
    ],
)
def test_a_malformed_last_event_id_is_a_precise_422(served: Server, finished: str, last: bytes) -> None:
    started = time.monotonic()
    status, answer = _raw_events(served.url, finished, [(b"X-User-Id", b"events"), (b"Last-Event-ID", last)])
    assert status == 422, answer[:400]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["errors"][0]["code"] == "invalid_request"
    assert body["errors"][0]["path"].lower() == "header.last-event-id"
    assert time.monotonic() - started < 5


def test_the_events_of_an_ended_execution_replay_and_end(served: Server, finished: str) -> None:
    status, answer = _raw_events(served.url, finished, [(b"X-User-Id", b"events")])
    assert status == 200 and b"text/event-stream" in answer
    ids = [line[3:].strip().decode() for line in answer.split(b"\n") if line.startswith(b"id:")]
    assert ids and b'"status":"SUCCEEDED"' in answer
    # After the last one (and anything beyond it): 204, nothing more will come.
    for last in (ids[-1], "999999999999999", "999999999999999.999999"):
        status, answer = _raw_events(
            served.url, finished, [(b"X-User-Id", b"events"), (b"Last-Event-ID", last.encode())]
        )
        assert status == 204, answer[:400]
    # After the first: the rest, exactly.
    status, answer = _raw_events(
        served.url, finished, [(b"X-User-Id", b"events"), (b"Last-Event-ID", ids[0].encode())]
    )
    rest = [line[3:].strip().decode() for line in answer.split(b"\n") if line.startswith(b"id:")]
    assert status == 200 and rest == ids[1:]


@pytest.mark.parametrize(
    ("user", "execution", "method", "expected"),
    [
        (None, "finished", b"GET", 401),
        (b"a b", "finished", b"GET", 401),
        (b"", "finished", b"GET", 401),
        (b"someone-else", "finished", b"GET", 404),
        (b"events", "nope", b"GET", 404),
        (b"events", "routines-nope:abc", b"GET", 404),
        (b"events", "a" * 300, b"GET", 422),
        (b"events", "%3Cscript%3E", b"GET", 422),
        (b"events", "finished", b"POST", 405),
        (b"events", "finished", b"DELETE", 405),
        (b"events", "finished", b"HEAD", 405),
    ],
)
def test_the_events_endpoint_answers_a_precise_4xx(
    served: Server, finished: str, user: bytes | None, execution: str, method: bytes, expected: int
) -> None:
    headers = [(b"X-User-Id", user)] if user is not None else []
    if method == b"POST":
        headers += [(b"Content-Length", b"2"), (b"Content-Type", b"application/json")]
    started = time.monotonic()
    target = finished if execution == "finished" else execution
    status, answer = _raw_events(served.url, target, headers, method, b"{}" if method == b"POST" else b"")
    assert status == expected, answer[:400]
    assert b"Traceback" not in answer and b"internal" not in answer
    if method != b"HEAD":
        body = json.loads(answer.partition(b"\r\n\r\n")[2])
        assert body["errors"][0]["code"] != "internal"
    assert time.monotonic() - started < 5


def _send(base: str, path: str, user: str, count: int, timeout: float) -> list[HTTPConnection]:
    """``count`` GET requests, each on a connection of its own, sent without waiting for the
    answers (the ones the server cannot take yet wait in its queue, in order)."""
    parts = urlsplit(base)
    sent = []
    for _ in range(count):
        connection = HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        connection.request("GET", path, headers={"X-User-Id": user})
        sent.append(connection)
    return sent


def _statuses(connections: list[HTTPConnection]) -> list[int | None]:
    """Each one's status (None: no answer within its timeout), then closed."""
    out: list[int | None] = []
    for connection in connections:
        try:
            out.append(connection.getresponse().status)
        except TimeoutError:
            out.append(None)
        finally:
            connection.close()
    return out


@contextmanager
def _waiting_execution(server: Server, user: str) -> Iterator[str]:
    """An execution waiting on an approval. Stopped afterwards (in process: every worker may
    be busy), which ends its streams; then the server answers again (the next tests use it)."""
    base = server.url
    routine_id = http(base, "POST", "/routines", example("approval-flow.json"), user=user)[1]["id"]
    execution_id = _start(base, routine_id, {"customer": "c1", "amount": 80}, user)
    _until(base, execution_id, user, _waiting_at("approve"))
    try:
        yield execution_id
    finally:
        headers = {"X-User-Id": user, "Content-Type": "application/json"}
        server.handle("POST", f"/executions/{execution_id}/stop", headers, b'{"reason": "test over"}')
        deadline = time.monotonic() + 30
        while _statuses(_send(base, "/routines", user, 1, 5)) != [200]:
            assert time.monotonic() < deadline, "the server did not recover"


def test_open_event_streams_do_not_stop_the_server_answering(served: Server) -> None:
    user = "streamer1"
    with _waiting_execution(served, user) as execution_id:
        streams = _send(served.url, f"/executions/{execution_id}/events", user, WORKERS + 8, 10)
        try:
            time.sleep(1)
            assert _statuses(_send(served.url, "/routines", user, 1, 5)) in ([200], [503])
        finally:
            for connection in streams:
                connection.close()


def test_a_closed_event_stream_gives_its_worker_back_promptly(served: Server) -> None:
    user = "streamer2"
    with _waiting_execution(served, user) as execution_id:
        streams = _send(served.url, f"/executions/{execution_id}/events", user, WORKERS, 10)
        time.sleep(1)  # taken by the workers
        for connection in streams:
            connection.close()
        time.sleep(1)
        # Not one freed worker (an old stream ending meanwhile): all of them, at once.
        assert _statuses(_send(served.url, "/routines", user, WORKERS // 2, 5)) == [200] * (WORKERS // 2)


# -- many tabs ------------------------------------------------------------------------------


def test_a_seventh_tab_still_loads(browser: Browser, served: Server) -> None:
    user = "tabby"
    with _waiting_execution(served, user) as execution_id:
        context = browser.new_context()
        try:
            context.add_init_script(f"localStorage.setItem('routines.user', '{user}')")
            for _ in range(6):
                tab = context.new_page()
                tab.goto(served.url + f"/#/executions/{execution_id}")
                expect(tab.locator('[data-node="approve"]')).to_have_attribute("data-status", "waiting")
            seventh = context.new_page()
            seventh.goto(served.url + "/", wait_until="commit", timeout=10_000)
            expect(seventh.locator("#routines")).to_be_visible(timeout=10_000)
        finally:
            context.close()


# -- a view left behind -----------------------------------------------------------------------


def test_a_late_answer_for_the_view_left_does_not_draw_over_the_view_shown(
    page: Page, served: Server
) -> None:
    """An ended execution's view refreshes itself once its terminal event arrives (250 ms
    later). When the person has moved on to another execution by the time that answer comes
    (a Re-run clicked at once; CI caught it, session 13), the old view must not draw its
    graph over the new one: the new view's 'redraw only when changed' would keep it there."""
    base, user = served.url, "leaver"
    old_routine = http(base, "POST", "/routines", FAILING, user=user)[1]["id"]
    old = _start(base, old_routine, {}, user)
    _until(base, old, user, _ended)
    new_routine = http(base, "POST", "/routines", example("approval-flow.json"), user=user)[1]["id"]
    new = _start(base, new_routine, {"customer": "c1", "amount": 80}, user)
    _until(base, new, user, _waiting_at("approve"))

    # The old view's own first read passes; every later read of it answers 3 s late.
    path = json.dumps(f"/executions/{quote(old, safe='')}")
    page.add_init_script(
        f"""{{
          const fetch_ = window.fetch;
          window.oldReads = 0;
          window.fetch = async (url, options) => {{
            if (String(url) === {path} && ++window.oldReads > 1) {{
              await new Promise((resolve) => setTimeout(resolve, 3000));
            }}
            return fetch_(url, options);
          }};
        }}"""
    )
    _login(page, base, user, f"#/executions/{old}")
    expect(page.locator("#exec-status")).to_have_text("FAILED")
    # Its refresh has asked, and waits for its answer: the person moves on.
    page.wait_for_function("() => window.oldReads >= 2")
    page.evaluate("(id) => { location.hash = '#/executions/' + id; }", new)
    expect(page.locator('[data-node="approve"]')).to_have_attribute("data-status", "waiting")
    page.wait_for_timeout(4000)  # the old view's late answer has come by now (3 s)
    expect(page.locator('[data-node="boom"]')).to_have_count(0)
    expect(page.locator('[data-node="approve"]')).to_have_attribute("data-status", "waiting")
    expect(page.locator("#exec-status")).to_have_text("RUNNING")
