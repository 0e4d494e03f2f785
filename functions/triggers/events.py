"""Local delivery of EventBridge events to event-triggered routines (``routines serve``:
moto does not deliver events to Step Functions). Entries are PutEvents entries; each is
matched against every active event routine on its bus with moto's EventBridge pattern
matcher (prefix, numeric, anything-but, exists, … as on AWS), and each match starts an
execution with the event as trigger data — what the activation's rule target passes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from contract.errors import RoutinesError
from functions.local.environment import ACCOUNT, REGION
from functions.store import ExecutionStore
from functions.triggers.active import active_routines
from functions.triggers.start import RunMeta, start_execution
from plugins.runtime.aws import client


class BadEntry(RoutinesError, ValueError):
    pass


@dataclass(slots=True)
class Delivery:
    event_id: str | None = None
    executions: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"ErrorCode": "InvalidArgument", "ErrorMessage": self.error}
        return {"EventId": self.event_id, "executions": self.executions}


def envelope(entry: Any) -> dict[str, Any]:
    """The event EventBridge builds from a PutEvents entry."""
    if not isinstance(entry, dict):
        raise BadEntry("an entry is an object with Source, DetailType and Detail")
    for key in ("Source", "DetailType", "Detail"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise BadEntry(f"{key} is required (a non-empty string)")
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        raise BadEntry("Detail is not valid JSON") from None
    if not isinstance(detail, dict):
        raise BadEntry("Detail must be a JSON object")
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise BadEntry("Resources must be a list of strings")
    time = entry.get("Time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": str(time),
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def put_events(entries: list[Any]) -> list[Delivery]:
    routines = active_routines("event")
    patterns = [(r, EventPattern.load(json.dumps(r.trigger.get("pattern") or {}))) for r in routines]
    deliveries: list[Delivery] = []
    for entry in entries:
        try:
            event = envelope(entry)
        except BadEntry as error:
            deliveries.append(Delivery(error=str(error)))
            continue
        bus = str(entry.get("EventBusName") or "default")
        delivery = Delivery(event_id=event["id"])
        for routine, pattern in patterns:
            if routine.trigger.get("bus", "default") != bus or not pattern.matches_event(event):  # type: ignore[arg-type]
                continue
            meta = RunMeta(routine.owner, routine.routine_id, routine.version, "event")
            record = start_execution(
                client("stepfunctions"), ExecutionStore(), routine.state_machine_arn, meta, event
            )
            delivery.executions.append({"routineId": routine.routine_id, "executionId": record.execution_id})
        deliveries.append(delivery)
    return deliveries
