"""Webhook secrets in Secrets Manager (one per routine, under the webhook prefix), with
rotation: the new secret becomes AWSCURRENT and the old one (AWSPREVIOUS) is still
accepted until the grace period after the rotation has passed."""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from contract.names import ENV_WEBHOOK_SECRET_PREFIX, WEBHOOK_SECRET_PREFIX
from plugins.runtime.aws import client

ENV_GRACE_SECONDS = "WEBHOOK_SECRET_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 24 * 3600
CACHE_SECONDS = 30.0  # a mismatch always re-reads, so rotation takes effect at once

_cache: dict[str, tuple[float, list[str]]] = {}
_lock = threading.Lock()


def secret_name(routine_id: str) -> str:
    return f"{os.environ.get(ENV_WEBHOOK_SECRET_PREFIX) or WEBHOOK_SECRET_PREFIX}{routine_id}"


def grace_seconds() -> int:
    return int(os.environ.get(ENV_GRACE_SECONDS) or DEFAULT_GRACE_SECONDS)


def accepted(routine_id: str, fresh: bool = False) -> list[str]:
    """The secrets a signature may use now: the current one, plus the previous one while
    the rotation's grace period lasts. Empty when the routine has no webhook secret."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(routine_id)
    if cached is not None and not fresh and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    found = _read(routine_id)
    with _lock:
        _cache[routine_id] = (now, found)
    return found


def _read(routine_id: str) -> list[str]:
    manager = client("secretsmanager")
    name = secret_name(routine_id)
    try:
        current = manager.get_secret_value(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidRequestException"):
            return []
        raise
    found = [str(current["SecretString"])]
    created: datetime = current["CreatedDate"]
    if (datetime.now(UTC) - created.astimezone(UTC)).total_seconds() < grace_seconds():
        try:
            previous = manager.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
            found.append(str(previous["SecretString"]))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    return found


def rotate(routine_id: str) -> str:
    """A new secret for the routine's webhook (the old one stays valid for the grace
    period); the new secret, to be shown once. Raises ClientError when there is none."""
    secret = secrets.token_hex(32)
    client("secretsmanager").put_secret_value(SecretId=secret_name(routine_id), SecretString=secret)
    forget(routine_id)
    return secret


def forget(routine_id: str | None = None) -> None:
    with _lock:
        if routine_id is None:
            _cache.clear()
        else:
            _cache.pop(routine_id, None)
