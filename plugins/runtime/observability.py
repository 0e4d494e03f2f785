"""Powertools Logger and Tracer shared by every plugin handler (metrics: single_metric).

The logger writes to whatever ``sys.stdout`` is at the time of the call (not at import),
so the local runtime can capture each invocation's logs as CloudWatch would.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer

from contract.expressions import iter_strings, map_strings

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


REDACTED = "[secret]"
MIN_SECRET_CHARS = 4  # shorter texts (a port, "yes") are not redacted: they would mask half the output


def redact_secrets(value: Any, secrets: dict[str, Any]) -> Any:
    """``value`` with every secret text replaced by ``[secret]``: the whole value of each
    secret (a JSON secret also as JSON text) and each of its string leaves, in strings and
    in object keys, at any depth. Texts under :data:`MIN_SECRET_CHARS` characters are left
    alone. A value without secrets is returned as is (not copied)."""
    texts = secret_texts(secrets)
    return redact_texts(value, texts) if texts else value


def secret_texts(secrets: dict[str, Any]) -> list[str]:
    """What :func:`redact_secrets` replaces, longest first (a leaf inside a longer text
    must not break the longer one's match)."""
    found: set[str] = set()
    for value in secrets.values():
        if isinstance(value, dict | list):
            found.add(json.dumps(value))
            found.add(json.dumps(value, separators=(",", ":")))
            found.add(json.dumps(value, ensure_ascii=False))
        found.update(text for _, text in iter_strings(value))  # numbers are not text to hide
    return sorted((t for t in found if len(t) >= MIN_SECRET_CHARS), key=len, reverse=True)


def redact_texts(value: Any, texts: list[str]) -> Any:
    """``value`` with each of ``texts`` replaced in every string and key (iterative: a
    deep value cannot overflow the stack)."""

    def scrub(text: str) -> str:
        for secret in texts:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    return map_strings(value, scrub, scrub)
