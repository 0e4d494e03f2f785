"""botocore's client side with the local fast paths gives exactly what it gives without
them: the same validation report, the same request bytes and the same parsed answer, for
values the shortcuts take and values they leave alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.parsers import create_parser
from botocore.serialize import JSONSerializer, create_serializer
from botocore.validate import ParamValidator

from functions.local.fastpaths import botocore_paths
from tests.functions.conftest import DYNAMODB_ITEM as ITEM


class Text(str):
    """A str subclass: the shortcuts leave it to botocore's own walk."""


# Attribute maps the shortcuts take in part (plain one-key strings) and leave in part:
# every other kind of value, two keys, no key, a non-string, a str subclass, unknown
# members, None.
ITEMS: list[dict[str, Any]] = [
    ITEM,
    {"pk": {"S": ""}, "n": {"N": "-0"}, "text": {"S": "ünïcødé ✓ \x00"}},
    {"two": {"S": "x", "N": "1"}, "none": {}, "number": {"S": 1}, "sub": {"S": Text("t")}},
    {"unknown": {"X": "a"}, "lower": {"s": "a"}, "null": {"S": None}, "list": {"S": ["a"]}},
    {"bad": "plain string", "nested": {"M": {"k": {"S": 2}, "ok": {"S": "v"}}}, 1: {"S": "int key"}},
]


def dynamodb() -> Any:
    return boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )


def both_ways(call: Callable[[], Any]) -> tuple[Any, Any]:
    """The call's result with the fast paths installed, then without them."""
    botocore_paths.install()
    try:
        fast = call()
    finally:
        botocore_paths.uninstall()
    return fast, call()


def test_validation_reports_the_same() -> None:
    model = dynamodb().meta.service_model.operation_model("PutItem")
    for item in ITEMS:

        def report(item: dict[str, Any] = item) -> str:
            found = ParamValidator().validate({"TableName": "t", "Item": item}, model.input_shape)
            return str(found.generate_report())

        fast, plain = both_ways(report)
        assert fast == plain
    botocore_paths.install()
    try:
        assert not report(ITEMS[0]), "a valid item passes"
        problems = report(ITEMS[3]) + report(ITEMS[4])
    finally:
        botocore_paths.uninstall()
    for problem in (
        'Item.unknown: "X"',
        "Item.null.S",
        "Item.list.S",
        "Item.bad",
        "Item.nested.M.k.S",
        "Item (key: 1)",
    ):
        assert problem in problems


def test_a_shortcut_is_taken_for_a_plain_string_only() -> None:
    model = dynamodb().meta.service_model.operation_model("PutItem")
    value_shape = model.input_shape.members["Item"].value
    botocore_paths.install()
    try:
        names, by_wire = botocore_paths._plain_strings(value_shape)
        errors = ParamValidator().validate({"TableName": "t", "Item": {"a": {"S": "x"}}}, model.input_shape)
    finally:
        botocore_paths.uninstall()
    assert set(names) == {"S", "N"} and by_wire == {"S": "S", "N": "N"}
    assert not errors.has_errors()
    assert not botocore_paths._members, "the caches are dropped with the patches"


def test_requests_serialize_to_the_same_bytes() -> None:
    model = dynamodb().meta.service_model.operation_model("PutItem")
    serializer = create_serializer("json")
    for item in ITEMS[:2]:

        def body(item: dict[str, Any] = item) -> bytes:
            request = serializer.serialize_to_request({"TableName": "t", "Item": item}, model)
            return bytes(request["body"])

        fast, plain = both_ways(body)
        assert fast == plain
    assert json.loads(fast)["Item"]["text"] == {"S": "ünïcødé ✓ \x00"}


def test_answers_parse_to_the_same_values() -> None:
    model = dynamodb().meta.service_model.operation_model("Query")
    wire_items = [
        {"pk": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": "AAE="}, "ok": {"BOOL": False}},
        {"none": {"NULL": True}, "ss": {"SS": ["x"]}, "m": {"M": {"S": {"S": "v"}, "N": {"N": "2"}}}},
        {"empty": {"S": ""}, "two": {"S": "x", "N": "1"}, "number": {"S": 1}, "unknown": {"X": "y"}},
        {"nulled": {"S": None}, "l": {"L": [{"S": "s"}, {"N": "3"}]}},
    ]
    body = json.dumps({"Items": wire_items, "Count": 4, "LastEvaluatedKey": {"pk": {"S": "a"}}}).encode()

    def parse() -> Any:
        raw = AWSResponse("https://dynamodb", 200, {"x-amzn-requestid": "r"}, _Raw(body))
        return create_parser("json").parse(convert_to_response_dict(raw, model), model.output_shape)

    fast, plain = both_ways(parse)
    assert fast == plain
    assert fast["Items"][0]["b"] == {"B": b"\x00\x01"}
    assert fast["Items"][1]["m"] == {"M": {"S": {"S": "v"}, "N": {"N": "2"}}}


def test_uninstall_restores_botocore() -> None:
    originals = (ParamValidator._validate_structure, JSONSerializer._serialize_type_structure)
    botocore_paths.install()
    botocore_paths.install()  # nested users: the inner one's uninstall keeps the patches
    try:
        botocore_paths.uninstall()
        assert ParamValidator._validate_structure is not originals[0]
    finally:
        botocore_paths.uninstall()
    assert (ParamValidator._validate_structure, JSONSerializer._serialize_type_structure) == originals


class _Raw:
    """A raw HTTP body, as botocore's AWSResponse reads it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body
