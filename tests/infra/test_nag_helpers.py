"""Every wildcard a product role gets carries a reason, as the exact cdk-nag finding id."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from infra.nag import allow, nag_text


def _role() -> tuple[cdk.Stack, iam.Role]:
    stack = cdk.Stack(cdk.App(), "S")
    return stack, iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


def test_a_wildcard_without_a_reason_is_refused() -> None:
    _, role = _role()
    with pytest.raises(ValueError, match="S/R: 'arn:aws:s3:::b/\\*' has a wildcard and no reason"):
        allow(role, ["s3:GetObject"], ["arn:aws:s3:::b/*"])


def test_exact_arns_need_no_reason() -> None:
    _, role = _role()
    allow(role, ["s3:GetObject"], ["arn:aws:s3:::b/key.json"])


def test_tokens_are_named_as_cdk_nag_names_them() -> None:
    stack, _ = _role()
    bucket = s3.Bucket(stack, "B")
    logical = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    assert nag_text(stack.resolve(bucket.arn_for_objects("p/*"))) == f"<{logical}.Arn>/p/*"
    assert nag_text(stack.resolve(f"arn:{stack.partition}:sqs:{stack.region}:x")) == (
        "arn:<AWS::Partition>:sqs:<AWS::Region>:x"
    )
