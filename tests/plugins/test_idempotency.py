"""Safe to repeat (issue #28, item 3): the attempt's idempotency token, what every built-in
plugin declares about running twice, and how each AWS plugin carries the token — each
plugin's Lambda invoked on the local AWS (moto) twice with one event, as an Express
machine's repeat or a node's retry invokes it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from contract.names import function_name
from functions.local import LocalAWS
from plugins.runtime.aws import client
from plugins.runtime.event import Invocation
from plugins.runtime.idempotency import idempotency_key
from plugins.sdk import Kind, default_registry
from plugins.sdk.idempotency import FIELD

EXECUTION = "arn:aws:states:us-east-1:123456789012:express:routine-r:run-1"

# Every task plugin's deliberate answer to "may it run twice?" (docs/plugins.md). A new
# plugin fails test_every_task_plugin_chose until it is added here with its reason.
REPEAT_SAFE = {
    "code": True,  # computation in a child process; its effect is its output
    "dynamodb-put": True,  # a plain put rewrites the same item; a conditional one needs idempotent
    "eventbridge-put": True,  # detail.idempotencyKey; targets already get duplicates
    "filter": True,  # pure
    "http-request": True,  # the Idempotency-Key header (unless turned off on a POST/PATCH)
    "ses-send-email": True,  # SES drops nothing: the ledger sends once per key (test_ses_ledger.py)
    "sns-publish": True,  # the idempotencyKey attribute; a FIFO topic's deduplication id
    "sqs-send": True,  # a FIFO queue's deduplication id; a standard queue's attribute
    "static-data": True,  # pure
    "transform": True,  # pure
}


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def event(node: str, parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    execution = {
        "id": fields.pop("execution", EXECUTION),
        "routineId": "r",
        "startedAt": "2026-12-06T00:00:00Z",
    }
    return {"node": node, "parameters": parameters, "execution": execution, "attempt": 0, **fields}


def invoke(aws: LocalAWS, plugin: str, payload: dict[str, Any]) -> tuple[str | None, Any]:
    """(the error type or None, the answer) of one invocation of the plugin's Lambda."""
    response = aws.client("lambda").invoke(FunctionName=function_name(plugin), Payload=json.dumps(payload))
    answer = json.loads(response["Payload"].read())
    return (answer.get("errorType") if "FunctionError" in response else None), answer


def ok(aws: LocalAWS, plugin: str, payload: dict[str, Any]) -> Any:
    error, answer = invoke(aws, plugin, payload)
    assert error is None, answer
    return answer


def key_of(payload: dict[str, Any]) -> str:
    return idempotency_key(Invocation.model_validate(payload))


# -- the token ------------------------------------------------------------------------


def test_the_token_is_the_same_for_every_attempt_and_differs_by_node_iteration_and_execution() -> None:
    first = key_of(event("call", {}))
    assert re.fullmatch(r"[0-9a-f]{64}", first)  # fits SQS/SNS (128), SES tags, HTTP headers
    assert key_of(event("call", {}, attempt=1)) == first == key_of(event("call", {}, attempt=7))
    others = [
        key_of(event("other", {})),
        key_of(event("call", {}, iteration="0")),
        key_of(event("call", {}, iteration="1")),
        key_of(event("call", {}, iteration="1.0")),
        key_of(event("call", {}, execution=EXECUTION + "x")),
    ]
    assert len({first, *others}) == 6


def test_parts_cannot_run_into_each_other() -> None:
    # "a" + "b/c" and "a/b" + "c" joined by a separator would collide; the token does not.
    assert key_of(event("b", {}, execution="a/")) != key_of(event("/b", {}, execution="a"))


# -- what every plugin declares -------------------------------------------------------


def test_every_task_plugin_chose() -> None:
    registry = default_registry()
    tasks = {p.name: p.repeat_safe for p in registry if p.kind is Kind.TASK}
    assert tasks == REPEAT_SAFE
    assert set(REPEAT_SAFE) <= set(registry.names())


def test_control_nodes_are_judged_by_the_compiler_not_the_flag() -> None:
    for plugin in default_registry():
        if plugin.kind is Kind.CONTROL:
            assert plugin.repeat_problems({}) == [], plugin.name


def test_a_plugin_that_is_not_safe_says_so_and_settings_can_make_a_safe_one_unsafe() -> None:
    registry = default_registry()
    unsafe = dataclasses.replace(registry.get("sqs-send"), repeat_safe=False)
    [(where, message)] = unsafe.repeat_problems({})
    assert where == "" and "not safe to repeat" in message
    http = registry.get("http-request")
    assert http.repeat_problems({"method": "POST", "url": "https://x.test"}) == []
    assert http.repeat_problems({"method": "GET", "idempotencyHeader": ""}) == []
    for method in ("POST", "PATCH", "{{ trigger.method }}"):
        for off in ("", None):
            [(where, _)] = http.repeat_problems({"method": method, "idempotencyHeader": off})
            assert where == "idempotencyHeader"
    put = registry.get("dynamodb-put")
    assert put.repeat_problems({"item": {"pk": 1}}) == []
    assert put.repeat_problems({"conditionExpression": "attribute_not_exists(pk)", "idempotent": True}) == []
    [(where, message)] = put.repeat_problems({"conditionExpression": "attribute_not_exists(pk)"})
    assert where == "conditionExpression" and "idempotent" in message


def test_the_catalogue_shows_the_choice() -> None:
    catalogue = {p["name"]: p for p in default_registry().to_json()}
    assert {name: catalogue[name]["repeatSafe"] for name in REPEAT_SAFE} == REPEAT_SAFE


# -- SQS ----------------------------------------------------------------------------


def received(aws: LocalAWS, queue: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while (
        batch := aws.client("sqs")
        .receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        )
        .get("Messages", [])
    ):
        messages += batch
        for message in batch:
            aws.client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_sqs_fifo_drops_a_repeated_send_by_its_deduplication_id(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    parameters = {"queueUrl": queue, "messageBody": {"id": 1}, "messageGroupId": "g"}
    first = event("send", parameters)
    ok(aws, "sqs-send", first)
    ok(aws, "sqs-send", {**first, "attempt": 1})  # a retry: the same key
    ok(aws, "sqs-send", event("send", parameters, iteration="1"))  # another iteration: another key
    messages = received(aws, queue)
    assert [m["Attributes"]["MessageDeduplicationId"] for m in messages] == [
        key_of(first),
        key_of(event("send", parameters, iteration="1")),
    ]
    assert all("MessageAttributes" not in m for m in messages)  # FIFO: no attribute spent on it
    ok(aws, "sqs-send", event("own", {**parameters, "messageDeduplicationId": "mine"}))
    [message] = received(aws, queue)
    assert message["Attributes"]["MessageDeduplicationId"] == "mine"


def test_sqs_standard_carries_the_key_as_an_attribute_and_a_users_wins(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    first = event("send", {"queueUrl": queue, "messageBody": "x", "messageAttributes": {"kind": "order"}})
    ok(aws, "sqs-send", first)
    ok(aws, "sqs-send", {**first, "attempt": 1})
    messages = received(aws, queue)
    assert len(messages) == 2  # a standard queue drops nothing: its consumers can, by the key
    for message in messages:
        assert message["MessageAttributes"] == {
            "kind": {"StringValue": "order", "DataType": "String"},
            FIELD: {"StringValue": key_of(first), "DataType": "String"},
        }
    ok(
        aws,
        "sqs-send",
        event("own", {"queueUrl": queue, "messageBody": "x", "messageAttributes": {FIELD: "o-1"}}),
    )
    [message] = received(aws, queue)
    assert message["MessageAttributes"] == {FIELD: {"StringValue": "o-1", "DataType": "String"}}


def test_sqs_standard_has_room_for_nine_attributes_of_the_users(aws: LocalAWS) -> None:
    queue = aws.client("sqs").create_queue(QueueName="full")["QueueUrl"]
    ten = {f"a{i}": i for i in range(10)}
    error, answer = invoke(
        aws, "sqs-send", event("send", {"queueUrl": queue, "messageBody": "x", "messageAttributes": ten})
    )
    assert error == "Routines.UserError" and f"'{FIELD}'" in answer["errorMessage"]
    nine = {f"a{i}": i for i in range(9)}
    ok(aws, "sqs-send", event("send", {"queueUrl": queue, "messageBody": "x", "messageAttributes": nine}))
    [message] = received(aws, queue)
    assert len(message["MessageAttributes"]) == 10


# -- SNS ----------------------------------------------------------------------------


def subscribed_queue(aws: LocalAWS, topic: str, name: str, **attributes: str) -> str:
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    return str(queue)


def test_sns_carries_the_key_as_an_attribute(aws: LocalAWS) -> None:
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    queue = subscribed_queue(aws, topic, "inbox")
    first = event("pub", {"topicArn": topic, "message": "hi", "messageAttributes": {"level": "warn"}})
    ok(aws, "sns-publish", first)
    [message] = received(aws, queue)
    assert message["MessageAttributes"] == {
        "level": {"StringValue": "warn", "DataType": "String"},
        FIELD: {"StringValue": key_of(first), "DataType": "String"},
    }


def test_a_sns_fifo_topic_drops_a_repeated_publish(aws: LocalAWS) -> None:
    topic = aws.client("sns").create_topic(Name="alerts.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queue = subscribed_queue(aws, topic, "inbox.fifo", FifoQueue="true")
    first = event("pub", {"topicArn": topic, "message": "hi", "messageGroupId": "g"})
    ok(aws, "sns-publish", first)
    ok(aws, "sns-publish", {**first, "attempt": 1})
    ok(aws, "sns-publish", event("pub", first["parameters"], iteration="3"))
    keys = [m["MessageAttributes"][FIELD]["StringValue"] for m in received(aws, queue)]
    assert keys == [key_of(first), key_of(event("pub", {}, iteration="3"))]


# -- EventBridge --------------------------------------------------------------------


def test_eventbridge_carries_the_key_in_the_detail(aws: LocalAWS) -> None:
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("events").put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    aws.client("events").put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": arn}])
    base = {"source": "shop", "detailType": "OrderPlaced"}
    first = event("put", {**base, "detail": {"id": 1}})
    ok(aws, "eventbridge-put", first)
    ok(aws, "eventbridge-put", event("text", {**base, "detail": '{"id": 2}'}))
    ok(aws, "eventbridge-put", event("own", {**base, "detail": {"id": 3, FIELD: "order-3"}}))
    details = [json.loads(m["Body"])["detail"] for m in received(aws, queue)]
    assert sorted(details, key=lambda d: d["id"]) == [
        {"id": 1, FIELD: key_of(first)},
        {"id": 2, FIELD: key_of(event("text", {}))},
        {"id": 3, FIELD: "order-3"},
    ]


# -- DynamoDB -----------------------------------------------------------------------


def table(aws: LocalAWS, name: str) -> str:
    aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def stored(aws: LocalAWS, name: str, pk: str) -> dict[str, Any]:
    return dict(
        aws.client("dynamodb").get_item(TableName=name, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"]
    )


def test_a_conditional_put_fails_its_own_repeat_unless_idempotent(aws: LocalAWS) -> None:
    name = table(aws, "orders")
    plain = {
        "tableName": name,
        "item": {"pk": "a", "n": 1},
        "conditionExpression": "attribute_not_exists(pk)",
    }
    ok(aws, "dynamodb-put", event("w", plain))
    error, answer = invoke(aws, "dynamodb-put", event("w", plain, attempt=1))
    assert error == "Routines.UserError" and "ConditionalCheckFailed" in answer["errorMessage"]

    idempotent = {**plain, "item": {"pk": "b", "n": 1}, "idempotent": True}
    first = event("w", idempotent)
    assert ok(aws, "dynamodb-put", first) == {"tableName": name, "item": {"pk": "b", "n": 1}}
    assert ok(aws, "dynamodb-put", {**first, "attempt": 1}) == {
        "tableName": name,
        "item": {"pk": "b", "n": 1},
    }
    assert stored(aws, name, "b") == {"pk": {"S": "b"}, "n": {"N": "1"}, FIELD: {"S": key_of(first)}}
    # Another node (or execution) is refused by the condition as before.
    error, answer = invoke(aws, "dynamodb-put", event("other", idempotent))
    assert error == "Routines.UserError" and "ConditionalCheckFailed" in answer["errorMessage"]


def test_an_idempotent_put_without_condition_writes_nothing_on_its_repeat(aws: LocalAWS) -> None:
    name = table(aws, "counters")
    first = event("w", {"tableName": name, "item": {"pk": "a", "n": 1}, "idempotent": True})
    ok(aws, "dynamodb-put", first)
    # Someone changes the item after the put; the put's repeat must not undo that.
    aws.client("dynamodb").update_item(
        TableName=name,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "5"}},
    )
    ok(aws, "dynamodb-put", {**first, "attempt": 1})
    assert stored(aws, name, "a")["n"] == {"N": "5"}
    # A put of another execution writes.
    ok(aws, "dynamodb-put", event("w", first["parameters"], execution=EXECUTION + "-2"))
    assert stored(aws, name, "a")["n"] == {"N": "1"}


def test_an_item_may_bring_its_own_key(aws: LocalAWS) -> None:
    name = table(aws, "imports")
    parameters = {"tableName": name, "item": {"pk": "a", FIELD: "batch-7"}, "idempotent": True}
    ok(aws, "dynamodb-put", event("w", {**parameters, "conditionExpression": "attribute_not_exists(pk)"}))
    # Another execution with the same key of the item's: the same put, so it succeeds.
    ok(
        aws,
        "dynamodb-put",
        event("w", {**parameters, "conditionExpression": "attribute_not_exists(pk)"}, execution="e2"),
    )
    assert stored(aws, name, "a")[FIELD] == {"S": "batch-7"}


# -- SES ----------------------------------------------------------------------------


def test_ses_tags_the_email_with_the_key(aws: LocalAWS) -> None:
    aws.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    sent: list[dict[str, Any]] = []
    ses = client("ses")  # the plugin's own client, in this process like its Lambda
    ses.meta.events.register("provide-client-params.ses.SendEmail", lambda params, **_: sent.append(params))
    try:
        first = event(
            "mail", {"from": "shop@example.com", "to": "a@example.com", "subject": "Hi", "text": "x"}
        )
        assert ok(aws, "ses-send-email", first)["messageId"]
    finally:
        ses.meta.events.unregister("provide-client-params.ses.SendEmail")
    assert [s["Tags"] for s in sent] == [[{"Name": FIELD, "Value": key_of(first)}]]
