"""The fast paths through moto's request/response layer and the cold-start measures change
no answer: each response read with them equals the one read without them."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import responses as moto_responses
from moto.core.serialize import ResponseSerializer, XFormedAttributePicker
from moto.dynamodb.models.table import Table

from functions.cli import startup
from functions.local import LocalAWS
from functions.local.fastpaths import moto_paths
from functions.local.fastpaths.imports import shared_session
from tests.functions.conftest import DYNAMODB_ITEM as ITEM

ROOT = Path(__file__).resolve().parents[2]
TABLE = "t"


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def both_ways(
    call: Callable[[], Any], dicts: bool | None = True, taken: Callable[[], Any] | None = None
) -> tuple[Any, Any]:
    """The call's answer with the fast paths installed, then without them (``dicts``:
    whether the response is built from plain dicts, i.e. the fast path must be taken;
    ``taken``: true once the shortcut under test was taken)."""
    moto_paths.FAST_PATH.install()
    try:
        fast = call()
        assert dicts is None or bool(moto_paths._aliases) == dicts
        assert taken is None or taken(), "the shortcut was taken"
    finally:
        moto_paths.FAST_PATH.uninstall()
    return fast, call()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for index in range(3):
            client.put_item(TableName=TABLE, Item={**ITEM, "sk": {"S": str(index)}})
        yield client


def test_dynamodb_reads_answer_the_same(dynamodb: Any) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            ReturnConsumedCapacity="INDEXES",
        ),
        lambda: dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=2,
        ),
        lambda: dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, "sk": {"S": "1"}}),
        lambda: dynamodb.scan(TableName=TABLE, Select="COUNT"),
        lambda: dynamodb.describe_table(TableName=TABLE),
    ]
    for call in calls:
        fast, plain = both_ways(call)
        assert without_metadata(fast) == without_metadata(plain)
    fast, _ = both_ways(calls[1])
    assert fast["Items"][0]["m"] == ITEM["m"]  # a nested map keeps even a member named like a type
    assert fast["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"S": "1"}}


def test_attribute_values_serialize_to_the_same_bytes() -> None:
    """The one-key AttributeValue shortcut writes what moto's walk writes, byte for byte,
    for every kind of value (strings, empty strings, numbers, and the kinds it leaves to
    the walk: binaries, sets, booleans, nulls, nested maps and lists, two-key dicts)."""
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    operation = get_service_model("dynamodb").operation_model("Query")
    items = [
        {**ITEM, "b": {"B": "AAE="}, "bs": {"BS": ["MQ=="]}},
        {"pk": {"S": ""}, "odd": {"S": "x", "N": "1"}, "deep": {"M": {"S": {"S": "v"}, "N": {"N": "2"}}}},
    ]
    result = {"Items": items, "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": {"pk": {"S": "a"}}}

    def body() -> Any:
        return JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize(
            result
        )["body"]

    fast, plain = both_ways(body, dicts=None, taken=lambda: moto_paths._scalars)
    assert fast == plain
    assert json.loads(fast)["Items"][1]["deep"] == {"M": {"S": {"S": "v"}, "N": {"N": "2"}}}


def test_attribute_values_parse_to_the_same_request() -> None:
    """The one-key AttributeValue shortcut of moto's request parser gives what its walk
    gives, for every kind of value (blobs decoded, nested maps and lists, two-key dicts)."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.utils import get_service_model

    operation = get_service_model("dynamodb").operation_model("PutItem")
    item = {
        **ITEM,
        "b": {"B": "AAE="},
        "bs": {"BS": ["MQ=="]},
        "odd": {"S": "x", "N": "1"},
        "empty": {"S": ""},
        "deep": {"M": {"S": {"S": "v"}, "N": {"N": "2"}, "L": {"L": [{"S": "a"}, {"NULL": True}]}}},
    }
    body = json.dumps({"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"})

    def parse() -> Any:
        parser = PROTOCOL_PARSERS["json"](operation, map_type=dict)
        return parser.parse(
            {
                "method": "POST",
                "values": {},
                "headers": {},
                "body": body.encode(),
                "url_path": "/",
                "url_params": {},
            }
        )

    fast, plain = both_ways(parse, dicts=None, taken=lambda: moto_paths._wire_names)
    assert fast == plain
    assert fast["Item"]["b"] == {"B": b"\x00\x01"} and fast["Item"]["pk"] == {"S": "a"}


def test_dynamodb_writes_and_errors_answer_the_same(dynamodb: Any) -> None:
    def put_returning_old() -> Any:
        return dynamodb.put_item(TableName=TABLE, Item=ITEM, ReturnValues="ALL_OLD")

    fast, plain = both_ways(put_returning_old)
    assert without_metadata(fast) == without_metadata(plain)
    assert fast["Attributes"]["ns"] == {"NS": ["1", "2"]}

    def failed_condition() -> Any:
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException) as caught:
            dynamodb.put_item(
                TableName=TABLE,
                Item=ITEM,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return without_metadata(caught.value.response)

    fast, plain = both_ways(failed_condition, dicts=False)  # an error: moto's own path
    assert fast == plain
    assert fast["Item"]["sk"] == {"S": "1"}

    def unknown_action() -> Any:
        with pytest.raises(dynamodb.exceptions.ResourceNotFoundException) as caught:
            dynamodb.describe_table(TableName="missing")
        return without_metadata(caught.value.response)

    fast, plain = both_ways(unknown_action, dicts=False)
    assert fast == plain


def test_other_services_answer_the_same() -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k", "Value": "v"}])
        fast, plain = both_ways(lambda: iam.get_role(RoleName="r"), dicts=None)  # XML, model objects
        assert without_metadata(fast) == without_metadata(plain)
        assert fast["Role"]["Tags"] == [{"Key": "k", "Value": "v"}]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="m",
            definition=json.dumps({"StartAt": "p", "States": {"p": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/r",
        )["stateMachineArn"]
        for call in (
            lambda: sfn.describe_state_machine(stateMachineArn=arn),
            lambda: sfn.list_state_machines(),
        ):
            fast, plain = both_ways(call)
            assert without_metadata(fast) == without_metadata(plain)


def test_the_moto_patches_come_off() -> None:
    get_value, names = ResponseSerializer.get_value, moto_responses.method_names_from_class
    moto_paths.FAST_PATH.install()
    moto_paths.FAST_PATH.install()
    moto_paths.FAST_PATH.uninstall()
    assert ResponseSerializer.get_value is not get_value  # still one user
    moto_paths.FAST_PATH.uninstall()
    assert ResponseSerializer.get_value is get_value
    assert moto_responses.method_names_from_class is names


def test_action_lookup_matches_moto_listing() -> None:
    from moto.dynamodb.responses import DynamoHandler

    listed = set(names_of(DynamoHandler))
    fast = moto_paths._method_names(DynamoHandler)
    for name in [*listed, "nope", "__init__", "dispatch", "region", "_get_action", "uri_match"]:
        assert (name in fast) == (name in listed), name


def names_of(clazz: Any) -> list[str]:
    import inspect

    return [name for name, _ in inspect.getmembers(clazz, predicate=inspect.isfunction)]


def test_region_lists_are_the_same_through_the_shared_session() -> None:
    partitions = ("aws", "aws-us-gov", "aws-cn")
    plain = [boto3.session.Session().get_available_regions("ec2", p) for p in partitions]
    original = boto3.session.Session.get_available_regions
    with shared_session():
        assert boto3.session.Session.get_available_regions is not original
        shared = [boto3.session.Session().get_available_regions("ec2", p) for p in partitions]
        non_regional = boto3.session.Session().get_available_regions("s3", allow_non_regional=True)
    assert shared == plain and "us-east-1" in shared[0]
    assert non_regional == boto3.session.Session().get_available_regions("s3", allow_non_regional=True)
    assert boto3.session.Session.get_available_regions is original


def test_moto_reads_service_models_of_its_own() -> None:
    """botocore edits a loaded model in place for its clients (S3's CreateBucket loses its
    ``/{Bucket}`` URI); moto 5.2.6 builds its URL rules from the models it reads. The local
    runtime once handed moto botocore's models, and every S3 call failed ("URL rule ''
    must start with a slash"). moto's model loading is its own: an S3 client built before
    the local AWS starts changes nothing."""
    from moto.core import utils as moto_utils

    assert moto_utils._load_service_model.__module__ == "moto.core.utils"
    boto3.client("s3", region_name="us-east-1").meta.service_model.operation_model("CreateBucket")
    with LocalAWS() as aws:
        aws.client("s3").create_bucket(Bucket="own-models")
        assert "own-models" in [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]


def test_in_process_main_leaves_the_collector_alone(capsys: pytest.CaptureFixture[str]) -> None:
    from functions.cli.main import main

    assert gc.isenabled()
    assert main(["validate", str(ROOT / "examples" / "hello.json")]) == 0
    assert gc.isenabled()
    startup.settle()  # nothing held: nothing frozen
    assert gc.isenabled()


def test_the_console_script_runs_a_routine_with_the_collector_held() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "functions.cli", "run", "--json", str(ROOT / "examples" / "hello.json")],
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "SUCCEEDED"


def test_the_interpreter_imports_without_moto_batch_and_batch_still_imports() -> None:
    script = """
import sys
import functions.local
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_batch as service,
)
assert "moto.batch" not in sys.modules and "moto.ec2" not in sys.modules
import moto.batch
from moto.batch.models import batch_backends
assert service.JobStatus is sys.modules["moto.batch.utils"].JobStatus
assert moto.batch.batch_backends is batch_backends
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=ROOT, check=False, timeout=120
    )
    assert done.stdout.strip() == b"ok", done.stderr


def test_items_are_built_as_moto_builds_them_up_to_the_size_limit() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    def build(attrs: dict[str, Any]) -> Any:
        try:
            item = Item(DynamoType(attrs["pk"]), None, attrs)
        except ItemSizeTooLarge:
            return "too large"
        return (type(item.attrs).__name__, list(item.attrs.items()), item.to_json())

    outcomes = set()
    for n in range(moto_paths.ITEM_SIZE_LIMIT - 16, moto_paths.ITEM_SIZE_LIMIT - 4):  # across the limit
        attrs = {"pk": {"S": "a"}, "m": {"M": {"big": {"S": "x" * n}}}, "n": {"N": "1"}, "l": {"L": []}}
        moto_paths.FAST_PATH.install()
        try:
            fast = build(attrs)
        finally:
            moto_paths.FAST_PATH.uninstall()
        assert fast == build(attrs), n
        outcomes.add(fast == "too large")
    assert outcomes == {True, False}  # the limit was crossed: the same attribute size fails


def test_queries_on_the_table_key_answer_the_same(dynamodb: Any) -> None:
    for pk in ("b", "c", "z"):
        for sk in range(4):
            dynamodb.put_item(
                TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": str(sk)}, "v": {"N": str(sk)}}
            )
    dynamodb.create_table(
        TableName="hash-only",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for number in ("1", "2.5", "10"):
        dynamodb.put_item(TableName="hash-only", Item={"id": {"N": number}, "x": {"S": number}})

    def query(table: str = TABLE, **extra: Any) -> Callable[[], Any]:
        return lambda: dynamodb.query(TableName=table, **extra)

    key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}}
    calls = [
        query(**key),
        query(**key, ScanIndexForward=False, Limit=2),
        query(**key, ExclusiveStartKey={"pk": {"S": "b"}, "sk": {"S": "1"}}),
        query(
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={":p": {"S": "c"}, ":a": {"S": "1"}, ":b": {"S": "2"}},
        ),
        query(
            KeyConditionExpression="pk = :p",
            FilterExpression="v > :n",
            ExpressionAttributeValues={":p": {"S": "z"}, ":n": {"N": "1"}},
            Select="COUNT",
        ),
        query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "absent"}}),
        query("hash-only", KeyConditionExpression="id = :i", ExpressionAttributeValues={":i": {"N": "2.50"}}),
    ]
    for call in calls:
        fast, plain = both_ways(call)
        assert without_metadata(fast) == without_metadata(plain)
    fast, _ = both_ways(calls[1])
    assert [item["sk"]["S"] for item in fast["Items"]] == ["3", "2"]
    fast, _ = both_ways(calls[-1])
    assert fast["Items"] == [{"id": {"N": "2.5"}, "x": {"S": "2.5"}}]  # an equal number finds it


def test_a_key_query_does_not_list_the_whole_table(dynamodb: Any) -> None:
    def whole_table(table: Any) -> Any:
        raise AssertionError("the whole table was listed")

    moto_paths.FAST_PATH.install()
    listing = moto_paths._originals["all_items"]
    try:
        moto_paths._originals["all_items"] = whole_table
        found = dynamodb.query(
            TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        )
    finally:
        moto_paths._originals["all_items"] = listing
        moto_paths.FAST_PATH.uninstall()
    assert [item["sk"]["S"] for item in found["Items"]] == ["0", "1", "2"]
    assert Table.all_items is listing


# Attribute values of every kind, as moto's model holds them (binaries as the wire's base64
# text), plus strings and numbers the shortcuts must answer exactly as moto does.
ATTRIBUTES: list[Any] = [
    *({"B": "AAE="} if "B" in value else value for value in ITEM.values()),
    {"S": ""},
    {"S": "ünïcødé ✓"},
    {"N": "-0"},
    {"N": "1e3"},
    {"N": "12345678901234567890.5"},
    {"S": 5},  # not a str: moto's own code
    {"S": "two", "N": "keys"},  # first key wins in moto
]


def described(kind_value: Any) -> tuple[Any, ...]:
    """What moto's model answers about one attribute value."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    value = DynamoType(kind_value)
    try:
        cast = value.cast_value
    except Exception as exc:  # moto's own answer for a value it cannot compare
        cast = type(exc).__name__
    try:
        size: Any = value.size()
    except Exception as exc:
        size = type(exc).__name__
    copied = copy.deepcopy(value)
    return (value.type, repr(value.value), repr(cast), size, copied.type, repr(copied.value), copied is value)


def test_attribute_values_are_built_sized_compared_and_copied_the_same() -> None:
    for kind_value in ATTRIBUTES:
        fast, plain = both_ways(lambda kind_value=kind_value: described(kind_value), dicts=None)
        assert fast == plain, kind_value
    fast, _ = both_ways(lambda: described({"N": "1.50"}), dicts=None)
    # DynamoDB sizes a number by its significant digits (moto 5.2.6): "1.50" is 2 bytes
    assert fast[2] == "Decimal('1.50')" and fast[3] == 2


def test_request_ids_are_the_same_draws_from_a_seeded_generator() -> None:
    """Same ids from the same seed, and the generator left where moto leaves it (its next
    draw equal): no word more or less is drawn, whatever the rejections."""
    from moto.moto_api._internal import mock_random

    def ids() -> list[Any]:
        drawn: list[Any] = []
        for seed in range(40):
            mock_random.seed(seed)
            drawn += [
                mock_random.get_random_string(length=52),
                mock_random.get_random_string(length=8, include_digits=False, lower_case=True),
                mock_random.get_random_string(length=1),
                mock_random.get_random_string(length=0),
                mock_random.getrandbits(64),
            ]
        return drawn

    fast, plain = both_ways(ids, dicts=None)
    assert fast == plain
    assert moto_paths._WORD_DRAWS, "the bulk draw is the one tested"
    assert len(fast[0]) == 52 and fast[1].islower() and fast[1].isalpha()


def test_items_are_copied_sized_and_listed_the_same() -> None:
    """An item's copy (the key attributes shared with its attributes, as in moto's copy),
    its size and its plain-dict form for the serializer are moto's, for every kind."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import dynamo_to_dict

    attrs = {**{k: v for k, v in ITEM.items() if k not in ("b", "bs")}, "b": {"B": "AAE="}, "x": {"S": "ü"}}

    def described() -> Any:
        from moto.dynamodb.models import utilities

        item = Item(DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
        item.attrs["pk"] = item.hash_key  # moto's items hold their key objects as attributes
        copied = copy.deepcopy(item)
        assert copied.attrs["pk"] is copied.hash_key and copied.hash_key is not item.hash_key
        assert copied.attrs is not item.attrs and copied.attrs["m"] is not item.attrs["m"]
        listed = utilities.dynamo_to_dict({"Items": [copied.attrs], "Count": 1})
        return copied.to_json(), item.size(), copied.size(), listed, dynamo_to_dict(copied)

    fast, plain = both_ways(described, dicts=None)
    assert fast == plain
    assert fast[3]["Items"][0]["x"] == {"S": "ü"} and fast[3]["Items"][0]["b"] == {"B": b"\x00\x01"}


@contextmanager
def counting(key: str) -> Iterator[list[Any]]:
    """Installs (while ``both_ways`` runs) the patch ``key`` wrapped to record its calls."""
    calls: list[Any] = []
    patches = moto_paths._patches()
    (replacement,) = [r for k, _, _, r in patches if k == key]

    def counted(*args: Any) -> Any:
        calls.append(args)
        return replacement(*args)

    swapped = [(k, o, a, counted if k == key else r) for k, o, a, r in patches]
    moto_paths.FAST_PATH._patches = lambda: swapped
    try:
        yield calls
    finally:
        moto_paths.FAST_PATH._patches = moto_paths._patches


def test_query_items_are_written_the_same_entry_by_entry(dynamodb: Any) -> None:
    """An item's map of AttributeValues, written by the map shortcut: the same bytes as
    moto's walk, for one-key strings and every other kind of value side by side."""
    mixed = {**ITEM, "sk": {"S": "mixed"}, "empty": {"S": ""}, "n2": {"N": "7"}}
    dynamodb.put_item(TableName=TABLE, Item=mixed)

    def query() -> Any:
        return dynamodb.query(
            TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        )

    with counting("json_map") as written:
        fast, plain = both_ways(query, dicts=None, taken=lambda: written)
    assert without_metadata(fast) == without_metadata(plain)
    assert fast["Items"][-1]["empty"] == {"S": ""} and fast["Items"][-1]["b"] == {"B": b"\x00\x01"}
    assert fast["Items"][-1]["m"] == ITEM["m"]


@pytest.mark.parametrize(
    "item",
    [
        {"pk": {"S": "a"}, "sk": {"S": "e1"}, "s": {"SS": []}},
        {"pk": {"S": "a"}, "sk": {"S": "e2"}, "m": {"M": {"deep": {"M": {"n": {"NS": []}}}}}},
        {"pk": {"S": "a"}, "sk": {"S": "e3"}, "o": {"S": ""}, "b": {"BOOL": True}, "l": {"L": [{"SS": []}]}},
        {"pk": {"S": ""}, "sk": {"S": "e4"}},
        {"pk": {"S": "a"}, "sk": {"S": "e5"}, "ss": {"SS": ["x"]}, "n": {"N": "1"}, "t": {"S": "x"}},
    ],
)
def test_puts_are_checked_for_empty_sets_and_keys_the_same(dynamodb: Any, item: dict[str, Any]) -> None:
    def put() -> Any:
        try:
            return without_metadata(dynamodb.put_item(TableName=TABLE, Item=item))
        except dynamodb.exceptions.ClientError as error:
            return error.response["Error"]

    empty_key = item["pk"] == {"S": ""}  # refused by the key check, before this one
    with counting("put_empty_attrs") as checked:
        fast, plain = both_ways(put, dicts=None, taken=None if empty_key else lambda: checked)
    assert fast == plain
    assert ("Code" in fast) == (empty_key or item["sk"]["S"] in ("e1", "e2"))  # "e3": a list may hold one


def test_action_names_turn_into_the_same_method_names() -> None:
    from moto.core.utils import camelcase_to_underscores

    names = ["PutItem", "GetQueueUrl", "ListTagsForResource", "DescribeDBInstances", "A", "", "getURLs", "X"]
    moto_paths.FAST_PATH.install()
    try:
        fast = [moto_paths._camelcase(name) for name in names * 2]
        assert moto_responses.camelcase_to_underscores is moto_paths._camelcase
    finally:
        moto_paths.FAST_PATH.uninstall()
    assert fast == [camelcase_to_underscores(name) for name in names * 2]
    assert fast[:2] == ["put_item", "get_queue_url"]
    assert moto_responses.camelcase_to_underscores is camelcase_to_underscores


def test_empty_answers_are_serialized_once_and_the_same(dynamodb: Any) -> None:
    """Writes that answer ``{}`` (a put, a delete, an update without return values): the
    same answer, headers included, from the answer serialized once per operation."""

    def writes() -> list[Any]:
        answers = [
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "w"}, "sk": {"S": "1"}}),
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "w"}, "sk": {"S": "2"}}),
            dynamodb.update_item(
                TableName=TABLE,
                Key={"pk": {"S": "w"}, "sk": {"S": "1"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "1"}},
            ),
            dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "w"}, "sk": {"S": "2"}}),
            dynamodb.put_item(
                TableName=TABLE, Item={"pk": {"S": "w"}, "sk": {"S": "3"}}, ReturnConsumedCapacity="TOTAL"
            ),
        ]
        out = []
        for answer in answers:
            headers = dict(answer["ResponseMetadata"]["HTTPHeaders"])
            for varying in ("date", "x-amzn-requestid"):
                assert headers.pop(varying)
            out.append((without_metadata(answer), headers, answer["ResponseMetadata"]["HTTPStatusCode"]))
        kept.append(len(moto_paths._empty_answers))
        return out

    kept: list[int] = []
    with counting("execute_result") as executed:
        fast, plain = both_ways(writes, dicts=None, taken=lambda: executed)
    assert fast == plain
    assert fast[0][0] == {} and fast[0][1]["content-type"] == "application/x-amz-json-1.0"
    assert fast[4][0]["ConsumedCapacity"]["TableName"] == TABLE  # not empty: serialized as usual
    assert kept[0] >= 1 and kept[1] == 0  # the put's, at least; nothing kept without the fast paths
