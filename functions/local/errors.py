"""What a user sees of an execution's error: ``{"type", "message"}``, nothing more.

Step Functions reports a Lambda failure with the Lambda's whole error report as the
Cause — a JSON string with ``errorType``, ``errorMessage``, ``requestId`` and a
``stackTrace`` of the machine's file paths — and a failed Map iteration or Parallel
branch may wrap that again. The user needs the type and the message; the trace stays in
the node's log for debugging.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 5  # wrapped causes: a Lambda's report inside a branch's inside a Map's


def _parsed(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def clean_message(cause: str | None, depth: int = 0) -> str:
    """The human message inside a Cause (a JSON error report is unwrapped)."""
    if not cause:
        return ""
    report = _parsed(cause)
    if not isinstance(report, dict) or depth >= MAX_DEPTH:
        return cause
    for key in ("errorMessage", "Cause", "cause", "message"):
        value = report.get(key)
        if isinstance(value, str):
            return clean_message(value, depth + 1)
    return cause


def clean_error(error: str | None, cause: str | None) -> dict[str, Any]:
    """``{"type", "message"}`` of an execution error; the type named inside a Lambda
    report wins over the generic one around it."""
    report = _parsed(cause) if cause else None
    kind = error
    if isinstance(report, dict) and isinstance(report.get("errorType"), str) and not error:
        kind = report["errorType"]
    return {"type": kind, "message": clean_message(cause)}
