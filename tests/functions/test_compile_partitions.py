"""Service integrations are written in the target's partition (issue #25, item 3): an
integration ARN (``arn:<partition>:states:::…``) hard-coded to ``aws`` is refused by Step
Functions in aws-cn and aws-us-gov."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from statemachines.compiler import compile_routine
from statemachines.options import CompileOptions

GOLDEN = Path(__file__).parents[1] / "statemachines" / "golden"
CASES = sorted(p.name.removesuffix(".routine.json") for p in GOLDEN.glob("*.routine.json"))
TARGETS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
# Every ARN in a definition: Lambda functions and service integrations.
ARN = re.compile(r'"(arn:[^":]*:[^"]*)"')
INTEGRATION = re.compile(r"^arn:[^:]+:states:::")


def _compiled(case: str, partition: str) -> str:
    document = json.loads((GOLDEN / f"{case}.routine.json").read_text())
    options = CompileOptions(
        routine_id="r1", region=TARGETS[partition], account="111122223333", partition=partition
    )
    return compile_routine(document, options=options).definition


def test_the_corpus_has_service_integrations() -> None:
    with_integrations = [
        c for c in CASES if any(INTEGRATION.match(a) for a in ARN.findall(_compiled(c, "aws")))
    ]
    assert len(with_integrations) >= 2, with_integrations


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("case", CASES)
def test_every_arn_of_a_compiled_routine_is_in_the_targets_partition(case: str, partition: str) -> None:
    arns = ARN.findall(_compiled(case, partition))
    assert arns
    assert [a for a in arns if not a.startswith(f"arn:{partition}:")] == []


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_the_report_counts_the_same_lambda_tasks_in_every_partition(partition: str) -> None:
    document = json.loads((GOLDEN / "approval_timeout.routine.json").read_text())
    options = CompileOptions(
        routine_id="r1", region=TARGETS[partition], account="111122223333", partition=partition
    )
    report = compile_routine(document, options=options).report
    aws = compile_routine(document, options=CompileOptions(routine_id="r1")).report
    assert report["lambdaTasks"] == aws["lambdaTasks"] > 0
