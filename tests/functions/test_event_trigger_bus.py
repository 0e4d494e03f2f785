"""An event trigger's ``bus: "default"`` is the account's default bus — the only bus AWS
services' events reach — also when the deployment has a bus of its own (issue #25, item 2:
it used to be mapped silently to the stage's bus, where no ``aws.*`` event ever arrives)."""

from __future__ import annotations

from typing import Any

import pytest

from contract.names import ENV_EVENT_BUS, ENV_STAGE
from functions.activation import triggers
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.local import LocalAWS

STAGE_BUS = "routines-dev-triggers"  # what the CDK stack passes as EVENT_BUS_NAME
PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
META = {"ownerId": "alice", "routineId": "r1", "version": 1, "triggerType": "event"}


@pytest.fixture
def deployed(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Activation settings as the deployed API function has them: a stage and its bus."""
    aws.client("events").create_event_bus(Name=STAGE_BUS)
    monkeypatch.setenv(ENV_EVENT_BUS, STAGE_BUS)
    monkeypatch.setenv(ENV_STAGE, "dev")
    return Settings.from_env()


def install(settings: Settings, trigger: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    with Rollback() as rollback:
        at = triggers.Installation("r1", settings.machine_arn("routines-dev-r1"), settings, rollback, META)
        installed = triggers.install(trigger, at)
        rollback.commit()
    return installed


def rules(aws: LocalAWS, bus: str) -> list[str]:
    return [r["Name"] for r in aws.client("events").list_rules(EventBusName=bus)["Rules"]]


@pytest.mark.parametrize("trigger", [{"bus": "default"}, {}], ids=["named", "omitted"])
def test_default_is_the_accounts_default_bus_not_the_stages(
    aws: LocalAWS, deployed: Settings, trigger: dict[str, Any]
) -> None:
    state, shown = install(deployed, {"type": "event", "pattern": PATTERN, **trigger})
    assert state == {"type": "event", "rule": "routines-dev-r1", "bus": "default"}
    assert shown == {"event": {"rule": "routines-dev-r1", "bus": "default"}}
    assert rules(aws, "default") == ["routines-dev-r1"] and rules(aws, STAGE_BUS) == []
    [target] = aws.client("events").list_targets_by_rule(Rule="routines-dev-r1")["Targets"]
    assert target["Arn"] == deployed.machine_arn("routines-dev-r1")
    assert target["RoleArn"] == deployed.trigger_role_arn
    triggers.remove(state)
    assert rules(aws, "default") == []


def test_the_stages_bus_is_named_like_any_other(aws: LocalAWS, deployed: Settings) -> None:
    state, _ = install(deployed, {"type": "event", "pattern": PATTERN, "bus": STAGE_BUS})
    assert state["bus"] == STAGE_BUS
    assert rules(aws, STAGE_BUS) == ["routines-dev-r1"] and rules(aws, "default") == []
