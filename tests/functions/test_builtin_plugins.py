"""Every built-in plugin, run through the local runtime against moto's AWS services (and a
real HTTP server on 127.0.0.1 for http-request)."""

from __future__ import annotations

import json
from typing import Any

from functions.local import LocalAWS, run_routine
from tests.conftest import link, routine
from tests.functions.conftest import Recorder


def one(node: dict[str, Any], trigger: Any = None, aws: LocalAWS | None = None) -> Any:
    assert aws is not None
    return run_routine(aws, routine(node), trigger)


def test_http_request_sends_method_headers_query_and_json(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/orders", (201, {"id": 9}))
    aws.client("secretsmanager").create_secret(Name="orders-token", SecretString="tok-123")
    node = {
        "id": "call",
        "plugin": "http-request",
        "parameters": {
            "method": "POST",
            "url": url,
            "headers": {"X-Trace": "{{ trigger.trace }}"},
            "query": {"page": 2, "q": "a b"},
            "body": {"sku": "{{ trigger.sku }}", "qty": 3},
            "credential": "orders-token",
        },
    }
    result = one(node, {"trace": "t-1", "sku": "A1"}, aws)
    assert result.status == "SUCCEEDED"
    assert result.nodes["call"]["output"]["status"] == 201
    assert result.nodes["call"]["output"]["body"] == {"id": 9}
    request = http.requests[0]
    assert request["method"] == "POST"
    assert request["path"] == "/orders?page=2&q=a+b"
    assert json.loads(request["body"]) == {"sku": "A1", "qty": 3}
    assert request["headers"]["X-Trace"] == "t-1"
    assert request["headers"]["Authorization"] == "Bearer tok-123"
    assert request["headers"]["Content-Type"] == "application/json"


def test_http_request_text_responses_and_every_method(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/text", (200, "plain words"))
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        result = one(
            {"id": "call", "plugin": "http-request", "parameters": {"method": method, "url": url}}, aws=aws
        )
        assert result.nodes["call"]["output"]["body"] == "plain words", method
    assert [r["method"] for r in http.requests] == ["GET", "PUT", "PATCH", "DELETE"]


def test_http_request_5xx_is_retryable_and_carries_the_status(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/down", (500, {"error": "boom"}))
    result = one({"id": "call", "plugin": "http-request", "parameters": {"url": url}}, aws=aws)
    assert result.status == "FAILED"
    assert result.error == "Routines.HttpServerError"
    assert "answered 500" in (result.nodes["call"]["error"]["message"] or "")


def test_http_request_to_a_closed_port_is_an_operational_error(aws: LocalAWS) -> None:
    node = {
        "id": "call",
        "plugin": "http-request",
        "parameters": {"url": "http://127.0.0.1:9/x", "timeoutSeconds": 2},
    }
    result = one(node, aws=aws)
    assert result.status == "FAILED" and result.error == "Routines.OperationalError"


def test_sqs_send(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    node = {
        "id": "send",
        "plugin": "sqs-send",
        "parameters": {"queueUrl": queue, "messageBody": {"id": "{{ trigger.id }}"}},
    }
    result = one(node, {"id": 5}, aws)
    assert result.status == "SUCCEEDED"
    messages = aws.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(messages[0]["Body"]) == {"id": 5}
    assert result.nodes["send"]["output"]["messageId"] == messages[0]["MessageId"]


def test_sqs_send_carries_the_message_attributes(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="tagged")["QueueUrl"]
    attributes = {"source": "shop", "priority": 2, "order": "{{ trigger.id }}", "flags": ["a"]}
    node = {
        "id": "send",
        "plugin": "sqs-send",
        "parameters": {"queueUrl": queue, "messageBody": "x", "messageAttributes": attributes},
    }
    assert one(node, {"id": "o-7"}, aws).status == "SUCCEEDED"
    message = aws.client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    # A standard queue's message also carries the attempt's idempotency key (docs/plugins.md).
    assert message["MessageAttributes"].pop("idempotencyKey")["DataType"] == "String"
    assert message["MessageAttributes"] == {
        "source": {"StringValue": "shop", "DataType": "String"},
        "priority": {"StringValue": "2", "DataType": "Number"},
        "order": {"StringValue": "o-7", "DataType": "String"},
        "flags": {"StringValue": '["a"]', "DataType": "String"},
    }


def test_a_missing_secret_says_it_does_not_exist_and_how_to_create_it(aws: LocalAWS) -> None:
    node = {"id": "a", "plugin": "transform", "parameters": {"fields": {"t": "{{ secrets.nope }}"}}}
    result = one(node, aws=aws)
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    message = result.nodes["a"]["error"]["message"]
    assert "secret 'nope' does not exist" in message and "routines run --secret nope=VALUE" in message


def test_sqs_send_to_a_missing_queue_is_a_user_error(aws: LocalAWS) -> None:
    # Built by an expression, so the local runtime does not create it (it creates the
    # queues a routine names literally).
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/nope"
    node = {
        "id": "send",
        "plugin": "sqs-send",
        "parameters": {"queueUrl": "{{ trigger.url }}", "messageBody": "x"},
    }
    result = one(node, {"url": url}, aws=aws)
    assert result.status == "FAILED" and result.error == "Routines.UserError"


def test_sns_publish(aws: LocalAWS) -> None:
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    queue = aws.client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    node = {
        "id": "pub",
        "plugin": "sns-publish",
        "parameters": {"topicArn": topic, "message": "hello {{ trigger.name }}", "subject": "Hi"},
    }
    result = one(node, {"name": "Ada"}, aws)
    assert result.status == "SUCCEEDED"
    assert aws.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello Ada"


def test_eventbridge_put(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="events")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = aws.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": queue_arn}])
    node = {
        "id": "put",
        "plugin": "eventbridge-put",
        "parameters": {"source": "shop", "detailType": "OrderPlaced", "detail": {"id": 1}},
    }
    result = one(node, aws=aws)
    assert result.status == "SUCCEEDED" and result.nodes["put"]["output"]["eventId"]
    delivered = json.loads(aws.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert delivered["detail-type"] == "OrderPlaced"
    # The detail also carries the attempt's idempotency key (docs/plugins.md).
    assert delivered["detail"].pop("idempotencyKey") and delivered["detail"] == {"id": 1}


def test_dynamodb_put_with_condition(aws: LocalAWS) -> None:
    aws.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    node = {
        "id": "put",
        "plugin": "dynamodb-put",
        "parameters": {
            "tableName": "orders",
            "item": {"pk": "o#{{ trigger.id }}", "total": 12.5, "tags": ["a"]},
            "conditionExpression": "attribute_not_exists(pk)",
        },
    }
    first = one(node, {"id": 1}, aws)
    assert first.status == "SUCCEEDED"
    item = aws.client("dynamodb").get_item(TableName="orders", Key={"pk": {"S": "o#1"}})["Item"]
    assert item["total"] == {"N": "12.5"} and item["tags"] == {"L": [{"S": "a"}]}
    again = one(node, {"id": 1}, aws)
    assert again.status == "FAILED" and again.error == "Routines.UserError"
    assert "ConditionalCheckFailed" in again.nodes["put"]["error"]["message"]


def test_ses_send_email(aws: LocalAWS) -> None:
    aws.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    node = {
        "id": "mail",
        "plugin": "ses-send-email",
        "parameters": {
            "from": "shop@example.com",
            "to": ["ada@example.com"],
            "subject": "Order {{ trigger.id }}",
            "text": "Thanks!",
        },
    }
    result = one(node, {"id": 3}, aws)
    assert result.status == "SUCCEEDED"
    assert aws.client("ses").get_send_quota()["SentLast24Hours"] == 1
    # A sender built by an expression is not verified for you (literal ones are, as in an
    # account where the routine's sender identity has been set up).
    unverified = one(
        {**node, "parameters": {**node["parameters"], "from": "{{ trigger.sender }}"}},
        {"id": 3, "sender": "nobody@example.com"},
        aws,
    )
    assert unverified.status == "FAILED" and unverified.error == "Routines.UserError"


def test_filter_keeps_matching_items(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "src",
            "plugin": "static-data",
            "parameters": {"data": [{"age": 17}, {"age": 30}, {"age": "x"}]},
        },
        {
            "id": "adults",
            "plugin": "filter",
            "parameters": {
                "items": "{{ nodes.src }}",
                "condition": {"left": "{{ item.age }}", "op": "gte", "right": "{{ trigger.min }}"},
            },
        },
        connections=[link("src", "adults")],
    )
    result = run_routine(aws, doc, {"min": 18})
    assert result.nodes["adults"]["output"] == {"items": [{"age": 30}]}
