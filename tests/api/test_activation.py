"""Activation and deactivation through the API: state machines, schedules, rules and
webhook secrets on the local AWS — and nothing half-activated when a step fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.local import LocalAWS
from plugins.sdk import PluginRegistry, default_registry
from tests.api.conftest import Api, example, manual

MACHINE_PREFIX = "arn:aws:states:us-east-1:123456789012:stateMachine:routines-"


def cron(schedule: str = "30 9 * * 1-5", timezone: str = "Europe/Berlin") -> dict[str, Any]:
    return {**manual("nightly"), "trigger": {"type": "cron", "schedule": schedule, "timezone": timezone}}


def event(bus: str = "default") -> dict[str, Any]:
    pattern = {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
    return {**manual("on order"), "trigger": {"type": "event", "pattern": pattern, "bus": bus}}


def webhook() -> dict[str, Any]:
    return {**manual("hook"), "trigger": {"type": "webhook"}}


def machines(aws: LocalAWS) -> list[str]:
    return [m["name"] for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]]


def schedules(aws: LocalAWS) -> list[dict[str, Any]]:
    return list(aws.client("scheduler").list_schedules()["Schedules"])


def secrets(aws: LocalAWS) -> list[str]:
    return [s["Name"] for s in aws.client("secretsmanager").list_secrets()["SecretList"]]


def rules(aws: LocalAWS, bus: str = "default") -> list[str]:
    return [r["Name"] for r in aws.client("events").list_rules(EventBusName=bus)["Rules"]]


def test_manual_routine_gets_a_tagged_logged_traced_state_machine(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", manual())
    result = api.ok("POST", f"/routines/{routine['id']}/activate")
    arn = result["stateMachineArn"]
    assert arn == MACHINE_PREFIX + routine["id"]
    assert result["status"] == "active" and result["activeVersion"] == 1
    sfn = aws.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=arn)
    assert machine["roleArn"].endswith(":role/routines-local")
    assert machine["loggingConfiguration"]["level"] == "ERROR"
    assert machine["tracingConfiguration"] == {"enabled": True}
    tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"routines:owner": "alice", "routines:routineId": routine["id"], "routines:version": "1"}
    assert api.ok("GET", f"/routines/{routine['id']}")["status"] == "active"


def test_cron_activation_creates_a_timezone_schedule_and_shows_next_runs(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", cron())
    result = api.ok("POST", f"/routines/{routine['id']}/activate")
    assert len(result["nextRuns"]) == 5
    first = result["nextRuns"][0]
    assert first["local"].endswith(("+01:00", "+02:00")) and "T09:30:00" in first["local"]
    assert first["utc"].endswith("Z")
    schedule = aws.client("scheduler").get_schedule(Name=f"routines-{routine['id']}")
    assert schedule["ScheduleExpression"] == "cron(30 9 ? * 2-6 *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["Target"]["Arn"] == result["stateMachineArn"]
    payload = json.loads(schedule["Target"]["Input"])
    assert payload["trigger"]["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert payload["meta"] == {
        "ownerId": "alice",
        "routineId": routine["id"],
        "version": 1,
        "triggerType": "cron",
    }


def test_event_activation_creates_a_rule_targeting_the_machine(api: Api, aws: LocalAWS) -> None:
    aws.client("events").create_event_bus(Name="orders")
    routine = api.ok("POST", "/routines", event("orders"))
    result = api.ok("POST", f"/routines/{routine['id']}/activate")
    assert result["event"] == {"rule": f"routines-{routine['id']}", "bus": "orders"}
    events = aws.client("events")
    rule = events.describe_rule(Name=f"routines-{routine['id']}", EventBusName="orders")
    assert json.loads(rule["EventPattern"]) == event()["trigger"]["pattern"]
    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="orders")["Targets"]
    assert [t["Arn"] for t in targets] == [result["stateMachineArn"]]
    template = targets[0]["InputTransformer"]["InputTemplate"]
    delivered = json.loads(template.replace("<aws.events.event>", '{"source": "shop.orders"}'))
    assert delivered["trigger"] == {"source": "shop.orders"}
    assert delivered["meta"] == {
        "ownerId": "alice",
        "routineId": routine["id"],
        "version": 1,
        "triggerType": "event",
    }


def test_event_trigger_on_a_missing_bus_is_422_and_leaves_nothing(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", event("nope"))
    status, body, _ = api("POST", f"/routines/{routine['id']}/activate")
    assert status == 422
    assert body["errors"][0] == {
        "code": "invalid_trigger",
        "path": "trigger.bus",
        "message": "event bus 'nope' does not exist",
    }
    assert machines(aws) == []
    assert api.ok("GET", f"/routines/{routine['id']}")["status"] == "inactive"


def test_webhook_secret_is_shown_once_and_kept_on_reactivation(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", webhook())
    first = api.ok("POST", f"/routines/{routine['id']}/activate")
    assert first["webhook"]["url"] == f"https://api.example.com/hooks/{routine['id']}"
    secret = first["webhook"]["secret"]
    assert len(secret) == 64
    stored = aws.client("secretsmanager").get_secret_value(SecretId=f"routines/webhooks/{routine['id']}")
    assert stored["SecretString"] == secret
    again = api.ok("POST", f"/routines/{routine['id']}/activate")
    assert again["webhook"]["secret"] is None
    assert again["webhook"]["url"] == first["webhook"]["url"]


def test_reactivation_after_an_edit_updates_machine_and_trigger_in_place(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", cron("0 6 * * *"))
    path = f"/routines/{routine['id']}"
    first = api.ok("POST", f"{path}/activate")
    api.ok("PUT", path, cron("15 7 * * *", "UTC"))
    second = api.ok("POST", f"{path}/activate")
    assert second["stateMachineArn"] == first["stateMachineArn"] and second["activeVersion"] == 2
    assert machines(aws) == [f"routines-{routine['id']}"]
    [schedule] = schedules(aws)
    detail = aws.client("scheduler").get_schedule(Name=schedule["Name"])
    assert (
        detail["ScheduleExpression"] == "cron(15 7 * * ? *)" and detail["ScheduleExpressionTimezone"] == "UTC"
    )
    tags = aws.client("stepfunctions").list_tags_for_resource(resourceArn=second["stateMachineArn"])["tags"]
    assert {"key": "routines:version", "value": "2"} in tags


def test_changing_the_trigger_kind_removes_the_old_trigger(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", cron())
    path = f"/routines/{routine['id']}"
    api.ok("POST", f"{path}/activate")
    api.ok("PUT", path, webhook())
    result = api.ok("POST", f"{path}/activate")
    assert result["webhook"]["secret"]
    assert schedules(aws) == []


def test_activating_an_older_version(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", cron("0 6 * * *"))
    path = f"/routines/{routine['id']}"
    api.ok("PUT", path, cron("0 7 * * *"))
    result = api.ok("POST", f"{path}/activate", {"version": 1})
    assert result["activeVersion"] == 1 and result["trigger"]["schedule"] == "0 6 * * *"
    assert api("POST", f"{path}/activate", {"version": 9})[0] == 404
    status, body, _ = api("POST", f"{path}/activate", {"version": 0})
    assert status == 422 and body["errors"][0]["path"] == "body.version"
    status, body, _ = api("POST", f"{path}/activate", {"version": 1, "colour": "red"})
    assert status == 422 and body["errors"][0]["path"] == "body.colour"


def test_activation_of_a_version_that_no_longer_validates_is_422_and_deploys_nothing(
    api: Api, aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    routine = api.ok("POST", "/routines", cron())
    builtin = default_registry()
    without_transform = PluginRegistry()
    for plugin in builtin:
        if plugin.name != "transform":
            without_transform.register(plugin, builtin.handler(plugin.name) or "")
    monkeypatch.setattr("statemachines.validator.default_registry", lambda: without_transform)
    status, body, _ = api("POST", f"/routines/{routine['id']}/activate")
    assert status == 422
    assert body["errors"][0]["code"] == "unknown_plugin" and body["errors"][0]["path"].startswith(
        "nodes[greet]"
    )
    assert machines(aws) == [] and schedules(aws) == []


def fail_on(aws: LocalAWS, service: str, operation: str) -> None:
    """Make one AWS call fail as AWS would (an injected ServiceUnavailable)."""

    def refuse(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, operation)

    aws.client(service).meta.events.register(f"before-call.{service}.{operation}", refuse)


@pytest.fixture
def clients(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> LocalAWS:
    """The API's clients are the LocalAWS's, so failures injected on them hit the API."""
    monkeypatch.setattr("functions.activation.machines.client", aws.client)
    monkeypatch.setattr("functions.activation.triggers.client", aws.client)
    return aws


def test_scheduler_failure_mid_activation_leaves_nothing(api: Api, clients: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", cron())
    fail_on(clients, "scheduler", "CreateSchedule")
    status, body, _ = api("POST", f"/routines/{routine['id']}/activate")
    assert status == 500 and body["errors"] == [
        {"code": "internal", "path": "", "message": body["errors"][0]["message"]}
    ]
    assert body["requestId"] and "Traceback" not in json.dumps(body)
    assert machines(clients) == []  # the machine created before the failure is gone
    assert api.ok("GET", f"/routines/{routine['id']}")["status"] == "inactive"


def test_failure_mid_reactivation_restores_the_previous_machine_and_trigger(
    api: Api, clients: LocalAWS
) -> None:
    routine = api.ok("POST", "/routines", cron("0 6 * * *"))
    path = f"/routines/{routine['id']}"
    first = api.ok("POST", f"{path}/activate")
    sfn = clients.client("stepfunctions")
    before = sfn.describe_state_machine(stateMachineArn=first["stateMachineArn"])["definition"]
    api.ok("PUT", path, {**cron("0 7 * * *"), "nodes": [{**manual()["nodes"][0], "id": "other"}]})
    fail_on(clients, "scheduler", "UpdateSchedule")
    assert api("POST", f"{path}/activate")[0] == 500
    assert sfn.describe_state_machine(stateMachineArn=first["stateMachineArn"])["definition"] == before
    tags = sfn.list_tags_for_resource(resourceArn=first["stateMachineArn"])["tags"]
    assert {"key": "routines:version", "value": "1"} in tags
    head = api.ok("GET", path)
    assert head["activeVersion"] == 1 and head["version"] == 2


def test_step_functions_failure_on_webhook_routine_creates_no_secret(api: Api, clients: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", webhook())
    fail_on(clients, "stepfunctions", "CreateStateMachine")
    assert api("POST", f"/routines/{routine['id']}/activate")[0] == 500
    assert secrets(clients) == [] and machines(clients) == []


def test_secret_failure_after_the_machine_rolls_the_machine_back(api: Api, clients: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", webhook())
    fail_on(clients, "secretsmanager", "CreateSecret")
    assert api("POST", f"/routines/{routine['id']}/activate")[0] == 500
    assert machines(clients) == []


def test_deactivate_removes_the_trigger_and_keeps_the_machine(api: Api, aws: LocalAWS) -> None:
    routine = api.ok("POST", "/routines", webhook())
    path = f"/routines/{routine['id']}"
    api.ok("POST", f"{path}/activate")
    result = api.ok("POST", f"{path}/deactivate")
    assert result == {
        "routineId": routine["id"],
        "status": "inactive",
        "activeVersion": None,
        "stateMachineArn": None,
        "trigger": None,
        "nextRuns": None,
        "webhook": None,
        "event": None,
    }
    assert secrets(aws) == []
    assert machines(aws) == [f"routines-{routine['id']}"]
    assert api.ok("GET", path)["status"] == "inactive"
    assert api.ok("POST", f"{path}/deactivate")["status"] == "inactive"  # idempotent


def test_delete_deactivates_first(api: Api, aws: LocalAWS) -> None:
    aws.client("events").create_event_bus(Name="orders")
    ids = []
    for document in (cron(), event("orders"), webhook()):
        routine = api.ok("POST", "/routines", document)
        api.ok("POST", f"/routines/{routine['id']}/activate")
        ids.append(routine["id"])
    for routine_id in ids:
        assert api("DELETE", f"/routines/{routine_id}")[0] == 204
    assert machines(aws) == [] and schedules(aws) == [] and secrets(aws) == []
    assert rules(aws, "orders") == []


def test_examples_activate(api: Api, aws: LocalAWS) -> None:
    for name in ("hello.json", "cron-daily-report.json", "webhook-order-handling.json"):
        routine = api.ok("POST", "/routines", example(name))
        assert api.ok("POST", f"/routines/{routine['id']}/activate")["status"] == "active"
