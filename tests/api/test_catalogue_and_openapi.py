"""/plugins, /openapi.json and /docs through the API handler."""

from __future__ import annotations

import json
from typing import Any

from functions.api.handler import lambda_handler
from functions.local.lambdas import LambdaContext
from plugins.sdk import default_registry
from tests.api.conftest import FUNCTION_ARN, Api, proxy_event


def test_plugins_catalogue_with_parameter_schemas(api: Api) -> None:
    catalogue = api.ok("GET", "/plugins")
    assert [p["name"] for p in catalogue] == default_registry().names()
    transform = api.ok("GET", "/plugins/transform")
    assert transform["name"] == "transform"
    assert json.dumps(transform) in json.dumps(catalogue)
    status, body, _ = api("GET", "/plugins/no-such-plugin")
    assert status == 404 and body["errors"][0]["code"] == "not_found"


def test_openapi_document_lists_every_endpoint_without_identity(api: Api) -> None:
    status, document, _ = api("GET", "/openapi.json", user=None)
    assert status == 200 and document["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("POST", "/routines"),
        ("GET", "/routines"),
        ("POST", "/routines/validate"),
        ("GET", "/routines/{routine_id}"),
        ("PUT", "/routines/{routine_id}"),
        ("DELETE", "/routines/{routine_id}"),
        ("GET", "/routines/{routine_id}/definition"),
        ("POST", "/routines/{routine_id}/activate"),
        ("POST", "/routines/{routine_id}/deactivate"),
        ("POST", "/routines/{routine_id}/executions"),
        ("GET", "/routines/{routine_id}/executions"),
        ("GET", "/executions/{execution_id}"),
        ("GET", "/executions/{execution_id}/events"),
        ("POST", "/routines/{routine_id}/webhook/rotate"),
        ("POST", "/executions/{execution_id}/approvals/{node_id}"),
        ("POST", "/executions/{execution_id}/rerun"),
        ("POST", "/executions/{execution_id}/stop"),
        ("GET", "/plugins"),
        ("GET", "/plugins/{name}"),
        ("POST", "/hooks/{routineId}"),  # the webhook Lambda, on the same API
    }
    error = document["paths"]["/routines"]["post"]["responses"]["422"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_swagger_ui_is_served(api: Any) -> None:
    context = LambdaContext("routines-api", FUNCTION_ARN, 512, 30)
    result = lambda_handler(proxy_event("GET", "/docs", user=None), context)
    assert result["statusCode"] == 200
    assert "swagger" in result["body"].lower()
