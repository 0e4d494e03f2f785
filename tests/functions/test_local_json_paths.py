"""A plain JSONPath found by functions/local/json_paths.py reads what moto's
``extract_json`` reads through jsonpath-ng: the same value (the very object), or the same
error, for every kind of data; any other path is jsonpath-ng's own."""

from __future__ import annotations

from typing import Any

import pytest
from jsonpath_ng.ext import parse
from jsonpath_ng.jsonpath import DatumInContext
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError, extract_json

from functions.local import LocalAWS
from functions.local.fastpaths.json_paths import DottedPath, simplified

PLAIN = ["$", "$.a", "$.a.b", "$.a.b.c", "$.len", "$.a-b", "$.Execution.Id", "$.none", "$.zero.x"]
OTHER = ["$.a[0]", "$.a[*]", "$.list[1].x", "$.list[0:1]", "$..b", "$.a.*", "$[*]", "$.a[?(@.b)]"]


class WithGet(dict):  # type: ignore[type-arg]
    """Not a plain dict: left to jsonpath-ng."""


DATA: list[Any] = [
    {"a": {"b": {"c": 1}}, "len": [1], "a-b": "x", "none": None, "zero": 0},
    {"a": {"b": [1, 2]}, "list": [{"x": 1}, {"x": 2}]},
    {"a": [{"b": 1}], "Execution": {"Id": "arn"}},
    {"a": {"b": None}},
    {"a": "text"},
    {"a": 5, "zero": {"x": False}},
    [1, 2],
    "text",
    3,
    None,
    True,
    {},
    WithGet(a={"b": {"c": 2}}),
    {"a": WithGet(b={"c": 3})},
]


def through(expression: Any, path: str, data: Any) -> tuple[str, Any]:
    """``extract_json``'s answer (or error) with ``expression`` as the parsed path."""
    saved = json_path.parse
    json_path.parse = lambda _: expression
    try:
        return "value", extract_json(path, data)
    except NoSuchJsonPathError as error:
        return "error", (error.json_path, error.data is data, str(error))
    finally:
        json_path.parse = saved


@pytest.mark.parametrize("path", PLAIN + OTHER)
def test_extract_json_reads_the_same_through_either(path: str) -> None:
    original = parse(path)
    fast = simplified(original)
    assert isinstance(fast, DottedPath) == (path in PLAIN)
    for data in DATA:
        mine, theirs = through(fast, path, data), through(original, path, data)
        assert mine == theirs, (path, data)
        if mine[0] == "value":
            assert mine[1] is theirs[1] or path in OTHER  # the very object, not a copy


def test_wrapped_data_and_auto_ids_go_to_jsonpath_ng(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = simplified(parse("$.a.b"))
    wrapped = DatumInContext({"a": {"b": 1}})
    assert [m.value for m in fast.find(wrapped)] == [m.value for m in parse("$.a.b").find(wrapped)] == [1]
    from jsonpath_ng import jsonpath

    monkeypatch.setattr(jsonpath, "auto_id_field", "id")
    found = simplified(parse("$.a.id")).find({"a": {"x": 1}})
    assert [m.value for m in found] == [m.value for m in parse("$.a.id").find({"a": {"x": 1}})]


def test_the_interpreter_reads_plain_paths_this_way_only_while_a_local_aws_is_up() -> None:
    with LocalAWS():
        assert isinstance(json_path.parse("$.node.x"), DottedPath)
        assert not isinstance(json_path.parse("$.node.x[2]"), DottedPath)
    assert not isinstance(json_path.parse("$.node.x"), DottedPath)
