"""Every AWS call the control plane's code makes is allowed by its role in the
synthesized template (issue #25: moto does not enforce IAM, a real account does).

The API, webhook and recorder handlers run on moto with each function's deployed
environment (the template's variables, resolved: the stage's table names, the payload
bucket, the roles, the stage's bus and schedule group), through the paths users take:
save, activate every trigger kind (the account's default bus and the stage's bus for
events), manual and test runs with a trigger over its inline budget, reads, re-run,
approval, secret rotation, webhook calls small and large (with an Idempotency-Key), the
recorder's terminal event, deactivation and deletion — and the life of a routine that
starts executions (its own role: created, its policy rewritten, retired, created again,
deleted with the routine). Each recorded call becomes the
IAM requests AWS makes for it (:mod:`tests.infra.access`), and each request must be
allowed by the statements of that function's role. A new call in the code, or a grant
narrowed in ``infra/``, fails here rather than with AccessDenied after a deploy.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.access import (
    ACCOUNT,
    REGION,
    Call,
    Calls,
    Deployment,
    Request,
    allowed,
    matches,
    requests,
    required,
)
from tests.infra.conftest import Synth

API, WEBHOOK, RECORDER = "routines-dev-api", "routines-dev-webhook", "routines-dev-recorder"
STAGE_BUS = "routines-dev-triggers"
BIG = "x" * (80 * 1024)  # over the trigger's inline room (contract.limits: 64 KiB)
PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"]}


def _routine(name: str, trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": trigger,
        "nodes": [
            {"id": "greet", "plugin": "transform", "parameters": {"fields": {"who": "{{ trigger.who }}"}}}
        ],
    }


def _parent(child: str, *, wait: bool, distributed: bool) -> dict[str, Any]:
    """Starts ``child`` (waiting for it or not), and with ``distributed`` runs a loop of
    child executions of its own machine."""
    call = {"id": "call", "plugin": "execute-routine", "parameters": {"routine": child, "wait": wait}}
    nodes: list[dict[str, Any]] = [call]
    connections: list[dict[str, Any]] = []
    if distributed:
        items = {"items": "{{ trigger.items }}", "mode": "distributed"}
        nodes += [
            {"id": "each", "plugin": "loop", "parameters": items},
            {"id": "double", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.item }}"}}},
        ]
        connections += [
            {"sourceNodeId": "call", "targetNodeId": "each"},
            {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "double"},
        ]
    return {"name": "parent", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


@dataclass
class Context:
    """The Lambda context the handlers read (powertools, the API's account and partition)."""

    function_name: str
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 1024

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _proxy(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = {"Content-Type": "application/json", "Host": "abc.execute-api.us-east-1.amazonaws.com"}
    all_headers.update(headers or {})
    parts = path.strip("/").split("/")
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"routineId": parts[1]} if parts[0] == "hooks" else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": uuid.uuid4().hex,
            "domainName": all_headers["Host"],
            "identity": {"sourceIp": "192.0.2.1"},
            "authorizer": None if parts[0] == "hooks" else {"claims": {"sub": "alice"}},
        },
        "body": text,
        "isBase64Encoded": False,
    }


class World:
    """moto with the stack's stateful resources, and the functions' handlers run with their
    deployed environment while their AWS calls are recorded."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.calls: dict[str, list[Call]] = {}
        self.recorder = Calls()

    @contextmanager
    def provisioned(self) -> Iterator[None]:
        """Provisioned on a fresh moto; the recording hook and the process environment
        undone afterwards."""
        from moto import mock_aws

        saved = dict(os.environ)
        try:
            with mock_aws():
                try:
                    self.provision()
                    yield
                finally:
                    self.recorder.uninstall()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def provision(self) -> None:
        import boto3

        env = self.deployment.environment(API)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for props in self.deployment.of_type("AWS::DynamoDB::GlobalTable").values():
            request: dict[str, Any] = {
                "TableName": props["TableName"],
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if props.get("GlobalSecondaryIndexes"):
                request["GlobalSecondaryIndexes"] = [
                    {k: i[k] for k in ("IndexName", "KeySchema", "Projection")}
                    for i in props["GlobalSecondaryIndexes"]
                ]
            dynamodb.create_table(**request)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=env["PAYLOAD_BUCKET"])
        boto3.client("events", region_name=REGION).create_event_bus(Name=env["EVENT_BUS_NAME"])
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=env["SCHEDULE_GROUP"])
        # The execution policy and the routine roles' boundary, as the stack creates them
        # (activation attaches the one and creates roles with the other).
        iam = boto3.client("iam", region_name=REGION)
        for variable in ("EXECUTION_POLICY_ARN", "ROUTINE_ROLE_BOUNDARY_ARN"):
            logical = self.deployment.managed_policy_by_arn(env[variable])
            document = {"Version": "2012-10-17", "Statement": self.deployment.managed_policy(logical)}
            iam.create_policy(PolicyName=env[variable].rsplit("/", 1)[1], PolicyDocument=json.dumps(document))
        self.recorder.install()

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """The function's environment, fresh product clients and caches, calls recorded."""
        from functions.api import context as api_context
        from functions.webhook import secrets
        from plugins.runtime.aws import reset_clients

        saved = dict(os.environ)
        os.environ.update(self.deployment.environment(function))
        os.environ.update(
            {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "1"}
        )
        reset_clients()  # rebuilt with the recording hook
        api_context.reset()
        secrets.forget()
        try:
            with self.recorder.record() as calls:
                yield
        finally:
            self.calls.setdefault(function, []).extend(calls)
            os.environ.clear()
            os.environ.update(saved)
            reset_clients()
            api_context.reset()

    def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        from functions.api.handler import lambda_handler

        with self.running(API):
            result = lambda_handler(_proxy(method, path, body), Context(API))  # type: ignore[arg-type]
        payload = json.loads(result["body"]) if result.get("body") else None
        assert result["statusCode"] == expect, (method, path, result["statusCode"], payload)
        return payload

    def hook(self, routine_id: str, secret: str, body: str, key: str | None = None) -> str:
        from functions.webhook.handler import lambda_handler
        from functions.webhook.signature import sign

        headers = {"X-Signature-256": sign(secret, body.encode())}
        if key:
            headers["Idempotency-Key"] = key
        with self.running(WEBHOOK):
            result = lambda_handler(_proxy("POST", f"/hooks/{routine_id}", body, headers), Context(WEBHOOK))
        assert result["statusCode"] == 202, result
        return str(json.loads(result["body"])["executionId"])

    def record(self, execution_id: str, status: str) -> dict[str, Any]:
        from functions.recorder.handler import lambda_handler

        machine, name = execution_id.split(":", 1)
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
        detail = {
            "executionArn": arn,
            "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}",
            "name": name,
            "status": status,
            "startDate": 1_700_000_000_000,
            "stopDate": 1_700_000_001_000,
            "inputDetails": {"included": False},  # read back with DescribeExecution
            "error": "States.TaskFailed",
            "cause": "boom",
        }
        event = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": detail,
        }
        with self.running(RECORDER):
            return lambda_handler(event, Context(RECORDER))

    def scenarios(self) -> None:
        import boto3

        # Save and activate each trigger kind.
        manual = self.api("POST", "/routines", _routine("manual", {"type": "manual"}), 201)["id"]
        self.api("POST", f"/routines/{manual}/activate")
        self.api("PUT", f"/routines/{manual}", _routine("manual v2", {"type": "manual"}))
        self.api("POST", f"/routines/{manual}/activate")  # UpdateStateMachine in place
        cron = _routine("cron", {"type": "cron", "schedule": "0 6 * * *"})
        cron_id = self.api("POST", "/routines", cron, 201)["id"]
        self.api("POST", f"/routines/{cron_id}/activate")
        on_default = _routine("s3 events", {"type": "event", "pattern": PATTERN, "bus": "default"})
        default_id = self.api("POST", "/routines", on_default, 201)["id"]
        shown = self.api("POST", f"/routines/{default_id}/activate")
        assert shown["event"]["bus"] == "default", shown
        on_stage = _routine("own events", {"type": "event", "pattern": PATTERN, "bus": STAGE_BUS})
        stage_id = self.api("POST", "/routines", on_stage, 201)["id"]
        self.api("POST", f"/routines/{stage_id}/activate")
        hook_id = self.api("POST", "/routines", _routine("hook", {"type": "webhook"}), 201)["id"]
        secret = self.api("POST", f"/routines/{hook_id}/activate")["webhook"]["secret"]
        secret = self.api("POST", f"/routines/{hook_id}/webhook/rotate")["webhook"]["secret"]

        # Runs: a manual run and a test run with a trigger over its inline slot.
        big = {"who": "world", "blob": BIG}
        run = self.api("POST", f"/routines/{manual}/executions", {"input": big}, 202)["executionId"]
        self.api("POST", f"/routines/{manual}/executions", {"input": big, "test": True}, 202)
        self.api("GET", f"/executions/{run}")
        self.api("GET", f"/routines/{manual}/executions")

        # Webhook calls: small, large, and with an Idempotency-Key.
        self.hook(hook_id, secret, json.dumps({"who": "small"}))
        self.hook(hook_id, secret, json.dumps({"who": "large", "blob": BIG}))
        self.hook(hook_id, secret, json.dumps({"who": "keyed"}), key="order-42")

        # The recorder ends the large run as failed; the API re-runs it and decides an approval.
        assert self.record(run, "FAILED")["result"] == "recorded"
        self.api("POST", f"/executions/{run}/rerun", None, 202)
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{run}"
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=self.deployment.environment(API)["APPROVALS_TABLE"],
            Item={"executionId": {"S": arn}, "nodeId": {"S": "ok"}, "taskToken": {"S": "token"}},
        )
        self.api("POST", f"/executions/{run}/approvals/ok", {"decision": "approve"})

        # Deactivate and delete: rules, schedule, secret and state machines go.
        for routine_id in (default_id, stage_id):
            self.api("POST", f"/routines/{routine_id}/deactivate")
        for routine_id in (cron_id, hook_id, manual):
            self.api("DELETE", f"/routines/{routine_id}", None, 204)
        self.starting_routines()

    def starting_routines(self) -> None:
        """A routine that starts executions gets a role of its own: created (and a test
        run's machine one too), its policy rewritten when its child changes, deleted when
        it starts nothing any more, created again, deleted with the routine."""
        child = self.api("POST", "/routines", _routine("child", {"type": "manual"}), 201)["id"]
        self.api("POST", f"/routines/{child}/activate")
        other = self.api("POST", "/routines", _routine("other child", {"type": "manual"}), 201)["id"]
        self.api("POST", f"/routines/{other}/activate")
        parent = self.api("POST", "/routines", _parent(child, wait=True, distributed=True), 201)["id"]
        self.api("POST", f"/routines/{parent}/activate")
        self.api("POST", f"/routines/{parent}/executions", {"input": {}, "test": True}, 202)
        self.api("PUT", f"/routines/{parent}", _parent(other, wait=False, distributed=False))
        self.api("POST", f"/routines/{parent}/activate")
        self.api("PUT", f"/routines/{parent}", _routine("no children", {"type": "manual"}))
        self.api("POST", f"/routines/{parent}/activate")
        self.api("PUT", f"/routines/{parent}", _parent(child, wait=True, distributed=False))
        self.api("POST", f"/routines/{parent}/activate")
        self.api("DELETE", f"/routines/{parent}", None, 204)


@pytest.fixture(scope="module")
def deployment(synth: Synth) -> Deployment:
    return Deployment(synth.template)


@pytest.fixture(scope="module")
def world(deployment: Deployment) -> Iterator[World]:
    world = World(deployment)
    with world.provisioned():
        world.scenarios()
        yield world


def _denied(world: World, function: str) -> list[str]:
    statements = world.deployment.statements(function)
    return sorted({str(r) for r in requests(world.calls[function]) if not allowed(statements, r)})


@pytest.mark.parametrize("function", [API, WEBHOOK, RECORDER])
def test_every_call_of_the_control_plane_is_allowed_by_its_role(world: World, function: str) -> None:
    assert world.calls[function], "the scenarios ran this function"
    denied = _denied(world, function)
    assert not denied, f"{function}'s role does not allow:\n" + "\n".join(denied)


def _requests(world: World, function: str, action: str) -> list[Request]:
    return [r for r in requests(world.calls[function]) if r.action == action]


def test_large_triggers_are_offloaded_by_both_start_paths_and_only_where_they_may_write(
    world: World,
) -> None:
    bucket = world.deployment.environment(API)["PAYLOAD_BUCKET"]
    for function in (API, WEBHOOK):
        writes = [r.resource for r in _requests(world, function, "s3:PutObject")]
        triggers = [w for w in writes if matches(f"arn:aws:s3:::{bucket}/payloads/*/trigger.json", w)]
        assert triggers, f"{function} offloaded no trigger: {writes}"
        granted = [
            s["Resource"]
            for s in world.deployment.statements(function)
            if "s3:PutObject" in s["Action"] and s["Effect"] == "Allow"
        ]
        assert sorted(json.dumps(g) for g in granted) == sorted(
            json.dumps(f"arn:aws:s3:::{bucket}/{prefix}")
            for prefix in ("executions/*", "payloads/*/trigger.json")
        ), function


def test_an_event_trigger_on_the_default_bus_puts_its_rule_there_and_may(world: World) -> None:
    rules = [r for r in _requests(world, API, "events:PutRule")]
    on_default = [r for r in rules if ":rule/routines-dev-" in r.resource]
    on_stage = [r for r in rules if f":rule/{STAGE_BUS}/routines-dev-" in r.resource]
    assert on_default and on_stage, [r.resource for r in rules]
    statements = world.deployment.statements(API)
    assert all(allowed(statements, r) for r in on_default + on_stage)
    passed = [r for r in _requests(world, API, "iam:PassRole") if r.why == "events:PutTargets"]
    assert passed and all(allowed(statements, r) for r in passed)


def test_activation_may_set_up_the_log_delivery_of_the_machines_it_creates(world: World) -> None:
    creates = [
        c for c in world.calls[API] if str(c) in ("states:CreateStateMachine", "states:UpdateStateMachine")
    ]
    assert {str(c) for c in creates} == {"states:CreateStateMachine", "states:UpdateStateMachine"}
    delivery = [r for c in creates for r in required(c) if r.action.startswith("logs:")]
    assert len({r.action for r in delivery}) == 8
    statements = world.deployment.statements(API)
    assert [str(r) for r in delivery if not allowed(statements, r)] == []


# -- the evaluator itself -------------------------------------------------------------


def test_wildcards_match_as_iam_matches_them() -> None:
    assert matches("arn:aws:s3:::b/payloads/*", "arn:aws:s3:::b/payloads/x/y.json")
    assert matches("arn:aws:s3:::b/payloads/*/trigger.json", "arn:aws:s3:::b/payloads/e1/trigger.json")
    assert not matches("arn:aws:s3:::b/payloads/*/trigger.json", "arn:aws:s3:::b/payloads/e1/other.json")
    assert not matches("arn:aws:s3:::b/executions/*", "arn:aws:s3:::b/payloads/e1/trigger.json")
    assert matches("arn:aws:events:r:1:rule/*/routines-dev-*", "arn:aws:events:r:1:rule/bus/routines-dev-a")
    assert not matches("arn:aws:events:r:1:rule/*/routines-dev-*", "arn:aws:events:r:1:rule/routines-dev-a")
    assert matches("s3:Get?bject", "s3:GetObject") and matches(
        "S3:getobject", "s3:GetObject", ignore_case=True
    )


def test_conditions_and_denials_are_evaluated() -> None:
    role = "arn:aws:iam::1:role/r"
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": role,
            "Condition": {"StringEquals": {"iam:PassedToService": ["states.amazonaws.com"]}},
        },
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
    ]
    passed = Request("iam:PassRole", role, (("iam:PassedToService", "states.amazonaws.com"),))
    assert allowed(statements, passed)
    assert not allowed(
        statements, Request("iam:PassRole", role, (("iam:PassedToService", "ec2.amazonaws.com"),))
    )
    assert not allowed(statements, Request("iam:PassRole", role))  # no context: the condition fails
    assert allowed(statements, Request("s3:GetObject", "arn:aws:s3:::open/k"))
    assert not allowed(statements, Request("s3:GetObject", "arn:aws:s3:::secret/k"))


def test_calls_become_the_requests_aws_authorizes() -> None:
    create = Call(
        "states",
        "CreateStateMachine",
        {
            "name": "routines-dev-r1",
            "roleArn": "arn:aws:iam::123456789012:role/x",
            "tags": [{"key": "k", "value": "v"}],
            "loggingConfiguration": {"level": "ERROR", "destinations": [{}]},
        },
    )
    actions = {r.action for r in required(create)}
    assert {
        "states:CreateStateMachine",
        "states:TagResource",
        "iam:PassRole",
        "logs:CreateLogDelivery",
    } <= actions
    [rule] = required(Call("events", "PutRule", {"Name": "routines-dev-r1", "EventBusName": "default"}))
    assert rule.resource == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/routines-dev-r1"
    [rule] = required(Call("events", "DescribeRule", {"Name": "n", "EventBusName": "orders"}))
    assert rule.resource.endswith(":rule/orders/n")
    [put] = required(Call("s3", "PutObject", {"Bucket": "b", "Key": "payloads/e/trigger.json"}))
    assert (put.action, put.resource) == ("s3:PutObject", "arn:aws:s3:::b/payloads/e/trigger.json")


def test_a_routine_that_starts_executions_gets_a_role_only_the_api_manages(world: World) -> None:
    iam = [c for c in world.calls[API] if c.prefix == "iam"]
    assert {c.operation for c in iam} == {
        "CreateRole",
        "PutRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "DeleteRolePolicy",
        "DeleteRole",
    }
    created = [c.params for c in iam if c.operation == "CreateRole"]
    env = world.deployment.environment(API)
    # The parent's machine twice (created again after it started nothing) and its test machine.
    assert len(created) == 3 and len({p["RoleName"] for p in created}) == 2
    assert all(p["Path"] == "/routines/dev/" == env["ROUTINE_ROLE_PATH"] for p in created)
    assert all(p["PermissionsBoundary"] == env["ROUTINE_ROLE_BOUNDARY_ARN"] for p in created)
    attached = {c.params["PolicyArn"] for c in iam if c.operation == "AttachRolePolicy"}
    assert attached == {env["EXECUTION_POLICY_ARN"]}
    passed = {r.resource for r in _requests(world, API, "iam:PassRole")}
    assert f"arn:aws:iam::{ACCOUNT}:role/routines/dev/{created[0]['RoleName']}" in passed
    for function in (WEBHOOK, RECORDER):
        assert not [c for c in world.calls[function] if c.prefix == "iam"], function
