"""The local runtime's direct DynamoDB path answers exactly as moto's HTTP path does:
same parsed responses, same errors, same table contents — and it is really taken."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from functions.local import LocalAWS
from functions.local.fastpaths import direct_dynamodb
from plugins.runtime.aws import node_logs_table
from tests.functions.conftest import DYNAMODB_ITEM

ITEM = {**DYNAMODB_ITEM, "unicode": {"S": "żółw ✓"}}


def table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def outcome(call: Callable[[], Any]) -> Any:
    """A response without its per-request metadata, or the error as the caller sees it."""
    try:
        response = call()
    except ClientError as error:
        fields = {key: value for key, value in error.response.items() if key != "ResponseMetadata"}
        return ("ClientError", fields, error.response["ResponseMetadata"]["HTTPStatusCode"])
    except ParamValidationError as error:
        return ("ParamValidationError", str(error))
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


# Each case is a function of (client, table name); run on two tables in the same order,
# once through the direct path and once through moto's HTTP path.
CASES: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("put", lambda c, t: c.put_item(TableName=t, Item=ITEM)),
    ("put second", lambda c, t: c.put_item(TableName=t, Item={**ITEM, "sk": {"S": "2"}, "g": {"S": "x"}})),
    (
        "put third",
        lambda c, t: c.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "3"}, "g": {"S": "x"}}),
    ),
    ("put other key", lambda c, t: c.put_item(TableName=t, Item={"pk": {"S": "b"}, "sk": {"S": "1"}})),
    (
        "put all old",
        lambda c, t: c.put_item(TableName=t, Item={**ITEM, "n": {"N": "2"}}, ReturnValues="ALL_OLD"),
    ),
    (
        "conditional put fails",
        lambda c, t: c.put_item(
            TableName=t,
            Item={"pk": {"S": "a"}, "sk": {"S": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
    ),
    (
        "conditional put passes",
        lambda c, t: c.put_item(
            TableName=t,
            Item={"pk": {"S": "c"}, "sk": {"S": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
        ),
    ),
    (
        "put capacity",
        lambda c, t: c.put_item(TableName=t, Item={**ITEM, "sk": {"S": "9"}}, ReturnConsumedCapacity="TOTAL"),
    ),
    ("put empty key", lambda c, t: c.put_item(TableName=t, Item={"pk": {"S": ""}, "sk": {"S": "1"}})),
    ("put missing key", lambda c, t: c.put_item(TableName=t, Item={"pk": {"S": "a"}})),
    ("put no such table", lambda c, t: c.put_item(TableName=t + "-missing", Item=ITEM)),
    ("put invalid params", lambda c, t: c.put_item(TableName=t, Item={"pk": "not typed"})),
    (
        "get",
        lambda c, t: c.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"S": "1"}}, ConsistentRead=True),
    ),
    ("get missing", lambda c, t: c.get_item(TableName=t, Key={"pk": {"S": "z"}, "sk": {"S": "1"}})),
    (
        "get projection",
        lambda c, t: c.get_item(
            TableName=t,
            Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
            ProjectionExpression="#n, m.inner[1]",
            ExpressionAttributeNames={"#n": "n"},
        ),
    ),
    ("get wrong key", lambda c, t: c.get_item(TableName=t, Key={"pk": {"S": "a"}})),
    (
        "query",
        lambda c, t: c.query(
            TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        ),
    ),
    (
        "query page",
        lambda c, t: c.query(
            TableName=t,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=1,
            ScanIndexForward=False,
        ),
    ),
    (
        "query next page",
        lambda c, t: c.query(
            TableName=t,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=1,
            ExclusiveStartKey={"pk": {"S": "a"}, "sk": {"S": "1"}},
        ),
    ),
    (
        "query range and filter",
        lambda c, t: c.query(
            TableName=t,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            FilterExpression="attribute_exists(g)",
            ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "2"}},
            Select="COUNT",
        ),
    ),
    (
        "query index",
        lambda c, t: c.query(
            TableName=t,
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        ),
    ),
    (
        "query bad expression",
        lambda c, t: c.query(
            TableName=t, KeyConditionExpression="pk = :missing", ExpressionAttributeValues={":p": {"S": "a"}}
        ),
    ),
    ("scan all", lambda c, t: c.scan(TableName=t, ConsistentRead=True)),
]


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        direct_dynamodb.FAST_PATH.install()
        try:
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            table(dynamodb, "direct")
            table(dynamodb, "http")
            yield dynamodb
        finally:
            direct_dynamodb.FAST_PATH.uninstall()


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DynamoDB operations that reached moto's HTTP stubber."""
    reached: list[str] = []
    original = BotocoreStubber.process_request

    def process_request(self: Any, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        reached.append((target.decode() if isinstance(target, bytes) else str(target)).split(".")[-1])
        return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)
    return reached


def test_every_case_answers_as_moto_http_does(client: Any, stubbed: list[str]) -> None:
    for name, case in CASES:
        direct = outcome(lambda: case(client, "direct"))  # noqa: B023 - called at once
        direct_dynamodb.FAST_PATH._users, saved = 0, direct_dynamodb.FAST_PATH._users
        try:
            http = outcome(lambda: case(client, "http"))  # noqa: B023
        finally:
            direct_dynamodb.FAST_PATH._users = saved
        if isinstance(direct, dict) and isinstance(http, dict):
            for answer in (direct, http):  # the capacity names the table, which differs here
                capacity = answer.get("ConsumedCapacity")
                if capacity:
                    capacity.pop("TableName")
        assert direct == http, name
    # botocore refuses the invalid call before either path; every other put, get and
    # query reached moto's HTTP stubber once: on the HTTP path only.
    sent = [name for name, _ in CASES if name != "put invalid params" and not name.startswith("scan")]
    assert len([operation for operation in stubbed if operation in direct_dynamodb.OPERATIONS]) == len(sent)


def test_the_direct_path_is_taken_for_its_operations_only(client: Any, stubbed: list[str]) -> None:
    client.put_item(TableName="direct", Item=ITEM)
    client.get_item(TableName="direct", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
    client.query(
        TableName="direct", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
    )
    assert stubbed == []
    metadata = client.get_item(TableName="direct", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})[
        "ResponseMetadata"
    ]
    direct_dynamodb.FAST_PATH._users, saved = 0, direct_dynamodb.FAST_PATH._users
    try:
        usual = client.get_item(TableName="direct", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})[
            "ResponseMetadata"
        ]
    finally:
        direct_dynamodb.FAST_PATH._users = saved
    assert metadata["RequestId"] and metadata["HTTPStatusCode"] == 200 and metadata["RetryAttempts"] == 0
    assert set(metadata["HTTPHeaders"]) == set(usual["HTTPHeaders"])
    stubbed.clear()
    client.update_item(
        TableName="direct",
        Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "3"}},
    )
    client.describe_table(TableName="direct")
    assert stubbed == ["UpdateItem", "DescribeTable"]


def test_errors_raise_the_modelled_exception(client: Any) -> None:
    client.put_item(TableName="direct", Item=ITEM)
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as failed:
        client.put_item(
            TableName="direct",
            Item={"pk": {"S": "a"}, "sk": {"S": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert failed.value.response["Item"]["n"] == {"N": "1.50"}  # the error shape's own field
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName="nope", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})


def test_after_the_local_aws_stops_clients_take_the_ordinary_path(stubbed: list[str]) -> None:
    with LocalAWS() as aws:
        dynamodb = aws.client("dynamodb")
        assert direct_dynamodb.active()
        key = {"executionId": {"S": "x"}, "nodeAttempt": {"S": "y"}}
        dynamodb.put_item(TableName=node_logs_table(), Item=key)
        assert dynamodb.get_item(TableName=node_logs_table(), Key=key)["Item"] == key
        assert "GetItem" not in stubbed and "PutItem" not in stubbed
    assert not direct_dynamodb.active()
    with mock_aws():
        dynamodb.create_table(
            TableName="later",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="later", Item={"k": {"S": "v"}})
        assert dynamodb.get_item(TableName="later", Key={"k": {"S": "v"}})["Item"] == {"k": {"S": "v"}}
    assert stubbed.count("PutItem") == 1 and stubbed.count("GetItem") == 1


def test_the_date_header_is_moto_s_formatted_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    from werkzeug.http import http_date

    times = [
        datetime.datetime(2026, 11, 22, 10, 0, 0, 1),
        datetime.datetime(2026, 11, 22, 10, 0, 0, 999_999),
        datetime.datetime(2026, 11, 22, 10, 0, 1, 0),
        datetime.datetime(2026, 11, 22, 9, 59, 59, 500_000),  # a clock set back
        datetime.datetime(2030, 1, 1),
    ]
    now = iter(times)
    formatted: list[Any] = []
    monkeypatch.setattr(direct_dynamodb, "utcnow", lambda: next(now))
    monkeypatch.setattr(
        direct_dynamodb, "http_date", lambda value: formatted.append(value) or http_date(value)
    )
    monkeypatch.setattr(direct_dynamodb, "_last_date", None)
    assert [direct_dynamodb._date() for _ in times] == [http_date(time) for time in times]
    assert len(formatted) == 4  # the second read within one second was not formatted again
