"""Lambda invocations served in-process.

moto's Lambda backend without Docker answers every invoke with a canned reply. Here its
``invoke`` is replaced, for the lifetime of a :class:`LocalAWS`, by a dispatcher that
imports the function's handler *by the handler string it was registered with* (the same
string the CDK app deploys), calls it with a Lambda-like context, and reports exceptions
as AWS does: an ``x-amz-function-error`` header and ``{"errorType", "errorMessage"}``, so
Step Functions' Retry and Catch match error names exactly as on AWS.

Pinned outputs (a routine test's "pinned data"): for one execution, a node's Lambda is
not run; its invoke answers with the pinned output (or fails with the pinned error) and
writes the node log the handler would have written. The execution stays a real Step
Functions run — same states, transitions, Retry and Catch — only the plugin's work is
replaced.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from contract.errors import RoutinesError
from functions.local.fastpaths.guard import require

Handler = Callable[[Any, Any], Any]


@dataclass(slots=True)
class LambdaContext:
    """The attributes of the AWS Lambda context object handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class Pin:
    """What a pinned node's Lambda answers: ``output``, or fails with ``error`` (a type
    name Retry/Catch match on) and ``message``."""

    output: Any = None
    error: str | None = None
    message: str = ""


class PinnedError(RoutinesError):
    """Raised in place of a pinned node's plugin; reported under the pinned type name."""

    def __init__(self, pin: Pin) -> None:
        super().__init__(pin.message)
        self.pin = pin


@dataclass(slots=True)
class Invocation:
    function: str
    request_id: str
    started: float
    duration_ms: float
    error: str | None
    logs: str


class _ThreadStdout(io.TextIOBase):
    """sys.stdout that writes to a per-thread buffer while a handler runs on that thread
    (Step Functions runs Parallel branches and Map iterations on several threads)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.local = threading.local()

    def write(self, text: str) -> int:
        buffer = getattr(self.local, "buffer", None)
        target = buffer if buffer is not None else self.real
        return int(target.write(text))

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.real.flush()


INVOKE_PARAMETERS = ("self", "function_name", "qualifier", "body", "headers", "response_headers")


class InProcessLambda:
    """Installs the dispatcher on moto's Lambda backend; records every invocation."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._original: Any = None
        self._stdout: _ThreadStdout | None = None
        self._pins: dict[str, dict[str, Pin]] = {}

    def pin(self, execution_arn: str, pins: dict[str, Pin]) -> None:
        """Serve these nodes' invokes from pins during one execution (set before it starts)."""
        with self._lock:
            self._pins[execution_arn] = dict(pins)

    def unpin(self, execution_arn: str) -> None:
        with self._lock:
            self._pins.pop(execution_arn, None)

    def install(self) -> None:
        # Stands in for moto's method, which moto's Lambda layer calls with these arguments.
        require(LambdaSimpleBackend, "invoke", INVOKE_PARAMETERS)
        self._original = LambdaSimpleBackend.invoke
        dispatcher = self

        def invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            function = backend.get_function(function_name, qualifier)
            return dispatcher.dispatch(function, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]
        self._capture()

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaSimpleBackend.invoke = self._original  # type: ignore[method-assign]
            self._original = None
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = self._stdout.real
        self._stdout = None

    def _capture(self) -> _ThreadStdout:
        """sys.stdout wrapped so each thread's handler output can be captured; wrapped
        again if something replaced it since (pytest swaps it around every test)."""
        with self._lock:
            if self._stdout is None or sys.stdout is not self._stdout:
                self._stdout = _ThreadStdout(sys.stdout)
                sys.stdout = self._stdout
            return self._stdout

    def handler(self, handler_string: str) -> Handler:
        with self._lock:
            if handler_string not in self._handlers:
                module_name, _, attribute = handler_string.rpartition(".")
                self._handlers[handler_string] = getattr(importlib.import_module(module_name), attribute)
            return self._handlers[handler_string]

    def dispatch(self, function: Any, body: Any, response_headers: dict[str, str]) -> bytes:
        context = LambdaContext(
            function.function_name, function.function_arn, int(function.memory_size), int(function.timeout)
        )
        buffer = io.StringIO()
        stdout = self._capture()
        stdout.local.buffer = buffer
        started, error = time.time(), None
        try:
            event = json.loads(body) if body else {}
            pin = self._pinned(event)
            if pin is None:
                result = self.handler(function.handler)(event, context)
            else:
                result = _serve_pin(pin, event, context.aws_request_id, started)
            payload = json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str)
        except Exception as exc:  # what the Lambda runtime does with an unhandled exception
            error = exc.pin.error if isinstance(exc, PinnedError) else type(exc).__name__
            response_headers["x-amz-function-error"] = "Unhandled"
            report: dict[str, Any] = {
                "errorType": error,
                "errorMessage": str(exc),
                "requestId": context.aws_request_id,
            }
            if not isinstance(exc, PinnedError):
                report["stackTrace"] = traceback.format_exception(exc)[-5:]
            payload = json.dumps(report)
        finally:
            stdout.local.buffer = None
        duration = (time.time() - started) * 1000
        with self._lock:
            self.invocations.append(
                Invocation(
                    function.function_name,
                    context.aws_request_id,
                    started,
                    duration,
                    error,
                    buffer.getvalue(),
                )
            )
        return payload.encode()

    def _pinned(self, event: Any) -> Pin | None:
        if not self._pins or not isinstance(event, dict) or "plugin" in event:
            return None  # no pins, or the evaluator (control nodes are never pinned)
        execution = event.get("execution")
        arn = execution.get("id") if isinstance(execution, dict) else None
        with self._lock:
            return self._pins.get(str(arn), {}).get(str(event.get("node")))


def _serve_pin(pin: Pin, event: dict[str, Any], request_id: str, started: float) -> Any:
    """The pinned answer, with the node log the plugin runtime would have written."""
    from plugins.runtime.nodelog import NodeLog

    attempt = event.get("attempt")
    log = NodeLog(
        str(event["execution"]["id"]),
        str(event["node"]),
        (attempt if isinstance(attempt, int) else 0) + 1,
        request_id,
        started,
        loop_index=event.get("iteration") if isinstance(event.get("iteration"), str) else None,
    )
    if pin.error is None:
        log.status, log.output = "succeeded", pin.output
    else:
        log.status, log.error_type, log.error_message = "failed", pin.error, pin.message
    log.write()
    if pin.error is not None:
        raise PinnedError(pin)
    return pin.output
