"""IAM for sub-routines (execute-routine): the role routine state machines run under may
start the stage's routine state machines and no one else's, watch and stop their
executions, and manage the one EventBridge rule ``startExecution.sync:2`` waits on —
checked on the synthesized template with the same IAM evaluation as the access tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.access import ACCOUNT, REGION, Deployment, Request, allowed
from tests.infra.conftest import Synth

MACHINES = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:routines-dev-"
EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:routines-dev-"
SYNC_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"


@pytest.fixture(scope="module")
def statements(synth: Synth) -> list[dict[str, Any]]:
    """The resolved statements of the execution role (the one Step Functions assumes)."""
    deployment = Deployment(synth.template)
    roles = synth.resources("AWS::IAM::Role")
    [role] = [
        logical
        for logical, r in roles.items()
        if "states.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    found: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            found += deployment.resolve(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def test_machines_may_start_the_stages_routines_and_no_others(statements: list[dict[str, Any]]) -> None:
    assert allowed(statements, Request("states:StartExecution", MACHINES + "child-routine"))
    for other in (
        MACHINES.replace("-dev-", "-prod-") + "child",
        f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:someone-elses",
        f"arn:aws:states:{REGION}:999999999999:stateMachine:routines-dev-child",
    ):
        assert not allowed(statements, Request("states:StartExecution", other)), other


def test_machines_may_watch_and_stop_the_stages_executions_only(statements: list[dict[str, Any]]) -> None:
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert allowed(statements, Request(action, EXECUTIONS + "child:3f2a")), action
        assert not allowed(
            statements, Request(action, f"arn:aws:states:{REGION}:{ACCOUNT}:execution:other:3f2a")
        ), action


def test_sync_waits_may_manage_step_functions_rule_and_no_other(statements: list[dict[str, Any]]) -> None:
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert allowed(statements, Request(action, SYNC_RULE)), action
        assert not allowed(
            statements, Request(action, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/routines-dev-other")
        ), action
    assert not allowed(statements, Request("events:DeleteRule", SYNC_RULE))
    assert not allowed(
        statements, Request("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")
    )


def test_no_wildcard_on_the_sync_rule(synth: Synth) -> None:
    """The rule's grant names it exactly: nothing for cdk-nag to acknowledge."""
    text = json.dumps(synth.template)
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule*" not in text
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule" in text
