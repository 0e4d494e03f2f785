"""/routines/{id}/webhook/rotate: a new webhook secret; the old one keeps working for the
grace period (``WEBHOOK_SECRET_GRACE_SECONDS``, default a day), so senders can switch
without dropping calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from botocore.exceptions import ClientError

from functions.api import context
from functions.api.models import Rotated
from functions.api.responses import ok
from functions.api.routes.routines import RoutineId
from functions.store import NotFoundError
from functions.webhook import secrets

router = Router()  # type: ignore[no-untyped-call]


@router.post(
    "/routines/<routine_id>/webhook/rotate",
    summary="Rotate a webhook secret (shown once; the old one stays valid for a grace period)",
    responses=ok(Rotated, "the new secret, shown once"),
    tags=["webhooks"],
)
def rotate_secret(routine_id: RoutineId) -> dict[str, Any]:
    owner = context.owner(router.current_event)
    head = context.store().head(owner, routine_id)
    trigger = (head.activation or {}).get("trigger") or {}
    if head.active_version is None or trigger.get("type") != "webhook":
        raise NotFoundError(f"no active webhook routine '{routine_id}'")
    try:
        secret = secrets.rotate(routine_id)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise NotFoundError(f"routine '{routine_id}' has no webhook secret; activate it again") from None
        raise
    until = datetime.now(UTC) + timedelta(seconds=secrets.grace_seconds())
    url = f"{context.public_base_url(router.current_event).rstrip('/')}/hooks/{routine_id}"
    return {
        "webhook": {
            "url": url,
            "secret": secret,
            "previousSecretValidUntil": until.isoformat().replace("+00:00", "Z"),
        }
    }
