"""Express machines in the synthesized stack (issue #28 item 2): the record-writing
permission of the execution role, the log group activation gives Express machines, the
schedule of the recorder's sweep, and the index it reads — checked against what the
compiler and activation actually produce for the deployed names."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from contract.names import ENV_EXECUTION_LOG_GROUP_ARN, ENV_EXECUTION_ROLE_ARN, EXECUTIONS_BY_PENDING
from functions.activation import machines
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from plugins.runtime.aws import reset_clients
from statemachines.compiler import compile_routine
from statemachines.options import CompileOptions
from tests.infra.access import ACCOUNT, REGION, Deployment, Request, allowed
from tests.infra.conftest import Synth

API, RECORDER = "routines-dev-api", "routines-dev-recorder"
ROUTINE = {
    "name": "hook",
    "trigger": {"type": "webhook"},
    "nodes": [{"id": "greet", "plugin": "transform", "parameters": {"fields": {"who": "{{ trigger.who }}"}}}],
    "connections": [],
}


def _execution_role(deployment: Deployment) -> tuple[str, list[dict[str, Any]]]:
    [logical] = [
        k
        for k, r in deployment.of_type("AWS::IAM::Role").items()
        if "states.amazonaws.com" in json.dumps(r["AssumeRolePolicyDocument"])
    ]
    return logical, deployment.role_statements(logical)  # its execution policy


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _record_tasks(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in definition["States"].values() if s.get("Resource", "").endswith(":dynamodb:updateItem")
    ]


def test_the_execution_role_may_write_the_records_an_express_machine_writes_and_nothing_else(
    synth: Synth,
) -> None:
    deployment = Deployment(synth.template)
    _, statements = _execution_role(deployment)
    compiled = compile_routine(ROUTINE, options=CompileOptions(routine_id="hook", stage="dev"))
    assert compiled.report["execution"]["type"] == "express"
    tasks = _record_tasks(compiled.asl)
    assert len(tasks) == 3  # RUNNING, SUCCEEDED, FAILED
    tables = {task["Arguments"]["TableName"] for task in tasks}
    executions = deployment.environment(API)["EXECUTIONS_TABLE"]
    assert tables == {executions} == {"routines-dev-executions"}
    for action in ("dynamodb:UpdateItem",):
        assert allowed(statements, Request(action, _table_arn(executions)))
    # Only that action, only that table: not the other tables, not deletes or puts.
    for table in ("routines-dev-routines", "routines-dev-node-logs", "routines-dev-approvals"):
        assert not allowed(statements, Request("dynamodb:UpdateItem", _table_arn(table)))
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query"):
        assert not allowed(statements, Request(action, _table_arn(executions)))


def test_the_recorder_sweeps_every_minute_and_may_read_the_pending_index(synth: Synth) -> None:
    deployment = Deployment(synth.template)
    recorder_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{RECORDER}"
    scheduled = [
        rule
        for rule in deployment.of_type("AWS::Events::Rule").values()
        if rule.get("ScheduleExpression") == "rate(1 minute)"
    ]
    assert len(scheduled) == 1
    assert [deployment.resolve(t["Arn"]) for t in scheduled[0]["Targets"]] == [recorder_arn]
    # EventBridge may invoke the recorder for that rule.
    permissions = [
        p
        for p in deployment.of_type("AWS::Lambda::Permission").values()
        if p["Principal"] == "events.amazonaws.com" and deployment.resolve(p["FunctionName"]) == recorder_arn
    ]
    assert len(permissions) >= 2  # status changes and the sweep
    [table] = [
        t
        for t in deployment.of_type("AWS::DynamoDB::GlobalTable").values()
        if t["TableName"] == "routines-dev-executions"
    ]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert [k["AttributeName"] for k in indexes[EXECUTIONS_BY_PENDING.name]["KeySchema"]] == [
        "pending",
        "startKey",
    ]
    index_arn = _table_arn("routines-dev-executions") + f"/index/{EXECUTIONS_BY_PENDING.name}"
    recorder = deployment.statements(RECORDER)
    assert allowed(recorder, Request("dynamodb:Query", index_arn))
    assert allowed(recorder, Request("dynamodb:PutItem", _table_arn("routines-dev-executions")))


@pytest.fixture
def deployed_settings(synth: Synth) -> Iterator[Settings]:
    """Activation's settings as the API function gets them in the stack, on moto."""
    environment = Deployment(synth.template).environment(API)
    keys = (ENV_EXECUTION_ROLE_ARN, ENV_EXECUTION_LOG_GROUP_ARN, "STAGE")
    saved = {k: os.environ.get(k) for k in (*keys, "AWS_DEFAULT_REGION")}
    os.environ.update({k: environment[k] for k in keys})
    os.environ["AWS_DEFAULT_REGION"] = REGION
    try:
        with mock_aws():
            reset_clients()
            yield Settings.from_env()
    finally:
        reset_clients()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_activation_creates_express_machines_logging_to_the_stack_log_group_and_replaces_on_type_change(
    synth: Synth, deployed_settings: Settings
) -> None:
    import boto3

    log_groups = [
        g["LogGroupName"]
        for g in Deployment(synth.template).of_type("AWS::Logs::LogGroup").values()
        if str(g.get("LogGroupName", "")).startswith("/aws/vendedlogs/states/")
    ]
    assert log_groups == ["/aws/vendedlogs/states/routines-dev-executions"]
    assert deployed_settings.log_group_arn == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/routines-dev-executions:*"
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=deployed_settings.execution_role_arn.rsplit("/", 1)[1], AssumeRolePolicyDocument="{}"
    )
    express = compile_routine(ROUTINE, options=CompileOptions(routine_id="hook", stage="dev"))
    name = deployed_settings.machine_name("hook")
    with Rollback() as rollback:
        arn = machines.deploy(deployed_settings, name, express.definition, {"routines:owner": "u"}, rollback)
        rollback.commit()
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "EXPRESS"
    destinations = described["loggingConfiguration"]["destinations"]
    assert destinations == [{"cloudWatchLogsLogGroup": {"logGroupArn": deployed_settings.log_group_arn}}]
    assert described["roleArn"] == deployed_settings.execution_role_arn
    # A new version that must be Standard (an approval): the machine is replaced, same ARN.
    standard = compile_routine(
        {**ROUTINE, "execution": "standard"}, options=CompileOptions(routine_id="hook", stage="dev")
    )
    with Rollback() as rollback:
        assert (
            machines.deploy(deployed_settings, name, standard.definition, {"routines:owner": "u"}, rollback)
            == arn
        )
        rollback.commit()
    again = sfn.describe_state_machine(stateMachineArn=arn)
    assert again["type"] == "STANDARD" and again["definition"] == standard.definition
    assert {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]} == {
        "routines:owner": "u"
    }
    # A failed activation after a replacement puts the replaced (Standard) machine back.
    with pytest.raises(RuntimeError), Rollback() as rollback:
        machines.deploy(deployed_settings, name, express.definition, {"routines:owner": "u"}, rollback)
        assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"
        raise RuntimeError("a later step failed")
    restored = sfn.describe_state_machine(stateMachineArn=arn)
    assert restored["type"] == "STANDARD" and restored["definition"] == standard.definition
