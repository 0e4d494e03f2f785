"""IAM for routines that start executions (execute-routine children, distributed loops):
the parent's role may start exactly its children's machines. Checked on the synthesized
template with the same IAM evaluation as the access tests (tests/infra/access.py):

- the shared role routine state machines run under may start, watch and stop no execution
  and touch no sync rule;
- a parent's own role, as activation creates it (the API's handler on moto with the
  function's deployed environment), read back from IAM and evaluated with what it refers
  to in the template — the execution policy attached, the stage's permissions boundary —
  may start exactly its children's machines (and its own with a distributed loop), watch
  and stop their executions, and manage the sync rule only when a node waits;
- the boundary caps any such role at the stage's machines and the sync rule;
- only the API function may manage such roles: create them only under the stage's role
  path and with the boundary, attach only the execution policy, change only roles that
  carry the boundary, pass them only to Step Functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.access import ACCOUNT, REGION, Deployment, Request, allowed
from tests.infra.conftest import Synth
from tests.infra.test_access import API, RECORDER, WEBHOOK, World, _denied, _parent, _routine

STATES = f"arn:aws:states:{REGION}:{ACCOUNT}"
MACHINES = f"{STATES}:stateMachine:routines-dev-"
EXECUTIONS = f"{STATES}:execution:routines-dev-"
SYNC_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/routines/dev/"
STARTS = ("states:StartExecution", "states:DescribeExecution", "states:StopExecution")


@pytest.fixture(scope="module")
def deployment(synth: Synth) -> Deployment:
    return Deployment(synth.template)


@pytest.fixture(scope="module")
def shared(deployment: Deployment) -> list[dict[str, Any]]:
    """The statements of the shared execution role (the one role Step Functions assumes
    in the template)."""
    [role] = [
        logical
        for logical, r in deployment.of_type("AWS::IAM::Role").items()
        if "states.amazonaws.com" in json.dumps(r["AssumeRolePolicyDocument"])
    ]
    return deployment.role_statements(role)


@pytest.fixture(scope="module")
def boundary(deployment: Deployment) -> list[dict[str, Any]]:
    arn = deployment.environment(API)["ROUTINE_ROLE_BOUNDARY_ARN"]
    return deployment.managed_policy(deployment.managed_policy_by_arn(arn))


def test_the_shared_role_may_start_watch_and_stop_no_execution(shared: list[dict[str, Any]]) -> None:
    assert shared, "the shared role's statements were found"
    for action in STARTS:
        for resource in (MACHINES + "child", EXECUTIONS + "child:3f2a", "*"):
            assert not allowed(shared, Request(action, resource)), (action, resource)
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert not allowed(shared, Request(action, SYNC_RULE)), action
    # What it keeps: invoking the product's functions, logs (the execution policy).
    assert allowed(shared, Request("logs:CreateLogDelivery", "*"))
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:routines-dev-sys-evaluate"
    assert allowed(shared, Request("lambda:InvokeFunction", function))


def test_the_boundary_caps_routine_roles_at_the_stages_machines_and_the_sync_rule(
    boundary: list[dict[str, Any]], shared: list[dict[str, Any]]
) -> None:
    assert allowed(boundary, Request("states:StartExecution", MACHINES + "child-routine"))
    for other in (
        MACHINES.replace("-dev-", "-prod-") + "child",
        f"{STATES}:stateMachine:someone-elses",
        f"arn:aws:states:{REGION}:999999999999:stateMachine:routines-dev-child",
    ):
        assert not allowed(boundary, Request("states:StartExecution", other)), other
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert allowed(boundary, Request(action, EXECUTIONS + "child:3f2a")), action
        assert not allowed(boundary, Request(action, f"{STATES}:execution:other:3f2a")), action
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert allowed(boundary, Request(action, SYNC_RULE)), action
        assert not allowed(
            boundary, Request(action, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/routines-dev-other")
        ), action
    assert not allowed(boundary, Request("events:DeleteRule", SYNC_RULE))
    assert not allowed(boundary, Request("iam:PassRole", ROLES + "x"))
    # Everything the execution policy grants is inside the boundary.
    for statement in shared:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for resource in resources:
                assert allowed(boundary, Request(action, resource)), (action, resource)


def test_no_wildcard_on_the_sync_rule(synth: Synth) -> None:
    """The rule's grant names it exactly: nothing for cdk-nag to acknowledge."""
    text = json.dumps(synth.template)
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule*" not in text
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule" in text


# -- the control plane -----------------------------------------------------------------


def _created(boundary: str | None) -> tuple[tuple[str, str], ...]:
    return (("iam:PermissionsBoundary", boundary),) if boundary else ()


def test_only_the_api_creates_roles_and_only_under_the_path_with_the_boundary(deployment: Deployment) -> None:
    env = deployment.environment(API)
    bound, policy = env["ROUTINE_ROLE_BOUNDARY_ARN"], env["EXECUTION_POLICY_ARN"]
    assert env["ROUTINE_ROLE_PATH"] == "/routines/dev/"
    api = deployment.statements(API)
    assert allowed(api, Request("iam:CreateRole", ROLES + "routines-dev-abc", _created(bound)))
    for resource, context in (
        (ROLES + "routines-dev-abc", _created(None)),  # no boundary
        (ROLES + "routines-dev-abc", _created(policy)),  # another boundary
        (f"arn:aws:iam::{ACCOUNT}:role/routines-dev-abc", _created(bound)),  # no path
        (f"arn:aws:iam::{ACCOUNT}:role/routines/prod/routines-prod-abc", _created(bound)),  # another stage
        (f"arn:aws:iam::{ACCOUNT}:role/admin", _created(bound)),
    ):
        assert not allowed(api, Request("iam:CreateRole", resource, context)), (resource, context)
    for action in ("iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"):
        assert allowed(api, Request(action, ROLES + "r", _created(bound)))
        assert not allowed(api, Request(action, ROLES + "r")), action  # a role without the boundary
        assert not allowed(api, Request(action, f"arn:aws:iam::{ACCOUNT}:role/admin", _created(bound)))
    attach = (*_created(bound), ("iam:PolicyARN", policy))
    assert allowed(api, Request("iam:AttachRolePolicy", ROLES + "r", attach))
    for context in (
        (*_created(bound), ("iam:PolicyARN", "arn:aws:iam::aws:policy/AdministratorAccess")),
        (*_created(bound), ("iam:PolicyARN", bound)),
        (("iam:PolicyARN", policy),),
    ):
        assert not allowed(api, Request("iam:AttachRolePolicy", ROLES + "r", context)), context
    for action in ("iam:DeleteRole", "iam:GetRole", "iam:TagRole"):
        assert allowed(api, Request(action, ROLES + "r")), action
        assert not allowed(api, Request(action, f"arn:aws:iam::{ACCOUNT}:role/admin")), action
    for action in (
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:UpdateAssumeRolePolicy",
    ):
        assert not allowed(api, Request(action, ROLES + "r", _created(bound))), action
    for function in (WEBHOOK, RECORDER):
        statements = deployment.statements(function)
        assert not [s for s in statements if any(str(a).startswith("iam:") for a in _actions(s))], function


def _actions(statement: dict[str, Any]) -> list[Any]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_the_api_passes_routine_roles_to_step_functions_only(deployment: Deployment) -> None:
    api = deployment.statements(API)
    to = (("iam:PassedToService", "states.amazonaws.com"),)
    assert allowed(api, Request("iam:PassRole", ROLES + "routines-dev-abc", to))
    assert not allowed(
        api,
        Request(
            "iam:PassRole", ROLES + "routines-dev-abc", (("iam:PassedToService", "lambda.amazonaws.com"),)
        ),
    )
    assert not allowed(api, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", to))
    assert not allowed(api, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/routines/prod/x", to))


# -- a parent's role, as activation creates it -----------------------------------------


class ParentWorld(World):
    """Three active routines; a parent calling two of them (waiting for one) with a
    distributed loop; a parent calling one without waiting; then the first parent again
    calling the third instead."""

    def scenarios(self) -> None:
        manual = {"type": "manual"}
        self.children = [
            self.api("POST", "/routines", _routine(f"child {n}", manual), 201)["id"] for n in range(3)
        ]
        for child in self.children:
            self.api("POST", f"/routines/{child}/activate")
        first, second, third = self.children
        document = _parent(first, wait=True, distributed=True)
        document["nodes"].append(
            {"id": "also", "plugin": "execute-routine", "parameters": {"routine": second, "wait": False}}
        )
        document["connections"].append({"sourceNodeId": "call", "targetNodeId": "also"})
        self.parent = self.api("POST", "/routines", document, 201)["id"]
        self.api("POST", f"/routines/{self.parent}/activate")
        self.roles = {"parent": self.role(self.parent)}
        self.async_parent = self.api(
            "POST", "/routines", _parent(second, wait=False, distributed=False), 201
        )["id"]
        self.api("POST", f"/routines/{self.async_parent}/activate")
        self.roles["async"] = self.role(self.async_parent)
        self.api("PUT", f"/routines/{self.parent}", _parent(third, wait=True, distributed=False))
        self.api("POST", f"/routines/{self.parent}/activate")
        self.roles["changed"] = self.role(self.parent)

    def role(self, routine_id: str) -> dict[str, Any]:
        """The role the routine's machine runs under, as IAM has it: its boundary, the
        policies attached and its inline policies' statements."""
        import boto3

        sfn = boto3.client("stepfunctions", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        arn = sfn.describe_state_machine(stateMachineArn=MACHINES + routine_id)["roleArn"]
        name = arn.rsplit("/", 1)[1]
        role = iam.get_role(RoleName=name)["Role"]
        inline = [
            iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]["Statement"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
        attached = [
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        ]
        return {
            "arn": arn,
            "path": role["Path"],
            "trust": role["AssumeRolePolicyDocument"],
            "boundary": role["PermissionsBoundary"]["PermissionsBoundaryArn"],
            "attached": attached,
            "inline": [s for statements in inline for s in statements],
        }


@pytest.fixture(scope="module")
def world(deployment: Deployment) -> Iterator[ParentWorld]:
    world = ParentWorld(deployment)
    with world.provisioned():
        world.scenarios()
        yield world


def may(deployment: Deployment, role: dict[str, Any], request: Request) -> bool:
    """Whether the role may: its policies allow it and its boundary does too."""
    identity = list(role["inline"])
    for arn in role["attached"]:
        identity += deployment.managed_policy(deployment.managed_policy_by_arn(arn))
    bound = deployment.managed_policy(deployment.managed_policy_by_arn(role["boundary"]))
    return allowed(identity, request) and allowed(bound, request)


def test_every_call_of_the_scenario_is_allowed(world: ParentWorld) -> None:
    denied = _denied(world, API)
    assert not denied, "the API's role does not allow:\n" + "\n".join(denied)


def test_the_parents_role_may_start_exactly_its_childrens_machines(
    world: ParentWorld, deployment: Deployment
) -> None:
    role = world.roles["parent"]
    env = deployment.environment(API)
    assert role["arn"].startswith(ROLES) and role["path"] == "/routines/dev/"
    assert role["boundary"] == env["ROUTINE_ROLE_BOUNDARY_ARN"]
    assert role["attached"] == [env["EXECUTION_POLICY_ARN"]]
    [trust] = role["trust"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    first, second, third = world.children
    mine = [first, second, world.parent]  # the distributed loop starts its own machine's children
    machines = [MACHINES + routine for routine in mine]
    granted = [s["Resource"] for s in role["inline"] if "states:StartExecution" in _actions(s)]
    assert granted == [sorted(machines)]
    for routine in mine:
        assert may(deployment, role, Request("states:StartExecution", MACHINES + routine)), routine
        for action in ("states:DescribeExecution", "states:StopExecution"):
            assert may(deployment, role, Request(action, f"{EXECUTIONS}{routine}:run-1")), (action, routine)
    # A distributed Map's child executions: <machine>/<map run>:<id>.
    loop_child = f"{EXECUTIONS}{world.parent}/each:0b1c"
    assert may(deployment, role, Request("states:DescribeExecution", loop_child))
    assert not may(deployment, role, Request("states:DescribeExecution", f"{EXECUTIONS}{first}/each:0b1c"))
    for other in (third, world.async_parent, "someone-else"):
        assert not may(deployment, role, Request("states:StartExecution", MACHINES + other)), other
        assert not may(deployment, role, Request("states:StopExecution", f"{EXECUTIONS}{other}:run-1")), other
    assert not may(
        deployment, role, Request("states:StartExecution", MACHINES.replace("-dev-", "-prod-") + first)
    )
    # A node waits for its child: the sync rule.
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert may(deployment, role, Request(action, SYNC_RULE)), action
    # And what every routine machine may do, through the attached execution policy.
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:routines-dev-transform"
    assert may(deployment, role, Request("lambda:InvokeFunction", function))


def test_a_parent_that_does_not_wait_gets_no_sync_rule(world: ParentWorld, deployment: Deployment) -> None:
    role = world.roles["async"]
    second = world.children[1]
    assert may(deployment, role, Request("states:StartExecution", MACHINES + second))
    assert not may(deployment, role, Request("states:StartExecution", MACHINES + world.async_parent))
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert not may(deployment, role, Request(action, SYNC_RULE)), action


def test_reactivated_with_another_child_the_role_follows(world: ParentWorld, deployment: Deployment) -> None:
    role = world.roles["changed"]
    first, second, third = world.children
    assert role["arn"] == world.roles["parent"]["arn"]  # the same role, its policy rewritten
    assert may(deployment, role, Request("states:StartExecution", MACHINES + third))
    for gone in (first, second, world.parent):  # no distributed loop any more either
        assert not may(deployment, role, Request("states:StartExecution", MACHINES + gone)), gone
