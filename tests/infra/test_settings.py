"""Deployer settings from CDK context: defaults that deploy, precise errors otherwise."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk

from infra.settings import Settings, SettingsError


def settings(**context: Any) -> Settings:
    return Settings.of(cdk.App(context=context))


def test_defaults() -> None:
    s = settings()
    assert (s.stage, s.bundle, s.mfa_required) == ("dev", True, False)
    assert s.allowed_resources == {} and s.ses_identities == []
    assert (s.webhook_rate_limit, s.webhook_burst_limit) == (10, 20)


def test_reserved_concurrency_is_opt_in() -> None:
    # Reserving by default made `cdk deploy` fail on accounts below a 320 concurrency quota.
    assert settings().plugin_concurrency is None and settings().concurrency_of("transform") is None
    on = settings(pluginConcurrency="20")
    assert on.concurrency_of("transform") == 20 and on.concurrency_of("http-request") == 20
    only = settings(pluginConcurrency='{"http-request": 100}')
    assert only.concurrency_of("http-request") == 100 and only.concurrency_of("transform") is None


def test_command_line_strings_are_parsed() -> None:
    s = settings(
        stage="prod",
        pluginConcurrency='{"*": 5, "http-request": 50}',
        allowedResources='{"sqs-send": ["arn:aws:sqs:eu-west-1:111122223333:orders"]}',
        sesIdentities="example.com,ops@example.org",
        apiRateLimit="10",
        webhookRateLimit="5",
        webhookBurstLimit="8",
        mfa="required",
    )
    assert s.stage == "prod" and s.api_rate_limit == 10 and s.mfa_required
    assert (s.webhook_rate_limit, s.webhook_burst_limit) == (5, 8)
    assert s.concurrency_of("http-request") == 50 and s.concurrency_of("transform") == 5
    assert s.allowed_resources == {"sqs-send": ["arn:aws:sqs:eu-west-1:111122223333:orders"]}
    assert s.ses_identities == ["example.com", "ops@example.org"]


def test_concurrency_can_be_left_unreserved() -> None:
    assert settings(pluginConcurrency="none").concurrency_of("transform") is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "Prod-1"}, "context 'stage'"),
        ({"pluginConcurrency": "many"}, "context 'pluginConcurrency': 'many' is not a whole number"),
        ({"pluginConcurrency": "0"}, "below the minimum 1"),
        ({"allowedResources": '{"sqs-send": "arn"}'}, "context 'allowedResources'"),
        ({"allowedResources": "{oops"}, "not valid JSON"),
        ({"apiBurstLimit": "-3"}, "context 'apiBurstLimit'"),
        ({"webhookRateLimit": "0"}, "context 'webhookRateLimit'"),
    ],
)
def test_bad_values_name_their_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**context)
