"""Server-Sent Events under ``routines serve``: the connection stays open.

The API handler answers ``GET /executions/{id}/events`` with the events so far, as it
does on AWS, where API Gateway cannot stream (functions/api/routes/events.py). Here the
answer is the start of a stream: every :data:`POLL_SECONDS` (longer after a slow poll:
:data:`SHARE`) the same handler is asked
again with ``Last-Event-ID`` set to the last event sent, and what it adds is written to
the open connection, until an answer says ``X-Events-Complete`` (the terminal status was
sent), a ``204``, an error, the client leaves or the server stops. Between polls no lock
is held: other requests run meanwhile (each poll is one request to the handler).

A stream holds one of the server's workers, so it is bounded, and a client may reconnect
with ``Last-Event-ID`` (the console does; EventSource does too) to lose nothing:

- an answer streams at most :data:`STREAM_SECONDS`, then ends: an approval may wait a
  day, and one tab must not hold a worker, nor one of the 6 connections a browser opens
  to a host, that long (a seventh console tab would wait for one);
- a client that left is noticed while the stream pauses (its socket reads as closed),
  not only when a write fails, so its worker comes back at once;
- at most half of the workers stream at a time (``Server.streams``); past that an answer
  is the events so far and a ``retry:`` — as on AWS — and requests are still served.
"""

from __future__ import annotations

import select
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from functions.serve.server import Server

EVENT_STREAM = "text/event-stream"
COMPLETE = "x-events-complete"
LAST_EVENT_ID = "last-event-id"
POLL_SECONDS = 0.2
SHARE = 4  # pause at least this many times as long as the last poll took
MAX_PAUSE_SECONDS = 5.0  # …but no longer than this: the stream still follows the run
HEARTBEAT_SECONDS = 15.0  # a comment line: proxies and clients see a live connection
STREAM_SECONDS = 10.0  # one answer streams this long at the most; the client reconnects


def is_event_stream(headers: list[tuple[str, str]]) -> bool:
    return any(k.lower() == "content-type" and v.startswith(EVENT_STREAM) for k, v in headers)


def _complete(headers: list[tuple[str, str]]) -> bool:
    return any(k.lower() == COMPLETE and v.lower() == "true" for k, v in headers)


def _last_id(data: bytes, previous: str | None) -> str | None:
    for line in data.decode().splitlines():
        if line.startswith("id:"):
            previous = line[3:].strip()
    return previous


def _events_only(data: bytes) -> bytes:
    """An answer without its ``retry:`` preamble (sent once, with the first answer)."""
    text = data.decode()
    if text.startswith("retry:"):
        text = text.partition("\n\n")[2]
    return text.encode()


def stream(
    handler: BaseHTTPRequestHandler,
    server: Server,
    request_headers: dict[str, str],
    headers: list[tuple[str, str]],
    first: bytes,
    started: float,
) -> None:
    """Answer ``first`` (a 200 event stream) and keep adding to it (see the module)."""
    if not server.streams.acquire(blocking=False):  # every streaming worker is taken
        _answer_once(handler, server, headers, first, started)
        return
    try:
        _open(handler, server, headers, started, "stream", None)
        _follow(handler, server, request_headers, _complete(headers), first)
    finally:
        server.streams.release()


def _answer_once(
    handler: BaseHTTPRequestHandler,
    server: Server,
    headers: list[tuple[str, str]],
    first: bytes,
    started: float,
) -> None:
    """The events so far, ending with the handler's ``retry:``: the client asks again."""
    _open(handler, server, headers, started, "no stream free", len(first))
    try:
        _write(handler, first)
    except (ConnectionError, TimeoutError):
        return


def _follow(
    handler: BaseHTTPRequestHandler, server: Server, request_headers: dict[str, str], done: bool, first: bytes
) -> None:
    """Write ``first``, then what each poll adds, until the run ends, the client leaves,
    the server stops or :data:`STREAM_SECONDS` have passed."""
    try:
        _write(handler, first)
        last = _last_id(first, _header(request_headers, LAST_EVENT_ID))
        quiet_since = opened = time.monotonic()
        pause = POLL_SECONDS
        while not done and not server.stopping() and time.monotonic() - opened < STREAM_SECONDS:
            if _left(handler, pause):
                return
            asked = {k: v for k, v in request_headers.items() if k.lower() != LAST_EVENT_ID}
            if last is not None:
                asked["Last-Event-ID"] = last
            polled = time.perf_counter()
            status, more_headers, data = server.handle("GET", handler.path, asked, b"")
            # A poll holds the server (requests run one at a time): one that takes long (a
            # history of thousands of loop iterations) waits longer before the next, so that
            # a stream takes at most a fifth of the server's time (until MAX_PAUSE_SECONDS).
            pause = min(MAX_PAUSE_SECONDS, max(POLL_SECONDS, SHARE * (time.perf_counter() - polled)))
            if status != 200:
                break  # 204: the stream had ended; an error: the execution went away
            events = _events_only(data)
            if events:
                _write(handler, events)
                last = _last_id(events, last)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                _write(handler, b": keep-alive\n\n")
                quiet_since = time.monotonic()
            done = _complete(more_headers)
    except (ConnectionError, TimeoutError):
        return  # the client left


def _open(
    handler: BaseHTTPRequestHandler,
    server: Server,
    headers: list[tuple[str, str]],
    started: float,
    how: str,
    length: int | None,
) -> None:
    """Log the answer and send its status and headers (the connection closes after it:
    ``length``, or the end of the stream, delimits the body)."""
    if server.log is not None:
        elapsed = (time.perf_counter() - started) * 1000
        print(f"{handler.command} {handler.path} 200 {elapsed:.1f}ms ({how})", file=server.log, flush=True)
    handler.close_connection = True
    handler.send_response(200)
    # A stream says it ended by ending; one answer keeps X-Events-Complete, as on AWS.
    skipped = ("content-length", "connection") + ((COMPLETE,) if length is None else ())
    for key, value in headers:
        if key.lower() not in skipped:
            handler.send_header(key, value)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()


def _left(handler: BaseHTTPRequestHandler, seconds: float) -> bool:
    """Pause ``seconds``, or less if the client closes its end (a GET sends nothing more:
    its socket turning readable means it closed, or sent what a stream ignores)."""
    connection = handler.connection
    try:
        readable, _, _ = select.select([connection], [], [], seconds)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True  # the socket is gone


def _write(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(data)
    handler.wfile.flush()


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)
