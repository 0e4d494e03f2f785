"""The OpenAPI document says what the API does (issue #25): success responses, request
schemas the server agrees with, how a caller is identified, every route (webhooks, and
the local ones under ``routines serve``), and honest versions and ETags."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest

from functions.api.handler import lambda_handler
from functions.local.lambdas import LambdaContext
from tests.api.conftest import FUNCTION_ARN, Api, example, manual, proxy_event

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _call(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = lambda_handler(event, LambdaContext("routines-api", FUNCTION_ARN, 512, 30))
    return result


def _document(local: bool = False) -> dict[str, Any]:
    event = proxy_event("GET", "/openapi.json", user=None)
    if local:  # as routines serve builds its events (functions/serve/adapter.py)
        event["requestContext"]["stage"] = "local"
        event["requestContext"]["path"] = "/openapi.json"
    result = _call(event)
    assert result["statusCode"] == 200
    document: dict[str, Any] = json.loads(result["body"])
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _valid(document: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    return validator.is_valid(value)


def test_every_operation_declares_its_success_response(api: Api) -> None:
    for method, path, operation in _operations(_document(local=True)):
        successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert successes, f"{method} {path} declares no 2xx"
        for code, response in successes.items():
            if code == "204":
                assert "content" not in response, f"{method} {path}: a 204 has no body"
            elif path == "/executions/{execution_id}/events":  # Server-Sent Events
                assert response["content"]["text/event-stream"]["schema"], f"{method} {path} {code}"
            else:
                assert response["content"]["application/json"]["schema"], f"{method} {path} {code}"


def test_a_routine_body_is_a_routine_document(api: Api) -> None:
    document = _document()
    for path, method in (("/routines", "post"), ("/routines/{routine_id}", "put")):
        body = document["paths"][path][method]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/RoutineDocument"}
        assert not _valid(document, schema, {})  # {} was "valid": the server says 422
        assert not _valid(document, schema, {**manual(), "nodes": []})
        assert _valid(document, schema, manual())
        assert _valid(document, schema, example("hello.json"))
    # A node's parameters follow its plugin's schema.
    wrong = {**manual(), "nodes": [{"id": "a", "plugin": "transform", "parameters": {"nope": 1}}]}
    assert not _valid(document, {"$ref": "#/components/schemas/RoutineDocument"}, wrong)
    # /routines/validate takes any JSON and answers with a verdict.
    validate = document["paths"]["/routines/validate"]["post"]
    assert validate["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert api.ok("POST", "/routines/validate", {})["valid"] is False
    # Not an object (pydantic took a list of pairs for one): refused, as documented.
    for path in ("/routines", "/routines/validate"):
        for body in ([["name", "x"]], [{"": {}}], False):
            status, problems, _ = api("POST", path, body)
            assert status == 422 and problems["errors"][0]["path"] == "body", (path, body, problems)


def test_no_parameter_may_be_null(api: Api) -> None:
    document = _document()
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            assert {"type": "null"} not in parameter["schema"].get("anyOf", []), (method, path, parameter)
    put = document["paths"]["/routines/{routine_id}"]["put"]
    (if_match,) = [p for p in put["parameters"] if p["name"].lower() == "if-match"]
    for good in ('"3"', 'W/"3"', "3", "*"):
        assert _valid(document, if_match["schema"], good), good
    for bad in ("null", "", '"abc"', "²"):
        assert not _valid(document, if_match["schema"], bad), bad
    routine = api.ok("POST", "/routines", manual())
    for bad in ("null", "²"):  # "²".isdigit() was a 500
        status, body, _ = api("PUT", f"/routines/{routine['id']}", manual(), headers={"If-Match": bad})
        assert status == 422 and body["errors"][0]["path"] == "header.If-Match", (bad, body)


def test_callers_are_identified_as_the_document_says(api: Api) -> None:
    aws = _document()
    assert aws["components"]["securitySchemes"] == {
        "cognito": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "a Cognito user pool ID token (the JWT) of the stack's user pool",
        }
    }
    assert aws["security"] == [{"cognito": []}]
    local = _document(local=True)
    scheme = local["components"]["securitySchemes"]["userId"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-User-Id")
    assert local["security"] == [{"userId": []}]
    # The webhook's credential is its signature, not a user.
    assert local["paths"]["/hooks/{routineId}"]["post"]["security"] == []
    assert aws["servers"] == [{"url": "/prod"}] and local["servers"] == [{"url": "/"}]


def test_every_operation_needs_its_identity(api: Api) -> None:
    """What schemathesis's ignored_auth would check with no identity (it is off: under
    routines serve any X-User-Id names a valid user)."""
    document = _document()
    checked = 0
    for method, path, operation in _operations(document):
        if operation.get("security", document["security"]) == []:
            continue
        concrete = path.replace("{routine_id}", "r1").replace("{execution_id}", "e1")
        concrete = concrete.replace("{node_id}", "n1").replace("{name}", "transform")
        status, body, _ = api(method, concrete, {} if method in ("POST", "PUT") else None, user=None)
        assert status == 401 and body["errors"][0]["code"] == "unauthorized", (method, path, status)
        checked += 1
    assert checked == 19


def test_webhooks_and_local_routes_are_documented() -> None:
    aws, local = _document(), _document(local=True)
    hook = aws["paths"]["/hooks/{routineId}"]["post"]
    assert [p["name"] for p in hook["parameters"]] == ["routineId", "X-Signature-256", "Idempotency-Key"]
    assert set(hook["responses"]) >= {"202", "400", "401", "404", "413", "422"}
    assert not [p for p in aws["paths"] if p.startswith("/local/")]  # never deployed
    assert {p for p in local["paths"] if p.startswith("/local/")} == {
        "/local/routines/{routineId}/fire",
        "/local/events",
    }


def test_swagger_ui_shows_the_same_document_with_its_security_scheme() -> None:
    event = proxy_event("GET", "/docs", user=None)
    event["requestContext"]["stage"] = "local"
    result = _call(event)
    headers = {**(result.get("headers") or {}), **(result.get("multiValueHeaders") or {})}
    assert result["statusCode"] == 200 and "text/html" in str(headers["Content-Type"])
    assert '"X-User-Id"' in result["body"] and '"/hooks/{routineId}"' in result["body"]
    assert '"/local/events"' in result["body"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/plugins", "GET"),
        ("PATCH", "/routines/abc", "DELETE, GET, PUT"),
        ("OPTIONS", "/routines/validate", "POST"),
        ("DELETE", "/routines", "GET, POST"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_405_with_allow(
    api: Api, method: str, path: str, allow: str
) -> None:
    status, body, headers = api(method, path)
    assert status == 405 and headers["Allow"] == allow
    assert body["errors"][0]["code"] == "method_not_allowed"
    assert api("GET", "/no/such/thing")[0] == 404


def test_an_escaped_path_parameter_is_decoded(api: Api) -> None:
    # "a:b" is a well-formed execution id: 404, not a 422 for "a%3Ab".
    status, body, _ = api("GET", "/executions/a%3Ab")
    assert status == 404 and body["errors"][0]["code"] == "not_found"
    status, body, _ = api("GET", "/routines/a%2Fb")  # an escaped / does not split the path
    assert status == 422 and body["errors"][0]["path"] == "path.routine_id"


def test_an_older_version_is_shown_as_itself_and_cannot_overwrite_the_latest(api: Api) -> None:
    routine = api.ok("POST", "/routines", manual(message="one"))
    rid = routine["id"]
    for n in (2, 3, 4):
        api.ok("PUT", f"/routines/{rid}", manual(message=f"v{n}"), headers={"If-Match": f'"{n - 1}"'})
    status, old, headers = api("GET", f"/routines/{rid}", query={"version": "1"})
    assert status == 200
    assert old["version"] == 1 and old["currentVersion"] == 4 and headers["ETag"] == '"1"'
    assert old["document"]["nodes"][0]["parameters"]["fields"]["message"] == "one"
    # Edited and saved with the ETag it came with: refused, version 4 stays the latest.
    edited = {**old["document"], "description": "edited from version 1"}
    status, body, _ = api("PUT", f"/routines/{rid}", edited, headers={"If-Match": headers["ETag"]})
    assert status == 409 and body["errors"][0]["code"] == "conflict"
    status, latest, headers = api("GET", f"/routines/{rid}")
    assert latest["version"] == latest["currentVersion"] == 4 and headers["ETag"] == '"4"'
    assert latest["document"]["nodes"][0]["parameters"]["fields"]["message"] == "v4"
