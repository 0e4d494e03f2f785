"""Trigger checks: type, 5-field cron and its AWS form, IANA timezone, event pattern."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contract.limits import MAX_EVENT_PATTERN_BYTES
from contract.problems import Code, Report, join_path
from statemachines.cron import CronError, parse_cron
from statemachines.model import TRIGGER_MODELS, CronTrigger, EventTrigger
from statemachines.pydantic_errors import report_pydantic

ENVELOPE_FIELDS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
MATCHERS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard"}
)
NUMERIC_OPS = frozenset({"<", "<=", "=", ">", ">="})
BUS_NAME = re.compile(
    r"^(?:[/.\-_A-Za-z0-9]{1,256}|arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus/[/.\-_A-Za-z0-9]{1,256})$"
)


def check_trigger(value: Any, report: Report) -> Any:
    """Report every problem of the trigger; return the parsed trigger model, or None."""
    if not isinstance(value, dict):
        report.error(Code.INVALID_DOCUMENT, "trigger", "'trigger' must be an object with a 'type'")
        return None
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in TRIGGER_MODELS:
        report.error(
            Code.INVALID_TRIGGER,
            "trigger.type",
            f"trigger type must be one of {', '.join(TRIGGER_MODELS)}; got {kind!r}",
        )
        return None
    if kind == "cron" and "schedule" not in value:
        report.error(Code.INVALID_TRIGGER, "trigger.schedule", "a cron trigger needs a 'schedule'")
        return None
    if kind == "event" and "pattern" not in value:
        report.error(Code.INVALID_TRIGGER, "trigger.pattern", "an event trigger needs a 'pattern'")
        return None
    try:
        trigger = TRIGGER_MODELS[kind].model_validate(value)
    except ValidationError as exc:
        report_pydantic(exc, "trigger", report)
        return None
    before = len(report.errors)
    if isinstance(trigger, CronTrigger):
        _check_cron(trigger, report)
    elif isinstance(trigger, EventTrigger):
        _check_event(trigger, report)
    return trigger if len(report.errors) == before else None


def check_timezone(name: str) -> str | None:
    """None when ``name`` is an IANA zone; otherwise why not."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"'{name}' is not an IANA timezone (e.g. 'Europe/Berlin', 'UTC')"
    return None


def _check_cron(trigger: CronTrigger, report: Report) -> None:
    problem = check_timezone(trigger.timezone)
    if problem:
        report.error(Code.INVALID_TRIGGER, "trigger.timezone", problem)
    try:
        schedule = parse_cron(trigger.schedule)
    except CronError as exc:
        report.error(Code.INVALID_TRIGGER, "trigger.schedule", f"'{trigger.schedule}': {exc}")
        return
    zone = "UTC" if problem else trigger.timezone
    if not schedule.next_runs(datetime(2026, 1, 1, tzinfo=UTC), 1, zone):
        report.error(
            Code.INVALID_TRIGGER, "trigger.schedule", f"'{trigger.schedule}' never fires (no such date)"
        )


def _check_event(trigger: EventTrigger, report: Report) -> None:
    if not BUS_NAME.match(trigger.bus):
        report.error(Code.INVALID_TRIGGER, "trigger.bus", f"'{trigger.bus}' is not an event bus name or ARN")
    pattern = trigger.pattern
    if not pattern:
        report.error(
            Code.INVALID_TRIGGER, "trigger.pattern", "an event pattern must match on at least one field"
        )
        return
    # Measured as activation sends it to EventBridge (PutRule's EventPattern): json.dumps.
    size = len(json.dumps(pattern))
    if size > MAX_EVENT_PATTERN_BYTES:
        report.error(
            Code.LIMIT_EXCEEDED,
            "trigger.pattern",
            f"the event pattern is {size:,} characters as JSON; EventBridge takes at most "
            f"{MAX_EVENT_PATTERN_BYTES:,}",
        )
        return
    for key in pattern:
        if key not in ENVELOPE_FIELDS:
            report.error(
                Code.INVALID_TRIGGER,
                join_path("trigger.pattern", key),
                f"'{key}' is not an event field ({', '.join(sorted(ENVELOPE_FIELDS))})",
            )
    for path, message in _pattern_problems(pattern, "trigger.pattern"):
        report.error(Code.INVALID_TRIGGER, path, message)


def _pattern_problems(pattern: dict[str, Any], path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in pattern.items():
        here = join_path(path, key)
        if isinstance(value, dict):
            found.extend(
                _pattern_problems(value, here) if value else [(here, "empty object matches nothing")]
            )
        elif isinstance(value, list):
            if not value:
                found.append((here, "an empty list matches nothing"))
            for index, item in enumerate(value):
                found.extend(_matcher_problems(item, join_path(here, index)))
        else:
            found.append((here, 'values in a pattern are lists of matchers, e.g. ["aws.s3"]'))
    return found


def _matcher_problems(item: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(item, dict):
        return []  # literal string, number, boolean or null
    if len(item) != 1:
        return [(path, 'a content filter has exactly one key, e.g. {"prefix": "a"}')]
    ((name, arg),) = item.items()
    if name not in MATCHERS:
        return [(path, f"unknown content filter '{name}' ({', '.join(sorted(MATCHERS))})")]
    if name == "exists" and not isinstance(arg, bool):
        return [(path, "'exists' takes true or false")]
    if name == "numeric":
        return _numeric_problems(arg, path)
    if name in ("prefix", "suffix", "wildcard", "equals-ignore-case", "cidr") and not isinstance(
        arg, str | dict
    ):
        return [(path, f"'{name}' takes a string")]
    return []


def _numeric_problems(arg: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        return [(path, '\'numeric\' takes [op, number, ...], e.g. [">", 0, "<=", 5]')]
    for op, number in zip(arg[::2], arg[1::2], strict=True):
        if op not in NUMERIC_OPS or not isinstance(number, int | float) or isinstance(number, bool):
            return [
                (path, f"'numeric' pairs are an operator ({', '.join(sorted(NUMERIC_OPS))}) and a number")
            ]
    return []
