"""IAM for error routines and webhook results: the recorder may start the stage's routine
state machines (an ``errorRoutine``) and nothing else's; the webhook may read the
executions it waits for. Checked on the template (CDK assertions) and against what the
code calls on moto (tests/infra/access.py), in a scenario of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.access import ACCOUNT, REGION, Deployment, Request, allowed
from tests.infra.conftest import Synth
from tests.infra.test_access import API, RECORDER, WEBHOOK, World, _denied, _proxy

MACHINES = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:routines-dev-"
EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:routines-dev-"


@pytest.fixture(scope="module")
def deployment(synth: Synth) -> Deployment:
    return Deployment(synth.template)


def test_the_recorder_may_start_the_stages_routines_only(deployment: Deployment) -> None:
    statements = deployment.statements(RECORDER)
    assert allowed(statements, Request("states:StartExecution", MACHINES + "abc123"))
    assert not allowed(
        statements, Request("states:StartExecution", MACHINES.replace("-dev-", "-prod-") + "x")
    )
    assert not allowed(
        statements, Request("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:other")
    )
    assert not allowed(statements, Request("states:StopExecution", EXECUTIONS + "abc123:run"))


def test_the_webhook_may_read_the_executions_it_waits_for(deployment: Deployment) -> None:
    statements = deployment.statements(WEBHOOK)
    for action in ("states:DescribeExecution", "states:GetExecutionHistory"):
        assert allowed(statements, Request(action, EXECUTIONS + "abc123:run")), action
        assert not allowed(statements, Request(action, f"arn:aws:states:{REGION}:{ACCOUNT}:execution:x:y"))
    assert not allowed(statements, Request("states:StopExecution", EXECUTIONS + "abc123:run"))


class ErrorWorld(World):
    def scenarios(self) -> None:
        manual = {"fields": {"a": 1}}
        handler: dict[str, Any] = {
            "name": "on error",
            "trigger": {"type": "error"},
            "nodes": [{"id": "t", "plugin": "transform", "parameters": manual}],
        }
        handler_id = self.api("POST", "/routines", handler, 201)["id"]
        self.api("POST", f"/routines/{handler_id}/activate")
        fragile = {**handler, "name": "fragile", "trigger": {"type": "manual"}, "errorRoutine": handler_id}
        fragile_id = self.api("POST", "/routines", fragile, 201)["id"]
        self.api("POST", f"/routines/{fragile_id}/activate")
        run = self.api("POST", f"/routines/{fragile_id}/executions", {"input": {}}, 202)["executionId"]
        recorded = self.record(run, "FAILED")
        assert recorded["result"] == "recorded", recorded
        hook = {
            **handler,
            "name": "hook",
            "trigger": {"type": "webhook", "respond": "result", "respondTimeoutSeconds": 1},
        }
        hook_id = self.api("POST", "/routines", hook, 201)["id"]
        secret = self.api("POST", f"/routines/{hook_id}/activate")["webhook"]["secret"]
        self.respond_call(hook_id, secret)

    def respond_call(self, routine_id: str, secret: str) -> None:
        from functions.webhook.handler import lambda_handler
        from functions.webhook.signature import sign
        from tests.infra.test_access import Context

        body = json.dumps({"who": "waiting"})
        headers = {"X-Signature-256": sign(secret, body.encode())}
        with self.running(WEBHOOK):
            result = lambda_handler(_proxy("POST", f"/hooks/{routine_id}", body, headers), Context(WEBHOOK))
        assert result["statusCode"] in (200, 202, 502), result


@pytest.fixture(scope="module")
def world(deployment: Deployment) -> Iterator[World]:
    world = ErrorWorld(deployment)
    with world.provisioned():
        world.scenarios()
        yield world


@pytest.mark.parametrize("function", [API, WEBHOOK, RECORDER])
def test_every_call_is_allowed(world: World, function: str) -> None:
    assert world.calls[function]
    denied = _denied(world, function)
    assert not denied, f"{function}'s role does not allow:\n" + "\n".join(denied)


def test_the_recorder_started_the_error_routine_and_the_webhook_polled(world: World) -> None:
    started = [c for c in world.calls[RECORDER] if c.operation == "StartExecution"]
    assert len(started) == 1
    assert any(c.operation == "DescribeExecution" for c in world.calls[WEBHOOK])
