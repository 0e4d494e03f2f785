"""cdk-nag (AwsSolutions + Serverless) and cfn-lint over the synthesized stack."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import CANARY, STACK, Synth


def _violations(synth: Synth) -> list[tuple[str, str, str]]:
    return [
        (report["pluginName"], violation["ruleName"], construct["constructPath"])
        for report in synth.report["pluginReports"]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]


def test_cdk_nag_reports_nothing_unacknowledged_in_the_stack(synth: Synth) -> None:
    violations = _violations(synth)
    canary = {(pack, rule.split("[")[0]) for pack, rule, path in violations if path.startswith(f"{CANARY}/")}
    # The canary's unprotected queue proves both packs ran over this synthesis.
    assert {("AwsSolutions", "AwsSolutions-SQS4"), ("Serverless", "Serverless-SQSRedrivePolicy")} <= canary
    assert [v for v in violations if v[2].startswith(f"{STACK}/")] == []


def _acknowledgments(synth: Synth) -> list[dict[str, Any]]:
    return [
        rule
        for resource in synth.template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_every_acknowledged_finding_has_a_reason(synth: Synth) -> None:
    acknowledged = _acknowledgments(synth)
    assert acknowledged, "the packs write acknowledgments into the template metadata"
    assert all(len(rule["reason"]) > 20 for rule in acknowledged), [
        r for r in acknowledged if len(r["reason"]) <= 20
    ]


def test_no_finding_is_acknowledged_for_the_whole_stack(synth: Synth) -> None:
    # acknowledgments sit on the resource they cover, never on the stack
    [stack_metadata] = [synth.template.get("Metadata", {})]
    assert "cdk_nag" not in json.dumps(stack_metadata)


# Commercial regions; cfn-lint's all-regions mode also tries China, where Cognito user
# pools do not exist.
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def test_template_passes_cfn_lint(synth: Synth) -> None:
    from cfnlint.api import lint

    findings = lint(json.dumps(synth.template), regions=REGIONS)
    assert [str(f) for f in findings if f.rule.id.startswith("E")] == []
