"""A routine's trigger as AWS resources: cron → an EventBridge Scheduler schedule, event →
an EventBridge rule on the routine's bus (``default``: the account's default bus, where
AWS services' events arrive), webhook → a secret in Secrets Manager, manual → nothing.
Each install updates what exists in place and registers its undo; ``remove``
deletes what an activation's recorded state names (and ignores what is already gone)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.triggers import META_KEY
from functions.webhook.signature import DEFAULT_TOLERANCE_SECONDS
from plugins.runtime.aws import client
from statemachines.cron import parse_cron
from statemachines.model import DEFAULT_RESPOND_TIMEOUT_SECONDS

NEXT_RUNS = 5
GONE = ("ResourceNotFoundException",)


class TriggerError(RoutinesError):
    """The trigger cannot be installed because of the routine itself (e.g. no such bus)."""

    code = "invalid_trigger"


@dataclass(frozen=True, slots=True)
class Installation:
    """What every trigger is installed for: the routine and its state machine, in this
    deployment, undone by the activation's rollback should a later step fail."""

    routine_id: str
    machine_arn: str
    settings: Settings
    rollback: Rollback
    # Goes into the input Scheduler and rules start executions with (who, which routine and
    # version: the recorder reads it, the state machine never does).
    meta: dict[str, Any]
    webhook_base: str = ""  # the public URL webhooks are served under


def install(trigger: dict[str, Any], at: Installation) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state to record, what the activation response shows)."""
    kind = trigger["type"]
    if kind == "cron":
        return _cron(trigger, at)
    if kind == "event":
        return _event(trigger, at)
    if kind == "webhook":
        return _webhook(trigger, at)
    if kind == "error":
        return {"type": "error"}, {}  # started by the recorder when a routine naming it fails
    return {"type": "manual"}, {}


# Settings, not resources.
WEBHOOK_OPTIONS = ("toleranceSeconds", "legacySignature", "respond", "respondTimeoutSeconds")


def same_resources(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two trigger states name the same resources (a webhook whose signature
    options changed keeps its secret: removing the old state would delete it)."""

    def resources(state: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in state.items() if k not in WEBHOOK_OPTIONS}

    return resources(a) == resources(b)


@contextmanager
def _ignoring_gone() -> Iterator[None]:
    """Leaves the block quietly when AWS says the resource it reads or deletes does not
    exist (any other error goes on)."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in GONE:
            raise


def remove(state: dict[str, Any]) -> None:
    kind = state.get("type")
    with _ignoring_gone():
        if kind == "cron":
            client("scheduler").delete_schedule(Name=state["schedule"], GroupName=state["group"])
        elif kind == "event":
            events = client("events")
            events.remove_targets(Rule=state["rule"], EventBusName=state["bus"], Ids=["routine"])
            events.delete_rule(Name=state["rule"], EventBusName=state["bus"])
        elif kind == "webhook":
            client("secretsmanager").delete_secret(
                SecretId=state["secretName"], ForceDeleteWithoutRecovery=True
            )


def next_runs(schedule: str, timezone: str, after: datetime | None = None) -> list[dict[str, str]]:
    """The next fire times, in UTC and in the routine's timezone."""
    runs = parse_cron(schedule).next_runs(after or datetime.now(UTC), NEXT_RUNS, timezone)
    zone = ZoneInfo(timezone)
    return [
        {
            "utc": run.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "local": run.astimezone(zone).isoformat(),
        }
        for run in runs
    ]


def _cron(trigger: dict[str, Any], at: Installation) -> tuple[dict[str, Any], dict[str, Any]]:
    scheduler = client("scheduler")
    name, group = at.settings.machine_name(at.routine_id), at.settings.schedule_group
    timezone = trigger.get("timezone", "UTC")
    # Scheduler substitutes the fire time into the input; the routine sees it as
    # trigger.scheduledTime.
    payload = {
        "type": "cron",
        "schedule": trigger["schedule"],
        "timezone": timezone,
        "scheduledTime": "<aws.scheduler.scheduled-time>",
    }
    text = json.dumps({"trigger": payload, META_KEY: at.meta})
    params: dict[str, Any] = {
        "Name": name,
        "GroupName": group,
        "ScheduleExpression": parse_cron(trigger["schedule"]).to_eventbridge(),
        "ScheduleExpressionTimezone": timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": at.machine_arn, "RoleArn": at.settings.trigger_role_arn, "Input": text},
        "State": "ENABLED",
    }
    old = None
    with _ignoring_gone():
        old = scheduler.get_schedule(Name=name, GroupName=group)
    if old is None:
        scheduler.create_schedule(**params)
        at.rollback.add("create schedule", lambda: scheduler.delete_schedule(Name=name, GroupName=group))
    else:
        previous = {k: old[k] for k in params if k in old}
        scheduler.update_schedule(**params)
        at.rollback.add("update schedule", lambda: scheduler.update_schedule(**previous))
    state = {"type": "cron", "schedule": name, "group": group}
    return state, {"nextRuns": next_runs(trigger["schedule"], timezone)}


def _event(trigger: dict[str, Any], at: Installation) -> tuple[dict[str, Any], dict[str, Any]]:
    events = client("events")
    name = at.settings.machine_name(at.routine_id)
    # "default" is the account's default bus, as EventBridge names it: the only bus AWS
    # services' events (aws.s3, aws.ec2, ...) reach. The stage's own bus is named like
    # any other bus.
    bus = trigger.get("bus", "default")
    old_rule: dict[str, Any] | None = None
    old_targets: list[dict[str, Any]] = []
    with _ignoring_gone():  # both, or neither (the rule is gone)
        described = events.describe_rule(Name=name, EventBusName=bus)
        old_rule, old_targets = described, events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    try:
        events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(trigger["pattern"]),
            State="ENABLED",
            Description=f"routine {at.routine_id}",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] in GONE:
            raise TriggerError(f"event bus '{bus}' does not exist", path="trigger.bus") from None
        raise
    if old_rule is None:
        at.rollback.add("create rule", lambda: remove({"type": "event", "rule": name, "bus": bus}))
    else:
        rule = old_rule

        def restore() -> None:
            events.put_rule(
                Name=name, EventBusName=bus, EventPattern=rule["EventPattern"], State=rule["State"]
            )
            if old_targets:
                events.put_targets(Rule=name, EventBusName=bus, Targets=old_targets)

        at.rollback.add("update rule", restore)
    # The routine receives the whole event as its trigger document.
    target = {
        "Id": "routine",
        "Arn": at.machine_arn,
        "RoleArn": at.settings.trigger_role_arn,
        "InputTransformer": {
            "InputPathsMap": {},
            "InputTemplate": f'{{"trigger": <aws.events.event>, "{META_KEY}": {json.dumps(at.meta)}}}',
        },
    }
    failed = events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    if failed.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the rule target: {failed['FailedEntries']}")
    return {"type": "event", "rule": name, "bus": bus}, {"event": {"rule": name, "bus": bus}}


def _webhook(trigger: dict[str, Any], at: Installation) -> tuple[dict[str, Any], dict[str, Any]]:
    manager = client("secretsmanager")
    name = f"{at.settings.webhook_secret_prefix}{at.routine_id}"
    url = f"{at.webhook_base.rstrip('/')}/hooks/{at.routine_id}"
    # The webhook Lambda reads the signature options from the activation it finds.
    state = {
        "type": "webhook",
        "secretName": name,
        "toleranceSeconds": int(trigger.get("toleranceSeconds") or DEFAULT_TOLERANCE_SECONDS),
        "legacySignature": trigger.get("legacySignature") is True,
        "respond": "result" if trigger.get("respond") == "result" else "accepted",
        "respondTimeoutSeconds": int(trigger.get("respondTimeoutSeconds") or DEFAULT_RESPOND_TIMEOUT_SECONDS),
    }
    with _ignoring_gone():
        manager.describe_secret(SecretId=name)
        # Re-activation keeps the secret senders already use; it was shown once.
        return state, {"webhook": {"url": url}}
    secret = secrets.token_hex(32)
    manager.create_secret(Name=name, SecretString=secret, Tags=[{"Key": "routineId", "Value": at.routine_id}])
    at.rollback.add("create webhook secret", lambda: remove({"type": "webhook", "secretName": name}))
    return state, {"webhook": {"url": url, "secret": secret}}
