"""Fixtures for end-to-end tests: the local AWS and a real HTTP server on 127.0.0.1; a
DynamoDB item of every attribute kind, shared by the tests of the local DynamoDB paths;
and Lambda functions whose handler is a test module's function."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.api import context as api_context
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from tests.api.conftest import Api

# A DynamoDB item holding every kind of attribute value (and a map member named like a type).
DYNAMODB_ITEM: dict[str, Any] = {
    "pk": {"S": "a"},
    "sk": {"S": "1"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\x01"},
    "ok": {"BOOL": False},
    "none": {"NULL": True},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"1"]},
    "m": {"M": {"inner": {"L": [{"S": "s"}, {"N": "3"}, {"M": {}}]}, "S": {"S": "not a type"}}},
    "l": {"L": []},
}


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        api_context.reset()  # the API's cached stores and settings name this local AWS
        yield local
        api_context.reset()


@pytest.fixture
def api(aws: LocalAWS) -> Api:
    return Api()


@pytest.fixture
def events(aws: LocalAWS) -> Iterator[StatusEvents]:
    """Step Functions' status events delivered to the recorder, as EventBridge would."""
    with StatusEvents(aws) as delivered:
        yield delivered


class Recorder:
    """Scripted responses per path (a list is served in order, the last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, Any]]] = {}
        self.base = ""

    def respond(self, path: str, *responses: tuple[int, Any]) -> str:
        self.script[path] = list(responses)
        return self.base + path


@pytest.fixture
def http() -> Iterator[Recorder]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path = self.path.split("?")[0]
            recorder.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            script = recorder.script.get(path) or [(404, {"error": "not found"})]
            status, payload = script.pop(0) if len(script) > 1 else script[0]
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


def in_process_function(aws: LocalAWS, handler: str) -> str:
    """The ARN of a new Lambda function on the local AWS whose handler (``module.name``,
    e.g. a test module's function) runs in-process, as the plugins' do."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "")
    return str(
        aws.client("lambda").create_function(
            FunctionName=f"f-{uuid.uuid4().hex[:8]}",
            Runtime="python3.12",
            Role=aws.role_arn,
            Handler=handler,
            Code={"ZipFile": archive.getvalue()},
            Timeout=30,
        )["FunctionArn"]
    )
