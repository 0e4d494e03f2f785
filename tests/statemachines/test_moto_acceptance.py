"""Every compiled example and golden routine is accepted by moto's Step Functions parser
(the same ASL grammar the local runtime executes)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.local import LocalAWS
from statemachines.compiler import compile_routine
from tests.conftest import EXAMPLES

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.routine.json"))
ROLE = "arn:aws:iam::123456789012:role/routines"


@pytest.mark.parametrize("path", EXAMPLES + GOLDEN, ids=lambda p: p.name)
def test_moto_accepts_the_definition(path: Path) -> None:
    definition = compile_routine(json.loads(path.read_text())).definition
    # The local runtime's moto: its guarded seams installed (moto 5.2.6 refuses a
    # distributed Map's EXPRESS children, which functions/local/express_children.py runs
    # as STANDARD, leaving the stored definition as AWS gets it).
    with LocalAWS() as aws:
        client = aws.client("stepfunctions")
        arn = client.create_state_machine(name="routine", definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
        stored = client.describe_state_machine(stateMachineArn=arn)["definition"]
    assert json.loads(stored) == json.loads(definition)


def test_moto_rejects_what_is_not_asl() -> None:
    # The check above is only worth something if moto really parses definitions.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        with pytest.raises(client.exceptions.ClientError, match="ASLParserException"):
            client.create_state_machine(
                name="bad", definition='{"StartAt": "x", "States": {"x": {"Type": "Bogus"}}}', roleArn=ROLE
            )
