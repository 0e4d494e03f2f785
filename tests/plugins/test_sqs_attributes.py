"""sqs-send's messageAttributes (issue #24: they were declared and never sent): each value
reaches the queue with its type, and what SQS would refuse is refused first, at save time
when it is literal and at run time when an expression made it — by the attribute's name,
never by its value (which may come from anywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from statemachines.validator import validate_document
from tests.conftest import routine

PATH = "nodes[send].parameters.messageAttributes"


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def send(
    attributes: Any, queue: str = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
) -> dict[str, Any]:
    return routine(
        {
            "id": "send",
            "plugin": "sqs-send",
            "parameters": {"queueUrl": queue, "messageBody": "x", "messageAttributes": attributes},
        }
    )


def test_each_value_arrives_with_its_type(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="typed")["QueueUrl"]
    attributes = {
        "text": "{{ trigger.text }}",
        "count": "{{ trigger.count }}",
        "price": 12.5,
        "tiny": -0.001,
        "flag": True,
        "order": {"id": 7},
        "tags": ["a", "b"],
        "mixed": "order {{ trigger.count }}",
    }
    result = run_routine(aws, send(attributes, queue), {"text": "héllo", "count": 3})
    assert result.status == "SUCCEEDED", result.error
    [message] = aws.client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    got = {k: v for k, v in message["MessageAttributes"].items() if k != "idempotencyKey"}
    assert got == {
        "text": {"DataType": "String", "StringValue": "héllo"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "price": {"DataType": "Number", "StringValue": "12.5"},
        "tiny": {"DataType": "Number", "StringValue": "-0.001"},
        "flag": {"DataType": "String", "StringValue": "true"},
        "order": {"DataType": "String", "StringValue": '{"id":7}'},
        "tags": {"DataType": "String", "StringValue": '["a","b"]'},
        "mixed": {"DataType": "String", "StringValue": "order 3"},
    }


@pytest.mark.parametrize(
    ("attributes", "where", "wanted"),
    [
        ({"bad name": "x"}, f"{PATH}.bad name", "is not an attribute name"),
        ({"AWS.trace": "x"}, f"{PATH}.AWS.trace", "is not an attribute name"),
        ({"a..b": "x"}, f"{PATH}.a..b", "is not an attribute name"),
        ({".a": "x"}, f"{PATH}..a", "is not an attribute name"),
        ({"empty": ""}, f"{PATH}.empty", "is empty"),
        ({"none": None}, f"{PATH}.none", "has no value"),
        ({"huge": 1e200}, f"{PATH}.huge", "outside the range"),
        ({"long": 10**40}, f"{PATH}.long", "more than 38 digits"),
        ({"nul": "a\u0000b"}, f"{PATH}.nul", "control character"),
        ({f"a{i}": i for i in range(11)}, PATH, "at most 10 attributes"),
    ],
)
def test_what_sqs_would_refuse_is_a_save_time_error_at_the_attribute(
    attributes: dict[str, Any], where: str, wanted: str
) -> None:
    errors = [(p.path, p.message) for p in validate_document(send(attributes)).errors]
    assert len(errors) == 1 and errors[0][0] == where and wanted in errors[0][1], errors


def test_expressions_are_left_for_run_time() -> None:
    attributes = {"a": "{{ trigger.a }}", "b": "text {{ trigger.b }}", "c": 1}
    assert validate_document(send(attributes)).errors == []
    assert validate_document(send("{{ trigger.attributes }}")).errors == []


@pytest.mark.parametrize(
    ("attributes", "wanted"),
    [
        ({"empty": ""}, "'messageAttributes.empty' is empty"),
        ({"bad name": 1}, "'messageAttributes.bad name' is not an attribute name"),
        ({"none": None}, "'messageAttributes.none' has no value"),
        (["a", "b"], "'messageAttributes' must be an object of name → value, got list"),
        ({f"a{i}": i for i in range(11)}, "at most 10 attributes per message, got 11"),
    ],
)
def test_an_expression_that_makes_a_bad_shape_fails_the_node_clearly_and_sends_nothing(
    aws: LocalAWS, attributes: Any, wanted: str
) -> None:
    queue = aws.client("sqs").create_queue(QueueName="strict")["QueueUrl"]
    result = run_routine(aws, send("{{ trigger.attributes }}", queue), {"attributes": attributes})
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    assert wanted in result.nodes["send"]["error"]["message"]
    assert "Messages" not in aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=0)


def test_a_bad_value_is_named_by_its_attribute_never_shown(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="quiet")["QueueUrl"]
    value = "token-" + "\u0001" + "s3cr3t"
    result = run_routine(aws, send({"auth": "{{ trigger.v }}"}, queue), {"v": value})
    message = result.nodes["send"]["error"]["message"]
    assert "'messageAttributes.auth'" in message and "s3cr3t" not in message
