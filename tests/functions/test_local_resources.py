"""Local secrets and resources, and the errors users see from `routines run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.cli.main import main
from functions.local import LocalAWS, run_routine
from functions.local.errors import clean_error
from functions.local.resources import Resource, resources_of
from tests.conftest import link, routine
from tests.functions.conftest import Recorder

QUEUE = "https://sqs.eu-central-1.amazonaws.com/123456789012/orders"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ops-alerts"

AWS_NODES = routine(
    {"id": "queue", "plugin": "sqs-send", "parameters": {"queueUrl": QUEUE, "messageBody": {"id": 1}}},
    {"id": "topic", "plugin": "sns-publish", "parameters": {"topicArn": TOPIC, "message": "hi"}},
    {
        "id": "table",
        "plugin": "dynamodb-put",
        "parameters": {"tableName": "orders", "item": {"orderId": "o-1", "total": 3}},
    },
    {
        "id": "bus",
        "plugin": "eventbridge-put",
        "parameters": {"eventBusName": "shop", "source": "s", "detailType": "d", "detail": {"a": 1}},
    },
    {
        "id": "dynamic",
        "plugin": "dynamodb-put",
        "parameters": {"tableName": "t-{{ trigger.x }}", "item": {"pk": "1"}},
    },
)


def test_the_resources_a_routine_names_literally_are_found() -> None:
    assert resources_of(AWS_NODES) == [
        Resource("queue", "orders", "eu-central-1"),
        Resource("topic", "ops-alerts", "eu-west-1"),
        Resource("table", "orders", key="orderId"),
        Resource("bus", "shop"),
    ]
    conditional = routine(
        {
            "id": "t",
            "plugin": "dynamodb-put",
            "parameters": {
                "tableName": "x",
                "item": {"a": 1, "pk": "k"},
                "conditionExpression": "attribute_not_exists(pk)",
            },
        }
    )
    assert resources_of(conditional) == [Resource("table", "x", key="pk")]


def test_aws_nodes_reach_resources_created_in_the_regions_they_name(aws: LocalAWS) -> None:
    doc = {**AWS_NODES, "nodes": AWS_NODES["nodes"][:4]}
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.nodes
    sqs = boto3.client("sqs", region_name="eu-central-1")
    messages = sqs.receive_message(QueueUrl=QUEUE)["Messages"]
    assert json.loads(messages[0]["Body"]) == {"id": 1}
    topics = boto3.client("sns", region_name="eu-west-1").list_topics()["Topics"]
    assert {"TopicArn": TOPIC} in topics
    item = aws.client("dynamodb").get_item(TableName="orders", Key={"orderId": {"S": "o-1"}})["Item"]
    assert item["total"] == {"N": "3"}
    assert result.nodes["bus"]["output"]["eventId"]
    # A second run finds them in place.
    assert run_routine(aws, doc).status == "SUCCEEDED"


def test_secrets_given_on_the_command_line_reach_the_plugin(
    tmp_path: Path, http: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http.respond("/me", (200, {"ok": True}))
    doc = routine(
        {
            "id": "call",
            "plugin": "http-request",
            "parameters": {"url": url, "headers": {"Authorization": "Bearer {{ secrets.api.token }}"}},
        }
    )
    path = tmp_path / "call.json"
    path.write_text(json.dumps(doc))
    assert main(["run", "--json", "--secret", 'api={"token": "t0k3n"}', str(path)]) == 0
    assert http.requests[-1]["headers"]["Authorization"] == "Bearer t0k3n"
    out = capsys.readouterr().out
    assert "t0k3n" not in out, "a secret value leaked into the report"
    assert main(["run", "--secret", "no-equals-sign", str(path)]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


def test_a_secret_changed_between_runs_is_read_fresh(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/me", (200, {"ok": True}))
    doc = routine(
        {
            "id": "call",
            "plugin": "http-request",
            "parameters": {"url": url, "headers": {"X-Key": "{{ secrets.key }}"}},
        }
    )
    for value in ("one", "two"):
        aws.put_secret("key", value)
        assert run_routine(aws, doc).status == "SUCCEEDED"
        assert http.requests[-1]["headers"]["X-Key"] == value


@pytest.mark.parametrize(
    ("error", "cause", "expected"),
    [
        (
            "Routines.UserError",
            json.dumps(
                {"errorType": "Routines.UserError", "errorMessage": "bad", "stackTrace": ["  File x"]}
            ),
            {"type": "Routines.UserError", "message": "bad"},
        ),
        ("States.Runtime", "plain words", {"type": "States.Runtime", "message": "plain words"}),
        ("E", json.dumps({"Cause": json.dumps({"errorMessage": "deep"})}), {"type": "E", "message": "deep"}),
        ("E", None, {"type": "E", "message": ""}),
    ],
)
def test_an_execution_error_is_a_type_and_a_message(error: str, cause: str | None, expected: Any) -> None:
    assert clean_error(error, cause) == expected


def test_a_failed_run_shows_no_stack_trace_and_no_json_in_a_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = routine(
        {"id": "src", "plugin": "static-data", "parameters": {"data": {"a": 1}}},
        {"id": "boom", "plugin": "http-request", "parameters": {"url": "{{ nodes.src.a }}"}},
        connections=[link("src", "boom")],
    )
    path = tmp_path / "boom.json"
    path.write_text(json.dumps(doc))
    assert main(["run", "--json", str(path)]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert set(result["error"]) == {"type", "message"}
    assert not result["error"]["message"].lstrip().startswith("{")
    assert "stackTrace" not in captured.out and "Traceback" not in captured.out
    assert main(["run", str(path)]) == 1
    captured = capsys.readouterr()
    assert "stackTrace" not in captured.out + captured.err
    assert "Exception=" not in captured.err, "moto's interpreter log leaked"
