"""Assertions on the synthesized stack (one synthesis per session: see conftest)."""

from __future__ import annotations

import json
from typing import Any

from contract.names import (
    IDEMPOTENCY_TABLE,
    PLUGIN_LEDGER_TABLE,
    TABLES,
    function_name,
    table_name,
)
from plugins.lambdas import lambda_functions
from plugins.sdk import default_registry
from tests.infra.conftest import Synth

CONTROL_PLANE = {"routines-dev-api", "routines-dev-webhook", "routines-dev-recorder"}
# Actions that accept no resource ARN: the only ones allowed on Resource "*".
NO_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(synth: Synth) -> dict[str, list[dict[str, Any]]]:
    """Role logical id → its policy statements (managed policies attached to it too)."""
    out: dict[str, list[dict[str, Any]]] = {}
    policies = {**synth.resources("AWS::IAM::Policy"), **synth.resources("AWS::IAM::ManagedPolicy")}
    for policy in policies.values():
        for role in policy["Properties"].get("Roles", []):
            out.setdefault(role["Ref"], []).extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def _functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """Function name → properties."""
    return {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in synth.resources("AWS::Lambda::Function").values()
    }


def _role_of(synth: Synth, name: str) -> str:
    return str(_functions(synth)[name]["Role"]["Fn::GetAtt"][0])


def _actions_on(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [r for s in statements if action in _list(s["Action"]) for r in _list(s["Resource"])]


def test_every_registered_plugin_has_its_function(synth: Synth) -> None:
    expected = {
        function_name(name, "dev"): handler for name, handler in lambda_functions(default_registry()).values()
    }
    deployed = {name: p["Handler"] for name, p in _functions(synth).items() if name not in CONTROL_PLANE}
    assert deployed == expected
    assert "routines-dev-http-request" in deployed and "routines-dev-sys-evaluate" in deployed


def test_functions_run_arm64_on_python_3_13_with_tracing_and_retained_logs(synth: Synth) -> None:
    # 3.13, not the newest (3.14): jsonatapy, which every plugin Lambda evaluates JSONata
    # with, ships no cp314 wheels (infra/runtime.py).
    retention = {
        k: v["Properties"].get("RetentionInDays") for k, v in synth.resources("AWS::Logs::LogGroup").items()
    }
    for name, props in _functions(synth).items():
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert retention[props["LoggingConfig"]["LogGroup"]["Ref"]] == 30, name


def test_no_wildcard_actions_and_no_star_resource_where_an_arn_exists(synth: Synth) -> None:
    for role, statements in _statements(synth).items():
        for statement in statements:
            actions = _list(statement["Action"])
            assert not [a for a in actions if "*" in a], f"{role}: wildcard action in {actions}"
            if "*" in _list(statement["Resource"]):
                assert set(actions) <= NO_RESOURCE_ACTIONS, f"{role}: {actions} on Resource *"


def test_plugins_touch_only_payload_objects_their_secret_prefix_and_allowed_resources(synth: Synth) -> None:
    statements = _statements(synth)
    for name in _functions(synth):
        if name in CONTROL_PLANE:
            continue
        mine = statements[_role_of(synth, name)]
        s3 = [a for s in mine for a in _list(s["Action"]) if a.startswith("s3:")]
        assert sorted(s3) == ["s3:GetObject", "s3:PutObject"], name
        assert "/payloads/*" in json.dumps(_actions_on(mine, "s3:PutObject"))
        # The code node's function reads no secret (tests/infra/test_code_function.py).
        assert json.dumps(_actions_on(mine, "secretsmanager:GetSecretValue")).count(
            "secret:routines/dev/secrets/*"
        ) == (0 if name == "routines-dev-code" else 1), name
    sqs = statements[_role_of(synth, "routines-dev-sqs-send")]
    assert "routines-dev-user-*" in json.dumps(_actions_on(sqs, "sqs:SendMessage"))
    plugins = {_role_of(synth, n) for n in _functions(synth) if n not in CONTROL_PLANE}
    senders = [r for r in plugins if _actions_on(statements[r], "sqs:SendMessage")]
    assert senders == [_role_of(synth, "routines-dev-sqs-send")]
    ses = statements[_role_of(synth, "routines-dev-ses-send-email")]
    assert _actions_on(ses, "ses:SendEmail") == [], "no SES identity is allowed unless the deployer names one"


def test_no_function_reserves_concurrency_unless_the_deployer_asks(synth: Synth) -> None:
    # 11 plugin functions reserving 20 each need a 320 concurrency quota: new accounts
    # have less, and `cdk deploy` failed there (context pluginConcurrency turns it on).
    reserved = {
        n: p["ReservedConcurrentExecutions"]
        for n, p in _functions(synth).items()
        if "ReservedConcurrentExecutions" in p
    }
    assert reserved == {}


def test_execution_role_invokes_only_product_functions_and_only_the_api_may_pass_it(synth: Synth) -> None:
    roles = synth.resources("AWS::IAM::Role")
    [execution] = [
        k
        for k, r in roles.items()
        if "states.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    statements = _statements(synth)
    invoked = {r["Fn::GetAtt"][0] for r in _actions_on(statements[execution], "lambda:InvokeFunction")}
    plugin_functions = {
        k
        for k, f in synth.resources("AWS::Lambda::Function").items()
        if f["Properties"]["FunctionName"] not in CONTROL_PLANE
    }
    assert invoked == plugin_functions
    passers = [
        role
        for role, s in statements.items()
        if {"Fn::GetAtt": [execution, "Arn"]} in _actions_on(s, "iam:PassRole")
    ]
    assert passers == [_role_of(synth, "routines-dev-api")]


def test_every_route_but_webhooks_and_docs_needs_a_cognito_token(synth: Synth) -> None:
    resources = synth.resources("AWS::ApiGateway::Resource")

    def path(ref: dict[str, Any]) -> str:
        if "Ref" not in ref:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path(props['ParentId'])}/{props['PathPart']}"

    public, secured = set(), set()
    for method in synth.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        route = f"{props['HttpMethod']} {path(props['ResourceId'])}"
        if props.get("AuthorizationType") == "COGNITO_USER_POOLS" and "AuthorizerId" in props:
            secured.add(route)
        else:
            public.add(route)
    assert public == {"POST /hooks/{routineId}", "GET /openapi.json", "GET /docs"}
    assert {"ANY /routines", "ANY /routines/{proxy+}", "ANY /executions/{proxy+}", "ANY /plugins"} <= secured


def _method_settings(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    [stage] = synth.resources("AWS::ApiGateway::Stage").values()
    return {(m["ResourcePath"], m["HttpMethod"]): m for m in stage["Properties"]["MethodSettings"]}


def test_api_stage_throttles_logs_and_traces(synth: Synth) -> None:
    [stage] = synth.resources("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True and "DestinationArn" in props["AccessLogSetting"]
    settings = _method_settings(synth)[("/*", "*")]
    assert settings["ThrottlingRateLimit"] == 50 and settings["ThrottlingBurstLimit"] == 100
    [plan] = synth.resources("AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Quota"] == {"Limit": 100_000, "Period": "DAY"}


def test_webhooks_have_their_own_method_throttle(synth: Synth) -> None:
    # One noisy webhook sender must not use up what authenticated callers get.
    settings = _method_settings(synth)
    assert set(settings) == {("/*", "*"), ("/~1hooks~1{routineId}", "POST")}
    hooks = settings[("/~1hooks~1{routineId}", "POST")]
    assert (hooks["ThrottlingRateLimit"], hooks["ThrottlingBurstLimit"]) == (10, 20)
    # A method's settings replace the stage's for it: logging and metrics stay on.
    assert hooks["LoggingLevel"] == "ERROR" and hooks["MetricsEnabled"] is True
    # The path names the webhook route the API has (not a path of its own making).
    resources = synth.resources("AWS::ApiGateway::Resource")
    parts = {r["Properties"]["PathPart"] for r in resources.values()}
    assert {"hooks", "{routineId}"} <= parts


def test_recorder_gets_only_this_stages_status_events_with_retries_and_a_watched_dlq(synth: Synth) -> None:
    recorder = _functions(synth)["routines-dev-recorder"]
    dlq = recorder["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    # Rules on events (the Express sweep's is a schedule: tests/infra/test_express_stack.py).
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"]
    ]
    [to_recorder] = [r for r in rules if "status" not in r["EventPattern"]["detail"]]
    pattern = to_recorder["EventPattern"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert "stateMachine:routines-dev-" in json.dumps(pattern["detail"]["stateMachineArn"][0]["prefix"])
    [target] = to_recorder["Targets"]
    assert (
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] == dlq
        and target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    )
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]
    watched = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    assert [a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in watched] == [dlq]
    assert all(a["AlarmActions"] for a in alarms)


def test_tables_come_from_the_shared_specs_with_pitr(synth: Synth) -> None:
    tables = {
        t["Properties"]["TableName"]: t["Properties"]
        for t in synth.resources("AWS::DynamoDB::GlobalTable").values()
    }
    specs = (*TABLES, IDEMPOTENCY_TABLE, PLUGIN_LEDGER_TABLE)
    assert set(tables) == {table_name(spec, "dev") for spec in specs}
    for spec in specs:
        props = tables[table_name(spec, "dev")]
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        assert props["KeySchema"] == keys
        assert [i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])] == [
            i.name for i in spec.indexes
        ]
        assert props["Replicas"][0]["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        ttl = props.get("TimeToLiveSpecification", {}).get("AttributeName")
        assert ttl == spec.ttl


def test_payload_bucket_is_private_encrypted_tls_only_and_expires(synth: Synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    [payloads] = [b["Properties"] for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert payloads["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "BucketEncryption" in payloads
    assert payloads["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    policies = json.dumps(list(synth.resources("AWS::S3::BucketPolicy").values()))
    assert '"aws:SecureTransport": "false"' in policies


def test_the_approval_notifier_knows_the_api_url(synth: Synth) -> None:
    notifier = [
        r["Properties"]
        for r in synth.resources("AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName", "").endswith("sys-approval")
    ]
    assert len(notifier) == 1
    assert "API_BASE_URL" in notifier[0]["Environment"]["Variables"]
