"""``routines serve --state-dir``: keep routines (and execution records) across restarts.

moto's state lives in the server process, so it is saved as data and replayed: on every
change the control plane's DynamoDB tables and the webhook secrets are written to
``state.json`` (atomically); at start they are put back, and every routine that was
active is activated again — same state machine names, same schedules and rules, the same
webhook secrets. Limits: Step Functions' own executions (their histories) are not kept —
an execution that ran before a restart is known only by its execution record, and one
still running when the server stopped is lost.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from functions import activation
from functions.activation import Settings
from functions.local import LocalAWS
from functions.store import RoutineStore
from infra.names import IDEMPOTENCY_TABLE, TABLES

logger = Logger(service="routines-serve", child=True)
FILE = "state.json"
FORMAT = 1


def _plain(value: Any) -> Any:
    """DynamoDB-JSON with binary values made JSON-safe (``{"B": bytes}`` → ``{"B64": str}``)."""
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value


def _tables() -> list[str]:
    names = [spec.name for spec in TABLES]
    return [*names, IDEMPOTENCY_TABLE.name]


def save(aws: LocalAWS, directory: Path) -> None:
    db = aws.client("dynamodb")
    existing = set(db.list_tables()["TableNames"])
    tables: dict[str, list[Any]] = {}
    for name in _tables():
        if name not in existing:
            continue
        items: list[Any] = []
        for page in db.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
        tables[name] = _plain(items)
    manager = aws.client("secretsmanager")
    prefix = Settings.from_env().webhook_secret_prefix
    secrets: dict[str, str] = {}
    for page in manager.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            if entry["Name"].startswith(prefix):
                secrets[entry["Name"]] = manager.get_secret_value(SecretId=entry["ARN"])["SecretString"]
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / (FILE + ".tmp")
    temporary.write_text(json.dumps({"format": FORMAT, "tables": tables, "webhookSecrets": secrets}))
    os.replace(temporary, directory / FILE)


def load(aws: LocalAWS, directory: Path) -> int:
    """Put the saved state back; the number of routines re-activated."""
    path = directory / FILE
    if not path.exists():
        return 0
    state = json.loads(path.read_text())
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown state format {state.get('format')!r}")
    db = aws.client("dynamodb")
    existing = set(db.list_tables()["TableNames"])
    for name, items in state["tables"].items():
        if name not in existing:
            continue
        for item in _typed(items):
            db.put_item(TableName=name, Item=item)
    manager = aws.client("secretsmanager")
    for name, value in state.get("webhookSecrets", {}).items():
        manager.create_secret(Name=name, SecretString=value)
    store, settings = RoutineStore(), Settings.from_env()
    activated = 0
    for item in state["tables"].get(store.table, []):
        if not item["sk"]["S"].startswith("R#") or "activeVersion" not in item:
            continue
        owner, routine_id = item["ownerId"]["S"], item["routineId"]["S"]
        try:
            activation.activate(store, owner, routine_id, settings, version=int(item["activeVersion"]["N"]))
            activated += 1
        except Exception:  # one routine that no longer activates must not keep the server down
            logger.exception("could not re-activate a saved routine", extra={"routineId": routine_id})
    return activated
