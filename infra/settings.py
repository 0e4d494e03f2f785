"""What a deployer chooses, read once from CDK context (``cdk deploy -c stage=prod``).

Every value has a default that deploys; cdk.json or ``-c key=value`` override them. A
context value given on the command line is a string, so lists and mappings are accepted
as JSON text as well as real JSON in cdk.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from contract.errors import RoutinesError
from contract.names import DEFAULT_MAX_BODY_BYTES, DEFAULT_STAGE, check_stage


class SettingsError(RoutinesError, ValueError):
    """A context value that cannot be used, with the key that is wrong."""


def _parse(key: str, value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SettingsError(f"context '{key}': not valid JSON ({exc})") from None
    return value


def _int(key: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"context '{key}': {value!r} is not a whole number") from None
    if number < minimum:
        raise SettingsError(f"context '{key}': {number} is below the minimum {minimum}")
    return number


@dataclass(frozen=True)
class Settings:
    stage: str = DEFAULT_STAGE
    # False: no pip install at synth (the template is the same; the zip lacks dependencies).
    bundle: bool = True
    # Reserved concurrency per plugin function, with per-plugin overrides. None (the
    # default): unreserved, so a deploy fits any account's concurrency quota. Context
    # pluginConcurrency turns it on; Lambda keeps 100 unreserved, so what is reserved
    # plus 100 must fit the account's quota (11 functions at 20: 320).
    plugin_concurrency: int | None = None
    plugin_concurrency_overrides: dict[str, int] = field(default_factory=dict)
    # Plugin name → ARNs (or ARN patterns) its AWS actions may target, replacing the default.
    allowed_resources: dict[str, list[str]] = field(default_factory=dict)
    # SES identities (domains or addresses) ses-send-email may send from; none by default.
    ses_identities: list[str] = field(default_factory=list)
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    api_quota_per_day: int = 100_000
    # POST /hooks/{routineId}'s own throttle (every webhook routine of the stage shares
    # it), so webhook senders cannot use up what authenticated callers get.
    webhook_rate_limit: int = 10
    webhook_burst_limit: int = 20
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_retention_days: int = 30
    payload_expiry_days: int = 30
    mfa_required: bool = False

    @classmethod
    def of(cls, scope: Construct) -> Settings:
        def get(key: str) -> Any:
            return _parse(key, scope.node.try_get_context(key))

        stage = str(get("stage") or DEFAULT_STAGE)
        try:
            check_stage(stage)
        except ValueError as exc:
            raise SettingsError(f"context 'stage': {exc}") from None
        concurrency = get("pluginConcurrency")
        overrides: dict[str, int] = {}
        default: int | None = cls.plugin_concurrency
        if isinstance(concurrency, dict):
            overrides = {k: _int(f"pluginConcurrency.{k}", v, 1) for k, v in concurrency.items() if k != "*"}
            concurrency = concurrency.get("*", default)
        if concurrency is not None:
            default = (
                None if str(concurrency).lower() == "none" else _int("pluginConcurrency", concurrency, 1)
            )
        allowed = get("allowedResources") or {}
        if not isinstance(allowed, dict) or not all(isinstance(v, list) for v in allowed.values()):
            raise SettingsError("context 'allowedResources': expected {plugin name: [ARN, ...]}")
        identities = get("sesIdentities") or []
        if isinstance(identities, str):
            identities = [i for i in identities.split(",") if i]
        numbers = {
            key: _int(key, get(key), minimum)
            for key, minimum in (
                ("apiRateLimit", 1),
                ("apiBurstLimit", 1),
                ("apiQuotaPerDay", 1),
                ("webhookRateLimit", 1),
                ("webhookBurstLimit", 1),
                ("maxBodyBytes", 1),
                ("logRetentionDays", 1),
                ("payloadExpiryDays", 1),
            )
            if get(key) is not None
        }
        return cls(
            stage=stage,
            bundle=str(get("routines:bundle")).lower() != "false",
            plugin_concurrency=default,
            plugin_concurrency_overrides=overrides,
            allowed_resources={k: [str(a) for a in v] for k, v in allowed.items()},
            ses_identities=[str(i) for i in identities],
            api_rate_limit=numbers.get("apiRateLimit", cls.api_rate_limit),
            api_burst_limit=numbers.get("apiBurstLimit", cls.api_burst_limit),
            api_quota_per_day=numbers.get("apiQuotaPerDay", cls.api_quota_per_day),
            webhook_rate_limit=numbers.get("webhookRateLimit", cls.webhook_rate_limit),
            webhook_burst_limit=numbers.get("webhookBurstLimit", cls.webhook_burst_limit),
            max_body_bytes=numbers.get("maxBodyBytes", cls.max_body_bytes),
            log_retention_days=numbers.get("logRetentionDays", cls.log_retention_days),
            payload_expiry_days=numbers.get("payloadExpiryDays", cls.payload_expiry_days),
            mfa_required=str(get("mfa")).lower() == "required",
        )

    def concurrency_of(self, plugin: str) -> int | None:
        return self.plugin_concurrency_overrides.get(plugin, self.plugin_concurrency)
