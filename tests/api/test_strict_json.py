"""Bodies the API cannot or will not read (issue #25): bytes that are not UTF-8, nesting
deep enough to exhaust the stack, numbers Python cannot hold, repeated keys. Each is a
4xx with a path, never a 500; a routine document gets the codes and paths the CLI
reports for the same bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from functions.api.handler import lambda_handler
from functions.cli.main import main
from functions.local.lambdas import LambdaContext
from statemachines import jsontext
from tests.api.conftest import FUNCTION_ARN, Api, manual, proxy_event


def call(method: str, path: str, raw: bytes) -> tuple[int, Any]:
    """A request whose body is these bytes, as API Gateway passes bytes: base64."""
    event = proxy_event(method, path, raw="")
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    result = lambda_handler(event, LambdaContext("routines-api", FUNCTION_ARN, 512, 30))
    return result["statusCode"], json.loads(result["body"])


def routine_with(value: bytes) -> bytes:
    """A routine whose one node has ``value`` (JSON text) as a field."""
    return (
        b'{"name": "n", "trigger": {"type": "manual"}, "nodes": [{"id": "a", "plugin": "transform",'
        b' "parameters": {"fields": {"x": ' + value + b"}}}]}"
    )


def routes(api: Api) -> list[tuple[str, str]]:
    """Every route that reads a body, on a routine and an execution that exist."""
    routine = api.ok("POST", "/routines", manual())["id"]
    api.ok("POST", f"/routines/{routine}/activate")
    execution = api.ok("POST", f"/routines/{routine}/executions", {"input": {}})["executionId"]
    return [
        ("POST", "/routines"),
        ("POST", "/routines/validate"),
        ("PUT", f"/routines/{routine}"),
        ("POST", f"/routines/{routine}/activate"),
        ("POST", f"/routines/{routine}/executions"),
        ("POST", f"/executions/{execution}/approvals/ask"),
    ]


def test_a_body_that_is_not_utf8_is_400_invalid_json_on_every_route_that_reads_one(api: Api) -> None:
    for method, path in routes(api):
        status, body = call(method, path, b'\xff\xfe{"name": "x"}')
        assert status == 400, (method, path, body)
        assert body["errors"] == [
            {"code": "invalid_json", "path": "body", "message": "the body is not UTF-8 text (byte 0)"}
        ]


def test_utf8_sent_as_base64_is_read_as_text(api: Api) -> None:
    status, body = call("POST", "/routines", json.dumps(manual("héllo")).encode())
    assert status == 201 and body["name"] == "héllo"
    status, body = call("POST", "/routines", b"\xef\xbb\xbf" + json.dumps(manual()).encode())
    assert status == 201  # a byte order mark is not an error, in the CLI either


DOCUMENTS = {
    "array 3000 deep": b"[" * 3000 + b"]" * 3000,
    "parameter 1000 deep": routine_with(b"[" * 1000 + b"]" * 1000),
    "parameter 200 deep": routine_with(b"[" * 200 + b"]" * 200),
    "5000-digit integer": routine_with(b"9" * 5000),
    "number out of range": routine_with(b"-1e400"),
    "repeated key": (
        b'{"name": "dup", "trigger": {"type": "manual"}, "nodes": [{"id": "a", "plugin": "transform",'
        b' "parameters": {"fields": {"x": 1}}}, {"id": "b", "plugin": "transform",'
        b' "parameters": {"fields": {"x": 1}}, "parameters": {"fields": {"y": 2}}}]}'
    ),
}


def cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: bytes) -> list[dict[str, str]]:
    path = tmp_path / "routine.json"
    path.write_bytes(raw)
    assert main(["validate", "--json", str(path)]) == 1
    errors: list[dict[str, str]] = json.loads(capsys.readouterr().out)["errors"]
    return errors


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_a_routine_the_parser_refuses_gets_the_clis_codes_and_paths(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    raw = DOCUMENTS[name]
    expected = cli_errors(tmp_path, capsys, raw)
    assert [e["code"] for e in expected] in (["limit_exceeded"], ["invalid_document"])
    routine = api.ok("POST", "/routines", manual())["id"]
    for method, path in (("POST", "/routines"), ("PUT", f"/routines/{routine}")):
        status, body = call(method, path, raw)
        assert (status, body["errors"]) == (422, expected), (method, name)
    status, body = call("POST", "/routines/validate", raw)
    assert (status, body) == (200, {"valid": False, "errors": expected, "warnings": []})
    assert api.ok("GET", f"/routines/{routine}")["version"] == 1  # nothing saved


def test_the_paths_name_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = {name: cli_errors(tmp_path, capsys, raw)[0] for name, raw in DOCUMENTS.items()}
    assert found["array 3000 deep"]["path"] == ""
    assert found["parameter 200 deep"]["path"] == "nodes[a].parameters.fields"
    assert found["5000-digit integer"]["path"] == "nodes[a].parameters.fields.x"
    assert "5,000 digits" in found["5000-digit integer"]["message"]
    assert found["repeated key"]["path"] == "nodes[b].parameters"
    assert "duplicate key 'parameters'" in found["repeated key"]["message"]


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        (b'{"input": ' + b"[" * 3000 + b"]" * 3000 + b"}", "body", "nests deeper than"),
        (b'{"input": ' + b"[" * 200 + b"]" * 200 + b"}", "body.input" + "[0]" * 127, "nests deeper than"),
        (b'{"input": {"n": ' + b"9" * 5000 + b"}}", "body.input.n", "5,000 digits"),
        (b'{"input": {"n": 1e400}}', "body.input.n", "out of range"),
        (b'{"input": {"s": "\\ud800"}}', "body.input.s", "unpaired surrogate"),
        (b'{"input": {"a": 1, "a": 2}}', "body.input.a", "duplicate key 'a'"),
        (b'{"input": {}, "input": {"a": 2}}', "body.input", "duplicate key 'input'"),
    ],
)
def test_a_run_input_the_parser_refuses_is_400_invalid_json_at_its_path(
    api: Api, raw: bytes, path: str, words: str
) -> None:
    routine = api.ok("POST", "/routines", manual())["id"]
    api.ok("POST", f"/routines/{routine}/activate")
    status, body = call("POST", f"/routines/{routine}/executions", raw)
    assert status == 400, body
    (problem,) = body["errors"]
    assert problem["code"] == "invalid_json" and problem["path"] == path and words in problem["message"]
    assert api.ok("GET", f"/routines/{routine}/executions")["items"] == []  # nothing started


def test_a_repeated_key_in_an_approval_decision_is_400_naming_it(api: Api) -> None:
    _, _, _, _, _, (method, path) = routes(api)
    status, body = call(method, path, b'{"decision": "approve", "decision": "reject"}')
    assert status == 400
    assert body["errors"] == [
        {
            "code": "invalid_json",
            "path": "body.decision",
            "message": "duplicate key 'decision': a key may appear only once in an object",
        }
    ]


def test_text_that_is_not_json_is_still_400_invalid_json_on_a_routine_route(api: Api) -> None:
    for raw in (b'{"name": ', b'{"name": NaN}', b"\xef\xbb\xbf"):
        status, body = call("POST", "/routines", raw)
        assert status == 400 and body["errors"][0]["code"] == "invalid_json", raw
        assert body["errors"][0]["path"] == "body"


def test_the_strict_parser_reads_ordinary_json_as_json_loads_does() -> None:
    text = json.dumps(
        {"a": [1, -2, 3.5, 1e300, True, None, "é\u2028😀"], "b": {"c": {"d": []}}, "": "", "n": 10**4000}
    )
    assert jsontext.loads(text) == json.loads(text)
    nested = "[" * jsontext.MAX_DEPTH + "]" * jsontext.MAX_DEPTH
    assert jsontext.loads(nested) == json.loads(nested)
    with pytest.raises(jsontext.JsonTextError):
        jsontext.loads("[" + nested + "]")
