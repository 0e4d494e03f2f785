"""Service integrations are written in the target's partition (issue #25, item 3): a
distributed Map's ItemReader (``arn:<partition>:states:::s3:getObject``) was hard-coded
to ``aws``, which Step Functions refuses in aws-cn and aws-us-gov."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from statemachines.compiler import compile_routine
from statemachines.emitter.scope import s3_get_object
from statemachines.options import CompileOptions

GOLDEN = Path(__file__).parents[1] / "statemachines" / "golden"
# The previous compiler's machines (--jsonpath) have ItemReaders (a loop over a list kept
# in S3, chunked loops); JSONata machines have none yet (docs/design/jsonata-engine.md).
JSONPATH = CompileOptions(query_language="JSONPath")
WITH_ITEM_READER = sorted(
    p.name.removesuffix(".routine.json")
    for p in GOLDEN.glob("*.routine.json")
    if "s3:getObject" in compile_routine(json.loads(p.read_text()), options=JSONPATH).definition
)
TARGETS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
# Every ARN in a definition: Lambda functions and service integrations.
ARN = re.compile(r'"(arn:[^":]*:[^"]*)"')


def test_the_integration_arn_follows_the_partition() -> None:
    assert s3_get_object("aws") == "arn:aws:states:::s3:getObject"
    assert s3_get_object("aws-cn") == "arn:aws-cn:states:::s3:getObject"
    assert s3_get_object("aws-us-gov") == "arn:aws-us-gov:states:::s3:getObject"


def test_the_corpus_has_item_readers() -> None:
    assert len(WITH_ITEM_READER) >= 2, WITH_ITEM_READER


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("case", WITH_ITEM_READER)
def test_every_arn_of_a_compiled_routine_is_in_the_targets_partition(case: str, partition: str) -> None:
    document = json.loads((GOLDEN / f"{case}.routine.json").read_text())
    options = CompileOptions(
        routine_id="r1",
        region=TARGETS[partition],
        account="111122223333",
        partition=partition,
        query_language="JSONPath",  # the emitter's ItemReaders (JSONata machines have none yet)
    )
    definition = compile_routine(document, options=options).definition
    arns = ARN.findall(definition)
    assert f"arn:{partition}:states:::s3:getObject" in arns
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
