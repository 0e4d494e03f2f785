"""A routine that starts executions runs under a role of its own (functions/activation/
roles.py), created, rewritten and deleted by activation on the local AWS — moto implements
IAM, so these are real roles: the parent's inline policy names exactly its children's
machines (and its own with a distributed loop), it carries the stage's boundary and the
execution policy, and a failed activation leaves no role behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.activation import machines, roles, service
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.local import LocalAWS
from functions.local.status_events import StatusEvents
from tests.api.conftest import Api
from tests.api.test_actions import final

ACCOUNT, REGION = "123456789012", "us-east-1"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:routines-"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:routines-"
SHARED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/routines-local"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/routines/local/"
EXECUTION_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/routines-local-execution"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/routines-local-routine-boundary"
SYNC_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"


def doubler(name: str = "doubler") -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "double", "plugin": "transform", "parameters": {"fields": {"n": "{{ trigger.n * 2 }}"}}}
        ],
    }


def parent(*children: str, wait: bool = True, distributed: bool = False) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {
            "id": f"call{i}",
            "plugin": "execute-routine",
            "parameters": {"routine": child, "input": {"n": "{{ trigger.n }}"}, "wait": wait},
        }
        for i, child in enumerate(children)
    ]
    connections = [
        {"sourceNodeId": f"call{i}", "targetNodeId": f"call{i + 1}"} for i in range(len(children) - 1)
    ]
    if distributed:
        nodes += [
            {"id": "list", "plugin": "static-data", "parameters": {"data": [1, 2]}},
            {
                "id": "each",
                "plugin": "loop",
                "parameters": {"items": "{{ nodes.list }}", "mode": "distributed"},
            },
            {"id": "twice", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.item * 2 }}"}}},
        ]
        connections += [
            {"sourceNodeId": "list", "targetNodeId": "each"},
            {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "twice"},
        ]
    return {"name": "caller", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def activate(api: Api, document: dict[str, Any]) -> str:
    routine_id = str(api.ok("POST", "/routines", document)["id"])
    api.ok("POST", f"/routines/{routine_id}/activate")
    return routine_id


def role_of(aws: LocalAWS, routine_id: str, test: bool = False) -> str:
    name = f"{MACHINE}{routine_id}-test" if test else MACHINE + routine_id
    return str(aws.client("stepfunctions").describe_state_machine(stateMachineArn=name)["roleArn"])


def routine_roles(aws: LocalAWS) -> list[str]:
    return sorted(r["Arn"] for r in aws.client("iam").list_roles(PathPrefix="/routines/")["Roles"])


def inline(aws: LocalAWS, role_arn: str) -> dict[str, Any]:
    iam = aws.client("iam")
    name = role_arn.rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [roles.POLICY_NAME]
    document: dict[str, Any] = iam.get_role_policy(RoleName=name, PolicyName=roles.POLICY_NAME)[
        "PolicyDocument"
    ]
    return document


def granted(aws: LocalAWS, role_arn: str, action: str) -> list[str]:
    return sorted(
        resource
        for statement in inline(aws, role_arn)["Statement"]
        if action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        for resource in (
            [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        )
    )


@pytest.fixture
def children(api: Api) -> list[str]:
    return [activate(api, doubler(f"child {n}")) for n in range(3)]


def test_a_parent_gets_a_role_that_may_start_exactly_its_children(
    api: Api, aws: LocalAWS, children: list[str]
) -> None:
    first, second, _ = children
    parent_id = activate(api, parent(first, second))
    arn = role_of(aws, parent_id)
    assert arn == f"{ROLES}routines-{parent_id}" and routine_roles(aws) == [arn]
    role = aws.client("iam").get_role(RoleName=f"routines-{parent_id}")["Role"]
    assert role["Path"] == "/routines/local/"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    tags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert tags == {
        "routines:stateMachineArn": MACHINE + parent_id,
        "routines:owner": "alice",
        "routines:routineId": parent_id,
    }
    attached = aws.client("iam").list_attached_role_policies(RoleName=f"routines-{parent_id}")[
        "AttachedPolicies"
    ]
    assert [p["PolicyArn"] for p in attached] == [EXECUTION_POLICY]
    assert granted(aws, arn, "states:StartExecution") == sorted([MACHINE + first, MACHINE + second])
    assert granted(aws, arn, "states:StopExecution") == sorted(
        [f"{EXECUTION}{first}:*", f"{EXECUTION}{second}:*"]
    )
    assert granted(aws, arn, "states:DescribeExecution") == granted(aws, arn, "states:StopExecution")
    assert granted(aws, arn, "events:PutRule") == [SYNC_RULE]  # a node waits for its child


def test_the_role_runs_the_parent_and_its_child(api: Api, aws: LocalAWS, events: StatusEvents) -> None:
    child_id = activate(api, doubler())
    parent_id = activate(api, parent(child_id))
    assert role_of(aws, parent_id).startswith(ROLES)
    execution_id = api.ok("POST", f"/routines/{parent_id}/executions", {"input": {"n": 21}})["executionId"]
    record = final(events, execution_id)
    assert record.status == "SUCCEEDED", record.error
    assert record.output == {"call0": {"double": {"n": 42}}}


def test_a_distributed_loop_may_start_its_own_machine_and_a_parent_that_does_not_wait_no_sync_rule(
    api: Api, aws: LocalAWS, children: list[str]
) -> None:
    looping = activate(api, parent(distributed=True))
    arn = role_of(aws, looping)
    assert granted(aws, arn, "states:StartExecution") == [MACHINE + looping]
    # A Map Run's child executions are named <machine>/<map run label>:<id>.
    assert granted(aws, arn, "states:StopExecution") == [f"{EXECUTION}{looping}/*", f"{EXECUTION}{looping}:*"]
    assert granted(aws, arn, "events:PutRule") == []
    both = activate(api, parent(children[0], wait=False, distributed=True))
    arn = role_of(aws, both)
    assert granted(aws, arn, "states:StartExecution") == sorted([MACHINE + children[0], MACHINE + both])
    assert granted(aws, arn, "events:PutRule") == []


def test_a_routine_that_starts_nothing_keeps_the_shared_role(api: Api, aws: LocalAWS) -> None:
    routine_id = activate(api, doubler())
    assert role_of(aws, routine_id) == SHARED_ROLE
    assert routine_roles(aws) == []


def test_reactivation_follows_the_children_and_a_parent_without_any_goes_back_to_the_shared_role(
    api: Api, aws: LocalAWS, children: list[str]
) -> None:
    first, second, third = children
    parent_id = activate(api, parent(first))
    arn = role_of(aws, parent_id)
    api.ok("PUT", f"/routines/{parent_id}", parent(second, third, wait=False))
    api.ok("POST", f"/routines/{parent_id}/activate")
    assert role_of(aws, parent_id) == arn  # the same role, its policy rewritten
    assert granted(aws, arn, "states:StartExecution") == sorted([MACHINE + second, MACHINE + third])
    assert granted(aws, arn, "events:PutRule") == []
    api.ok("PUT", f"/routines/{parent_id}", doubler("no children now"))
    api.ok("POST", f"/routines/{parent_id}/activate")
    assert role_of(aws, parent_id) == SHARED_ROLE and routine_roles(aws) == []
    api.ok("PUT", f"/routines/{parent_id}", parent(first))
    api.ok("POST", f"/routines/{parent_id}/activate")
    assert role_of(aws, parent_id) == arn and granted(aws, arn, "states:StartExecution") == [MACHINE + first]


def test_deactivation_keeps_the_role_and_deletion_removes_it_with_the_test_machines(
    api: Api, aws: LocalAWS, children: list[str]
) -> None:
    parent_id = activate(api, parent(children[0]))
    api.ok("POST", f"/routines/{parent_id}/executions", {"input": {"n": 1}, "test": True})
    test_role = role_of(aws, parent_id, test=True)
    assert test_role == f"{ROLES}routines-{parent_id}-test"
    assert granted(aws, test_role, "states:StartExecution") == [MACHINE + children[0]]
    # Deactivated, the machine stays (its running executions, the next activation): so does its role.
    api.ok("POST", f"/routines/{parent_id}/deactivate")
    assert routine_roles(aws) == sorted([role_of(aws, parent_id), test_role])
    api("DELETE", f"/routines/{parent_id}")
    assert routine_roles(aws) == []


def test_a_failed_activation_leaves_no_role(
    api: Api, aws: LocalAWS, children: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _ = children

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the trigger could not be installed")

    monkeypatch.setattr(service.triggers, "install", broken)
    parent_id = str(api.ok("POST", "/routines", parent(first))["id"])
    status, _, _ = api("POST", f"/routines/{parent_id}/activate")
    assert status == 500
    machines_now = [m["name"] for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]]
    assert f"routines-{parent_id}" not in machines_now and routine_roles(aws) == []
    monkeypatch.undo()

    # Active with one child: a failed re-activation with another puts the first back.
    api.ok("POST", f"/routines/{parent_id}/activate")
    arn = role_of(aws, parent_id)
    api.ok("PUT", f"/routines/{parent_id}", parent(second))
    monkeypatch.setattr(service.triggers, "install", broken)
    assert api("POST", f"/routines/{parent_id}/activate")[0] == 500
    assert granted(aws, arn, "states:StartExecution") == [MACHINE + first]
    # ... and one that would have retired the role creates it again, as it was.
    api.ok("PUT", f"/routines/{parent_id}", doubler("no children"))
    assert api("POST", f"/routines/{parent_id}/activate")[0] == 500
    assert role_of(aws, parent_id) == arn and routine_roles(aws) == [arn]
    assert granted(aws, arn, "states:StartExecution") == [MACHINE + first]
    attached = aws.client("iam").list_attached_role_policies(RoleName=arn.rsplit("/", 1)[1])
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [EXECUTION_POLICY]


# -- the role itself, through machines.deploy ------------------------------------------


@pytest.fixture
def settings(aws: LocalAWS) -> Iterator[Settings]:
    yield Settings.from_env()


def _definition(*children: str) -> str:
    states = {
        f"call{i}": {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Arguments": {"StateMachineArn": MACHINE + child, "Input": {}},
            **({"Next": f"call{i + 1}"} if i + 1 < len(children) else {"End": True}),
        }
        for i, child in enumerate(children)
    }
    return json.dumps({"QueryLanguage": "JSONata", "StartAt": "call0", "States": states})


def test_a_long_routine_id_gets_a_role_name_within_iams_limit(aws: LocalAWS, settings: Settings) -> None:
    name = settings.machine_name("r" * 64, test=True)  # 78 characters
    short = roles.role_name(name)
    assert len(short) == 64 and short == roles.role_name(name) and short.startswith(name[:55])
    assert roles.role_name(settings.machine_name("r" * 63, test=True)) != short
    assert roles.role_name("routines-abc") == "routines-abc"
    with Rollback() as rollback:
        machines.deploy(settings, name, _definition("child"), {"routines:owner": "u"}, rollback)
        rollback.commit()
    assert role_of(aws, "r" * 64, test=True) == ROLES + short
    machines.delete(settings.machine_arn(name), settings)
    assert routine_roles(aws) == []


def test_step_functions_not_yet_able_to_assume_a_new_role_is_waited_for(
    aws: LocalAWS, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = aws.client("stepfunctions")
    real = sfn.create_state_machine
    refusals = []
    message = (
        "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
        "to assume the provided role."
    )

    def create(**kwargs: Any) -> Any:
        if len(refusals) < 2:
            refusals.append(kwargs["roleArn"])
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": message}}, "CreateStateMachine"
            )
        return real(**kwargs)

    monkeypatch.setattr(machines, "ROLE_POLL_SECONDS", 0.0)
    monkeypatch.setattr(
        machines, "client", lambda service: sfn if service == "stepfunctions" else aws.client(service)
    )
    monkeypatch.setattr(sfn, "create_state_machine", create)
    name = settings.machine_name("fresh")
    with Rollback() as rollback:
        machines.deploy(settings, name, _definition("child"), {}, rollback)
        rollback.commit()
    assert refusals == [ROLES + "routines-fresh"] * 2 and role_of(aws, "fresh") == ROLES + "routines-fresh"

    # Any other refusal is not waited for, and the role goes with the failed deployment.
    def denied(**kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "CreateStateMachine"
        )

    monkeypatch.setattr(sfn, "create_state_machine", denied)
    with pytest.raises(ClientError), Rollback() as rollback:
        machines.deploy(settings, settings.machine_name("denied"), _definition("child"), {}, rollback)
    assert routine_roles(aws) == [ROLES + "routines-fresh"]


def test_a_left_over_role_of_the_machine_is_taken_over_and_anothers_is_not(
    aws: LocalAWS, settings: Settings
) -> None:
    iam = aws.client("iam")
    name = settings.machine_name("leftover")
    trust = json.dumps(roles.trust(settings))
    tag = [{"Key": roles.MACHINE_TAG, "Value": settings.machine_arn(name)}]
    iam.create_role(RoleName=name, Path=settings.role_path, AssumeRolePolicyDocument=trust, Tags=tag)
    with Rollback() as rollback:
        machines.deploy(settings, name, _definition("child"), {}, rollback)
        rollback.commit()
    assert granted(aws, role_of(aws, "leftover"), "states:StartExecution") == [MACHINE + "child"]
    # A role of that name that is not this machine's (another region's, someone's): refused, kept.
    other = settings.machine_name("taken")
    iam.create_role(RoleName=other, Path=settings.role_path, AssumeRolePolicyDocument=trust)
    with pytest.raises(ClientError, match="EntityAlreadyExists"), Rollback() as rollback:
        machines.deploy(settings, other, _definition("child"), {}, rollback)
    assert iam.get_role(RoleName=other)["Role"]["Arn"] == ROLES + other
    assert iam.list_role_policies(RoleName=other)["PolicyNames"] == []


def test_a_routine_starting_too_many_machines_is_refused_before_iam_would(
    aws: LocalAWS, settings: Settings
) -> None:
    many = [f"child-{n:03d}-{'x' * 40}" for n in range(80)]
    with pytest.raises(roles.SubroutineError, match="10,240"), Rollback() as rollback:
        machines.deploy(settings, settings.machine_name("wide"), _definition(*many), {}, rollback)
    assert routine_roles(aws) == []


def test_what_a_definition_starts_is_read_from_every_state() -> None:
    own = MACHINE + "me"
    nested = {
        "StartAt": "p",
        "States": {
            "p": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "m",
                        "States": {
                            "m": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "ProcessorConfig": {"Mode": "INLINE"},
                                    "StartAt": "t",
                                    "States": {
                                        "t": {
                                            "Type": "Task",
                                            "Resource": "arn:aws:states:::states:startExecution.sync:2",
                                            "Arguments": {"StateMachineArn": MACHINE + "deep"},
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            }
                        },
                    }
                ],
                "End": True,
            }
        },
    }
    found = roles.starts(json.dumps(nested), own)
    assert found == roles.Starts((MACHINE + "deep",), None, True)
    assert (
        roles.starts(json.dumps({"StartAt": "x", "States": {"x": {"Type": "Pass", "End": True}}}), own)
        is None
    )
    lambda_task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    assert roles.starts(json.dumps({"StartAt": "x", "States": {"x": lambda_task}}), own) is None
    dynamic = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution",
        "Arguments": {"StateMachineArn": "{% $states.input.arn %}"},
        "End": True,
    }
    with pytest.raises(ValueError, match="does not name"):
        roles.starts(json.dumps({"StartAt": "x", "States": {"x": dynamic}}), own)
