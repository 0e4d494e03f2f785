"""Cron and event triggers under ``routines serve``: the local scheduler fires on time in
the routine's timezone (same rule as activation's nextRuns, DST included), /local/.../fire
fires now, /local/events starts every active event routine whose pattern matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.serve import local_api
from functions.store import ExecutionStore
from functions.triggers.cron import CronScheduler, next_run
from tests.api.conftest import Api, proxy_event


def routine(trigger: dict[str, Any], name: str = "t") -> dict[str, Any]:
    return {
        "name": name,
        "trigger": trigger,
        "nodes": [{"id": "seen", "plugin": "transform", "parameters": {"fields": {"t": "{{ trigger }}"}}}],
    }


def activate(api: Api, trigger: dict[str, Any], user: str = "alice") -> tuple[str, dict[str, Any]]:
    routine_id = api.ok("POST", "/routines", routine(trigger), user=user)["id"]
    return routine_id, api.ok("POST", f"/routines/{routine_id}/activate", user=user)


def local(method: str, path: str, body: Any = None, user: str | None = "alice") -> tuple[int, Any]:
    result = local_api.lambda_handler(proxy_event(method, path, body, user=user), None)
    return result["statusCode"], json.loads(result["body"])


def test_the_scheduler_fires_at_the_next_run_activation_reported(api: Api, aws: LocalAWS) -> None:
    routine_id, shown = activate(api, {"type": "cron", "schedule": "30 9 * * *", "timezone": "Europe/Berlin"})
    first = datetime.fromisoformat(shown["nextRuns"][0]["utc"].replace("Z", "+00:00"))
    scheduler = CronScheduler()
    assert scheduler.tick(first - timedelta(minutes=5)) == []  # learns the routine
    assert scheduler.tick(first - timedelta(seconds=1)) == []
    (fired,) = scheduler.tick(first + timedelta(milliseconds=300))
    assert fired.trigger == {
        "type": "cron",
        "schedule": "30 9 * * *",
        "timezone": "Europe/Berlin",
        "scheduledTime": shown["nextRuns"][0]["utc"],
    }
    assert fired.trigger_type == "cron" and fired.routine_id == routine_id
    assert scheduler.tick(first + timedelta(seconds=1)) == []  # once per occurrence
    second = datetime.fromisoformat(shown["nextRuns"][1]["utc"].replace("Z", "+00:00"))
    assert len(scheduler.tick(second)) == 1


def test_next_runs_follow_dst_in_the_routines_timezone() -> None:
    trigger = {"schedule": "30 2 * * *", "timezone": "Europe/Berlin"}
    # 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin, 02:30 does not exist that day
    before = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    first = next_run(trigger, before)
    assert first is not None
    second = next_run(trigger, first)
    assert second is not None and second.astimezone(UTC) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    assert first.astimezone(UTC) == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # CET, UTC+1


def test_a_deactivated_cron_routine_stops_firing(api: Api, aws: LocalAWS) -> None:
    routine_id, shown = activate(api, {"type": "cron", "schedule": "*/5 * * * *"})
    first = datetime.fromisoformat(shown["nextRuns"][0]["utc"].replace("Z", "+00:00"))
    scheduler = CronScheduler()
    scheduler.tick(first - timedelta(minutes=1))
    api.ok("POST", f"/routines/{routine_id}/deactivate")
    assert scheduler.tick(first) == []


def test_fire_now(api: Api, aws: LocalAWS) -> None:
    routine_id, _ = activate(api, {"type": "cron", "schedule": "0 0 1 1 *", "timezone": "UTC"})
    status, body = local("POST", f"/local/routines/{routine_id}/fire")
    assert status == 202 and body["trigger"]["type"] == "cron"
    record = ExecutionStore().get("alice", body["executionId"])
    assert record is not None and record.trigger_type == "cron"
    assert local("POST", f"/local/routines/{routine_id}/fire", user="mallory")[0] == 404
    assert local("POST", f"/local/routines/{routine_id}/fire", user=None)[0] == 401
    manual_id = api.ok("POST", "/routines", routine({"type": "manual"}))["id"]
    assert local("POST", f"/local/routines/{manual_id}/fire")[0] == 404


def entry(detail: dict[str, Any], source: str = "shop.orders", **extra: Any) -> dict[str, Any]:
    return {"Source": source, "DetailType": "OrderPlaced", "Detail": json.dumps(detail), **extra}


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ({"detail": {"sku": [{"prefix": "BOOK-"}]}}, {"sku": "BOOK-1"}, {"sku": "CD-1"}),
        ({"detail": {"total": [{"numeric": [">", 100, "<=", 500]}]}}, {"total": 250}, {"total": 90}),
        ({"detail": {"country": [{"anything-but": ["DE", "FR"]}]}}, {"country": "NL"}, {"country": "DE"}),
        ({"detail": {"coupon": [{"exists": True}]}}, {"coupon": "X"}, {"total": 1}),
        ({"detail": {"coupon": [{"exists": False}]}}, {"total": 1}, {"coupon": "X"}),
    ],
)
def test_events_start_the_routines_whose_pattern_matches(
    api: Api, aws: LocalAWS, pattern: dict[str, Any], matching: dict[str, Any], other: dict[str, Any]
) -> None:
    routine_id, _ = activate(api, {"type": "event", "pattern": {"source": ["shop.orders"], **pattern}})
    status, body = local("POST", "/local/events", {"Entries": [entry(matching), entry(other)]})
    assert status == 200 and body["FailedEntryCount"] == 0
    hit, miss = body["Entries"]
    assert [e["routineId"] for e in hit["executions"]] == [routine_id]
    assert miss["executions"] == []
    record = ExecutionStore().get("alice", hit["executions"][0]["executionId"])
    assert record is not None and record.trigger_type == "event"
    assert record.trigger["detail"] == matching and record.trigger["source"] == "shop.orders"


def test_an_event_that_matches_two_routines_starts_both(api: Api, aws: LocalAWS) -> None:
    first, _ = activate(api, {"type": "event", "pattern": {"source": ["shop.orders"]}})
    second, _ = activate(
        api, {"type": "event", "pattern": {"detail": {"total": [{"numeric": [">", 1]}]}}}, "bob"
    )
    aws.client("events").create_event_bus(Name="other")
    elsewhere, _ = activate(api, {"type": "event", "pattern": {"source": ["shop.orders"]}, "bus": "other"})
    status, body = local("POST", "/local/events", {"Entries": [entry({"total": 5})]})
    assert status == 200
    started = {e["routineId"] for e in body["Entries"][0]["executions"]}
    assert started == {first, second}
    assert elsewhere not in started


def test_bad_event_entries_fail_alone(api: Api, aws: LocalAWS) -> None:
    activate(api, {"type": "event", "pattern": {"source": ["shop.orders"]}})
    bad = {"Source": "shop.orders", "DetailType": "x", "Detail": "not json"}
    status, body = local("POST", "/local/events", {"Entries": [bad, entry({"a": 1})]})
    assert status == 200 and body["FailedEntryCount"] == 1
    assert body["Entries"][0]["ErrorCode"] == "InvalidArgument"
    assert len(body["Entries"][1]["executions"]) == 1
    assert local("POST", "/local/events", {"Entries": []})[0] == 422
    assert local("POST", "/local/events", {"nope": 1})[0] == 422
