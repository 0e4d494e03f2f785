"""CDK assertions on the synthesized stack, and cfn-lint over the template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from infra.names import EXECUTIONS_TABLE, NODE_LOGS_TABLE, ROUTINES_TABLE
from infra.stack import RoutinesStack


@pytest.fixture(scope="module")
def template() -> Template:
    app = cdk.App(context={"routines:bundle": "false"})  # the template, not the zip
    return Template.from_stack(RoutinesStack(app, "Routines"))


@pytest.mark.parametrize("spec", [ROUTINES_TABLE, EXECUTIONS_TABLE, NODE_LOGS_TABLE])
def test_tables_use_the_shared_key_names(template: Template, spec: Any) -> None:
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"KeySchema": keys, "BillingMode": "PAY_PER_REQUEST"}
    )


def test_payload_bucket_is_private_and_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "RestrictPublicBuckets": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
            },
            "BucketEncryption": Match.any_value(),
        },
    )


def test_template_passes_cfn_lint(template: Template, tmp_path: Path) -> None:
    from cfnlint.api import lint_all

    path = tmp_path / "template.json"
    path.write_text(json.dumps(template.to_json()))
    findings = lint_all(path.read_text())
    assert [str(f) for f in findings if f.rule.id.startswith("E")] == []


def test_one_function_per_plugin_with_the_local_runtimes_handler_strings(template: Template) -> None:
    from infra.lambdas import lambda_functions
    from plugins.sdk import default_registry

    expected = lambda_functions(default_registry())
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": "python3.12"}})
    deployed = {f["Properties"]["FunctionName"]: f["Properties"]["Handler"] for f in functions.values()}
    assert deployed == {name: handler for name, (_, handler) in expected.items()}
    assert "routines-http-request" in deployed and "routines-sys-evaluate" in deployed


def test_plugin_functions_get_their_declared_aws_actions_only(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    by_role: dict[str, set[str]] = {}
    for policy in policies.values():
        role = policy["Properties"]["Roles"][0]["Ref"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            by_role.setdefault(role, set()).update([actions] if isinstance(actions, str) else actions)
    sqs_roles = [role for role, actions in by_role.items() if "sqs:SendMessage" in actions]
    assert len(sqs_roles) == 1 and sqs_roles[0].startswith("PluginsSqsSend")
    assert all(
        "sns:Publish" not in actions
        for role, actions in by_role.items()
        if not role.startswith("PluginsSnsPublish")
    )
