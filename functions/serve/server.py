"""``routines serve``: the REST API on 127.0.0.1, over the local runtime (moto).

Each HTTP request becomes an API Gateway proxy event for the same Lambda handler the
stack deploys. Requests are handled one at a time (moto's backends are not made for
concurrent writers); executions run in moto's own threads meanwhile, and their status
changes reach the recorder Lambda as EventBridge would deliver them (StatusEvents).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from functions.api import context as api_context
from functions.api.handler import MAX_BODY_BYTES
from functions.api.handler import lambda_handler as api_handler
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from functions.serve import state
from functions.serve.adapter import Dispatcher, from_result, to_event
from functions.serve.local_triggers import LocalTriggers

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
DRAIN_LIMIT = 10 * 1024 * 1024
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


class Server:
    """The HTTP server, its dispatcher and the local AWS it serves."""

    def __init__(
        self,
        aws: LocalAWS,
        port: int = DEFAULT_PORT,
        state_dir: Path | None = None,
        log: TextIO | None = None,
    ) -> None:
        self.aws = aws
        self.state_dir = state_dir
        self.log = log
        self.dispatcher = Dispatcher(api_handler)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((HOST, port), self._handler_class())
        self.httpd.daemon_threads = True
        self.triggers = LocalTriggers(self)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}"

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        event = to_event(method, target, headers, body)
        with self.lock:
            result = self.dispatcher(event)
            status, out_headers, data = from_result(result)
            if self.state_dir is not None and method in MUTATING and status < 400:
                state.save(self.aws, self.state_dir)
        return status, out_headers, data

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                started = time.perf_counter()
                text = self.headers.get("Content-Length") or "0"
                length = int(text) if text.isdigit() else MAX_BODY_BYTES + 1
                if length > MAX_BODY_BYTES:
                    # Drained, not kept (a client still sending would see a broken pipe
                    # instead of the 413), up to API Gateway's own 10 MB; then closed.
                    remaining = min(length, DRAIN_LIMIT)
                    while remaining > 0:
                        chunk = self.rfile.read(min(remaining, 65536))
                        if not chunk:
                            break
                        remaining -= len(chunk)
                    status, headers, data = (
                        413,
                        [("Content-Type", "application/json")],
                        TOO_LARGE,
                    )
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    status, headers, data = server.handle(
                        self.command, self.path, dict(self.headers.items()), body
                    )
                if server.log is not None:  # before answering: the line exists once the client has its reply
                    elapsed = (time.perf_counter() - started) * 1000
                    print(f"{self.command} {self.path} {status} {elapsed:.1f}ms", file=server.log, flush=True)
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

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per request is written by _serve

        return Handler

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.triggers.close()
        if self.state_dir is not None:
            with self.lock:
                state.save(self.aws, self.state_dir)


@contextmanager
def running(port: int = 0, state_dir: Path | None = None, log: TextIO | None = None) -> Iterator[Server]:
    """A started server on a local AWS, in a background thread (tests, benchmarks)."""
    with LocalAWS() as aws, StatusEvents(aws):
        api_context.reset()
        if state_dir is not None:
            state.load(aws, state_dir)
        server = Server(aws, port, state_dir, log)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(timeout=5)
            api_context.reset()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(port: int = DEFAULT_PORT, state_dir: Path | None = None) -> int:
    """Run until Ctrl-C; the exit code."""
    with LocalAWS() as aws, StatusEvents(aws):
        api_context.reset()
        restored = state.load(aws, state_dir) if state_dir is not None else 0
        try:
            server = Server(aws, port, state_dir, sys.stderr)
        except OSError as exc:
            print(f"routines serve: cannot listen on {HOST}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(
            f"Routines API on {server.url}  (OpenAPI: {server.url}/openapi.json, docs: {server.url}/docs)",
            flush=True,
        )
        if state_dir is not None:
            print(f"state in {state_dir} ({restored} active routine(s) restored)", flush=True)
        # SIGTERM (a supervisor, `kill`) stops as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr, flush=True)
        finally:
            server.shutdown()
    return 0
