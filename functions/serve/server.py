"""``routines serve``: the REST API on 127.0.0.1, over the local runtime (moto).

Each HTTP request becomes an API Gateway proxy event for the same Lambda handler the
stack deploys. Requests are handled one at a time (moto's backends are not made for
concurrent writers); executions run in moto's own threads meanwhile, and their status
changes reach the recorder Lambda as EventBridge would deliver them (StatusEvents).

Connections wait in a listen backlog of :data:`BACKLOG`, then in a queue of
:data:`WAITING` for one of :data:`WORKERS` threads; past that, they are answered ``503``
with ``Retry-After`` — never reset, never given a thread of their own
(:class:`PooledHTTPServer`).
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TextIO

from contract.names import RECORDER_HANDLER
from functions.api import context as api_context
from functions.api.handler import MAX_BODY_BYTES
from functions.api.handler import lambda_handler as api_handler
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.serve import state, static, streaming
from functions.serve.adapter import Dispatcher, from_result, to_event
from functions.serve.local_triggers import LocalTriggers

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
DRAIN_LIMIT = 10 * 1024 * 1024
BACKLOG = 1024  # listen(2)'s backlog; the kernel caps it at net.core.somaxconn
WORKERS = 32  # threads serving connections (requests still run one at a time)
WAITING = 256  # accepted connections waiting for a worker; past that: 503
REFUSERS = 2  # threads answering those 503s
REFUSALS_WAITING = 1024
RETRY_AFTER_SECONDS = 1
IDLE_SECONDS = 5  # an idle keep-alive connection gives its worker back after this long
REFUSAL_SECONDS = 2  # how long a refused client may take to send its request
BUSY = json.dumps(
    {
        "errors": [
            {
                "code": "busy",
                "path": "",
                "message": f"the server is busy; retry after {RETRY_AFTER_SECONDS} s",
            }
        ]
    }
).encode()
TOO_LARGE = json.dumps(
    {
        "errors": [
            {
                "code": "payload_too_large",
                "path": "body",
                "message": f"the body is larger than {MAX_BODY_BYTES} bytes",
            }
        ]
    }
).encode()


def internal_error(request_id: str) -> dict[str, Any]:
    """The API's answer to an unexpected failure (docs/api.md), as a proxy response."""
    problem = {
        "code": "internal",
        "path": "",
        "message": "internal error; quote the request id when reporting it",
    }
    return {
        "statusCode": 500,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"errors": [problem], "requestId": request_id}),
        "isBase64Encoded": False,
    }


Connection = tuple[socket.socket, Any]


class _EveryMethod(BaseHTTPRequestHandler):
    """An HTTP/1.1 handler whose ``_answer`` takes every request, whatever its method:
    TRACE, QUERY, … too reach the API's handlers, which answer 405 with Allow (not
    http.server's 501 HTML page). Each server's ``_answer`` logs its own one line."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # http.server looks up do_<METHOD>
            return self._answer
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _drain(self, length: int) -> None:
        """Read and drop a body that is not kept, up to API Gateway's own 10 MB: a client
        still sending it would see a broken pipe instead of the answer."""
        remaining = min(length, DRAIN_LIMIT)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        """Send the answer: ``headers`` but the framing ones, which are the server's."""
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class PooledHTTPServer(HTTPServer):
    """An HTTP server with a real listen backlog and a bounded pool of worker threads.

    An accepted connection waits (up to ``waiting`` of them) for one of ``workers``
    threads. When that queue is full it goes to ``busy`` instead, run by a thread of
    :data:`REFUSERS`: that handler reads the request and answers ``503`` with
    ``Retry-After`` (a connection closed with its request unread would be reset). Only
    when even that queue is full is a connection closed unanswered."""

    request_queue_size = BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        busy: type[BaseHTTPRequestHandler],
        workers: int = WORKERS,
        waiting: int = WAITING,
    ) -> None:
        super().__init__(address, handler)
        self.busy = busy
        self.waiting: queue.Queue[Connection] = queue.Queue(waiting)
        self.refusals: queue.Queue[Connection] = queue.Queue(REFUSALS_WAITING)
        self.refused = 0
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(self.waiting, handler), name=f"http-{n}", daemon=True)
            for n in range(workers)
        ]
        self._threads += [
            threading.Thread(target=self._work, args=(self.refusals, busy), name=f"busy-{n}", daemon=True)
            for n in range(REFUSERS)
        ]
        for thread in self._threads:
            thread.start()

    def stopping(self) -> bool:
        return self._stopped.is_set()

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self.waiting.put_nowait((request, client_address))
            return
        except queue.Full:
            pass
        try:
            self.refusals.put_nowait((request, client_address))
            self.refused += 1
        except queue.Full:
            self.shutdown_request(request)

    def _work(self, connections: queue.Queue[Connection], handler: type[BaseHTTPRequestHandler]) -> None:
        while not self._stopped.is_set():
            try:
                request, address = connections.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                handler(request, address, self)
            except Exception:
                self.handle_error(request, address)
            finally:
                self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # the client went away before its answer: nobody to tell
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=IDLE_SECONDS + 1)
        for connections in (self.waiting, self.refusals):
            while True:
                try:
                    request, _ = connections.get_nowait()
                except queue.Empty:
                    break
                self.shutdown_request(request)


class Server:
    """The HTTP server, its dispatcher and the local AWS it serves."""

    def __init__(
        self,
        aws: LocalAWS,
        port: int = DEFAULT_PORT,
        durable: state.Durable | None = None,
        log: TextIO | None = None,
        workers: int = WORKERS,
        waiting: int = WAITING,
        events: StatusEvents | None = None,
    ) -> None:
        self.aws = aws
        self.durable = durable  # --state-dir
        self.log = log
        self.dispatcher = Dispatcher(api_handler)
        # Reentrant: the recorder, run under it (an Express machine's record write, below),
        # writes and journals records under it again.
        self.lock = threading.RLock()
        if durable is not None:
            durable.guard = self.lock  # records written outside requests: journaled first
            if events is not None:
                # An Express machine's record write and its settling: one step for requests
                # (functions/local/status_events.py), journaled before the lock is released.
                events.guard = self.lock
        self.httpd = PooledHTTPServer(
            (HOST, port), self._handler_class(), self._busy_class(), workers, waiting
        )
        # Open event streams hold a worker each: at most half of them, so that requests
        # are still served while streams are open (streaming.stream).
        self.streams = threading.BoundedSemaphore(max(1, workers // 2))
        self.triggers = LocalTriggers(self)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}"

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        console = static.answer(method, target)
        if console is not None:
            return console
        event = to_event(method, target, headers, body)
        with self.lock:
            try:
                result = self.dispatcher(event)
            except Exception:
                # A handler that raises (on AWS, API Gateway's 502) still gets the caller an
                # answer instead of a dropped connection; the trace goes to the server's log.
                traceback.print_exc(file=self.log or sys.stderr)
                result = internal_error(event["requestContext"]["requestId"])
            status, out_headers, data = from_result(result)
            ticket = (
                self.durable.request()
                if self.durable is not None and method in MUTATING and not 400 <= status < 500
                else None
            )
        # Answered once a snapshot taken after this request is on disk; requests that
        # arrive meanwhile run, and share the next snapshot (functions/serve/state.py).
        if self.durable is not None and ticket is not None:
            problem = self.durable.wait(ticket)
            if problem is not None:
                print(f"routines serve: state not saved: {problem}", file=self.log or sys.stderr, flush=True)
        return status, out_headers, data

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(_EveryMethod):
            timeout = IDLE_SECONDS  # per socket operation: an idle keep-alive client lets go

            def _answer(self) -> None:
                started = time.perf_counter()
                text = self.headers.get("Content-Length") or "0"
                length = int(text) if text.isdigit() else MAX_BODY_BYTES + 1
                if length > MAX_BODY_BYTES:
                    self._drain(length)  # not kept: answered 413, then closed
                    status, headers, data = (
                        413,
                        [("Content-Type", "application/json")],
                        TOO_LARGE,
                    )
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    request_headers = dict(self.headers.items())
                    status, headers, data = server.handle(self.command, self.path, request_headers, body)
                    if status == 200 and self.command == "GET" and streaming.is_event_stream(headers):
                        streaming.stream(self, server, request_headers, headers, data, started)
                        return
                if server.log is not None:  # before answering: the line exists once the client has its reply
                    elapsed = (time.perf_counter() - started) * 1000
                    print(f"{self.command} {self.path} {status} {elapsed:.1f}ms", file=server.log, flush=True)
                self._reply(status, headers, data)

        return Handler

    def _busy_class(self) -> type[BaseHTTPRequestHandler]:
        """Answers every request 503 with Retry-After, once it has read it."""
        server = self

        class Busy(_EveryMethod):
            timeout = REFUSAL_SECONDS

            def _answer(self) -> None:
                text = self.headers.get("Content-Length") or "0"
                self._drain(int(text) if text.isdigit() else 0)
                if server.log is not None:
                    print(f"{self.command} {self.path} 503 busy", file=server.log, flush=True)
                self.close_connection = True
                retry = [("Retry-After", str(RETRY_AFTER_SECONDS)), ("Content-Type", "application/json")]
                self._reply(503, retry, BUSY)

        return Busy

    def stopping(self) -> bool:
        """Whether the server is shutting down (open event streams end)."""
        return self.httpd.stopping()

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.triggers.close()
        if self.durable is not None:
            self.durable.commit()


@contextmanager
def _runtime(
    state_dir: Path | None, saved: state.Saved | None
) -> Iterator[tuple[LocalAWS, state.Durable | None, state.Restored, StatusEvents]]:
    """A local AWS whose status events reach the recorder; with a state directory, the
    saved state put back (``saved``, from :func:`state.read`) and kept from then on.
    Raises :class:`state.StateFileError` for a state that cannot be put back or a
    directory that cannot be written."""
    handler = state.HANDLER if state_dir is not None else RECORDER_HANDLER
    with LocalAWS() as aws:
        durable: state.Durable | None = None
        try:
            with StatusEvents(aws, handler) as events:
                api_context.reset()
                restored = state.Restored()
                if state_dir is not None:
                    if saved is not None:
                        restored = state.restore(aws, saved)
                    first = max(saved.journal, saved.last_journal) if saved is not None else 0
                    durable = state.Durable(aws, state_dir, first)
                    try:
                        durable.start()
                    except OSError as exc:
                        durable.close()
                        durable = None
                        raise state.StateFileError(
                            f"{state_dir}: cannot write the state there: {exc.strerror or exc}"
                        ) from None
                yield aws, durable, restored, events
        finally:
            # After the status events have stopped: what they recorded last is kept too.
            if durable is not None:
                durable.close()
            api_context.reset()


@contextmanager
def running(
    port: int = 0,
    state_dir: Path | None = None,
    log: TextIO | None = None,
    workers: int = WORKERS,
    waiting: int = WAITING,
) -> Iterator[Server]:
    """A started server on a local AWS, in a background thread (tests, benchmarks)."""
    saved = state.read(state_dir) if state_dir is not None else None
    with _runtime(state_dir, saved) as (aws, durable, _, events):
        server = Server(aws, port, durable, log, workers, waiting, events)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(timeout=5)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(port: int = DEFAULT_PORT, state_dir: Path | None = None) -> int:
    """Run until Ctrl-C; the exit code (2: cannot listen, or a state that cannot be used)."""
    try:
        saved = state.read(state_dir) if state_dir is not None else None
        with _runtime(state_dir, saved) as (aws, durable, restored, events):
            try:
                server = Server(aws, port, durable, sys.stderr, events=events)
            except OSError as exc:
                reason = exc.strerror or exc
                print(f"routines serve: cannot listen on {HOST}:{port}: {reason}", file=sys.stderr)
                return 2
            url = server.url
            print(
                f"Routines API on {url}  (console: {url}/, OpenAPI: {url}/openapi.json, docs: {url}/docs)",
                flush=True,
            )
            if state_dir is not None:
                kept = f"{restored.activated} active routine(s) restored"
                if restored.aborted:
                    kept += f", {restored.aborted} interrupted execution(s) closed as ABORTED"
                print(f"state in {state_dir} ({kept})", flush=True)
            # SIGTERM (a supervisor, `kill`) stops as cleanly as Ctrl-C does.
            signal.signal(signal.SIGTERM, _interrupt)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("stopping", file=sys.stderr, flush=True)
            finally:
                server.shutdown()
    except state.StateFileError as exc:
        print(f"routines serve: {exc}", file=sys.stderr)
        return 2
    return 0
