"""Powertools Logger and Tracer shared by every plugin handler (metrics: single_metric).

The logger writes to whatever ``sys.stdout`` is at the time of the call (not at import),
so the local runtime can capture each invocation's logs as CloudWatch would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer

F = TypeVar("F", bound=Callable[..., Any])


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class _NoTracer:
    """Stands in for powertools' Tracer where tracing is off: creating a Tracer imports the
    X-Ray SDK (~120 ms of cold start) even when it is disabled."""

    def capture_lambda_handler(self, **_: Any) -> Callable[[F], F]:
        return lambda handler: handler


def _tracing() -> bool:
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return not disabled and "AWS_LAMBDA_FUNCTION_NAME" in os.environ


logger = Logger(service="routines", stream=_CurrentStdout())  # type: ignore[arg-type]
tracer: _NoTracer = Tracer(service="routines") if _tracing() else _NoTracer()  # type: ignore[assignment]
METRICS_NAMESPACE = "Routines"


def redact_secrets(value: Any, secrets: dict[str, Any]) -> Any:
    """``value`` with every secret text replaced (for logs built from resolved input)."""
    texts = [s for s in _secret_texts(secrets) if len(s) >= 4]
    if not texts:
        return value
    if isinstance(value, str):
        for text in texts:
            value = value.replace(text, "[secret]")
        return value
    if isinstance(value, dict):
        return {k: redact_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets(v, secrets) for v in value]
    return value


def _secret_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _secret_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _secret_texts(v)]
    return [str(value)] if value is not None else []
