"""Development-only endpoints of ``routines serve`` (never deployed):
``POST /local/routines/{id}/fire`` fires a cron routine now; ``POST /local/events`` takes
EventBridge PutEvents entries and starts the event routines they match."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions.api.context import owner_of
from functions.triggers.active import find_active
from functions.triggers.cron import fire
from functions.triggers.events import put_events

MAX_ENTRIES = 10  # as PutEvents


def _reply(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _error(status: int, code: str, message: str, path: str = "") -> dict[str, Any]:
    return _reply(status, {"errors": [{"code": code, "path": path, "message": message}]})


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = str(event.get("path") or "").rstrip("/")
    if event.get("httpMethod") != "POST":
        refused = _error(405, "method_not_allowed", "local endpoints take POST")
        refused["headers"] = {**refused.get("headers", {}), "Allow": "POST"}
        return refused
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["local", "routines"] and parts[4] == "fire":
        return _fire(event, parts[3])
    if path == "/local/events":
        return _events(event)
    return _error(404, "not_found", "no such endpoint")


def _fire(event: dict[str, Any], routine_id: str) -> dict[str, Any]:
    owner = owner_of(event)
    if owner is None:
        return _error(401, "unauthorized", "no caller identity (X-User-Id)")
    routine = find_active(owner, routine_id, "cron")
    if routine is None:
        return _error(404, "not_found", f"no active cron routine '{routine_id}'")
    record = fire(routine, datetime.now(UTC))
    return _reply(202, {"executionId": record.execution_id, "trigger": record.trigger})


def _events(event: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return _error(400, "invalid_json", "the body is not valid JSON", "body")
    entries = body.get("Entries") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        return _error(
            422, "invalid_request", f"Entries: a list of 1 to {MAX_ENTRIES} entries", "body.Entries"
        )
    deliveries = put_events(entries)
    failed = sum(1 for d in deliveries if d.error is not None)
    return _reply(200, {"FailedEntryCount": failed, "Entries": [d.to_json() for d in deliveries]})
