"""`routines compile` output that can be deployed: the target's ARNs, or placeholders for
DefinitionSubstitutions (issue #9, item 12)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.cli.main import main
from tests.conftest import ROOT

APPROVAL = str(ROOT / "examples" / "approval-flow.json")  # plugins, evaluator and notifier
TARGET = ["--region", "eu-west-1", "--account", "111122223333", "--partition", "aws-cn", "--stage", "prod"]


def compile_(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["compile", APPROVAL, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def lambda_arns(definition: Any) -> list[str]:
    """Every Lambda ARN of a definition: task Resources and the notifier's FunctionName."""
    text = json.dumps(definition)
    return re.findall(r'"(arn:[^"]*:lambda:[^"]*:function:[^"]*|\$\{[^"]*\})"', text)


def test_compile_writes_the_targets_arns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = compile_(capsys, *TARGET)
    assert code == 0
    arns = lambda_arns(json.loads(out))
    # static-data, notifier, evaluator (also the large-value fallback of a Choice), http-request, transform
    assert len(set(arns)) == 5
    prefix = "arn:aws-cn:lambda:eu-west-1:111122223333:function:routines-prod-"
    assert all(arn.startswith(prefix) for arn in arns), arns
    assert "123456789012" not in out and "us-east-1" not in out
    assert '"arn:aws-cn:states:::lambda:invoke.waitForTaskToken"' in out and "arn:aws:" not in out


def test_compile_without_a_target_names_the_local_runtime(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = compile_(capsys)
    assert code == 0
    arns = lambda_arns(json.loads(out))
    assert arns and all(
        a.startswith("arn:aws:lambda:us-east-1:123456789012:function:routines-") for a in arns
    )


def test_substitutions_leave_every_lambda_arn_to_the_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = compile_(capsys, "--substitutions")
    assert code == 0
    arns = lambda_arns(json.loads(out))
    assert len(set(arns)) == 5 and all(arn.startswith("${FunctionArn_") for arn in arns), arns
    assert "123456789012" not in out and "us-east-1" not in out
    code, report_out, _ = compile_(capsys, "--substitutions", "--report")
    needed = json.loads(report_out)["substitutions"]
    assert needed == {
        "FunctionArn_http_request": "http-request",
        "FunctionArn_static_data": "static-data",
        "FunctionArn_sys_approval": "sys-approval",
        "FunctionArn_sys_evaluate": "sys-evaluate",
        "FunctionArn_transform": "transform",
    }
    # Placeholders count: the plugins' Tasks, the approval's, and the evaluator that
    # decides the if when its operand was offloaded to S3.
    assert json.loads(report_out)["lambdaTasks"] == 5
    # Filled in as CloudFormation would, it is exactly the definition compiled for that target
    # (the partition is a flag, not a placeholder: it also names the approval integration).
    _, targeted, _ = compile_(capsys, *TARGET)
    _, filled, _ = compile_(capsys, "--substitutions", "--partition", "aws-cn")
    for key, plugin in needed.items():
        filled = filled.replace(
            "${" + key + "}", f"arn:aws-cn:lambda:eu-west-1:111122223333:function:routines-prod-{plugin}"
        )
    assert json.loads(filled) == json.loads(targeted)
    with mock_aws():
        client = boto3.client("stepfunctions", region_name="eu-west-1")
        role = "arn:aws:iam::111122223333:role/routines"
        client.create_state_machine(name="routine", definition=filled, roleArn=role)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--account", "12"], "12-digit"),
        (["--region", "Europe"], "AWS region"),
        (["--partition", "azure"], "partition"),
        (["--stage", "Prod!"], "stage"),
    ],
)
def test_bad_target_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        compile_(capsys, *argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_substitutions_and_a_target_contradict_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = compile_(capsys, "--substitutions", "--region", "eu-west-1")
    assert code == 2 and out == ""
    assert "--region" in err
