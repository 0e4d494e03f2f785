"""API tests: API Gateway REST proxy events through the API Lambda's handler, on the local
AWS (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.api import context as api_context
from functions.api.handler import lambda_handler
from functions.local import LocalAWS
from functions.local.lambdas import LambdaContext
from functions.local.status_events import StatusEvents

EXAMPLES = Path(__file__).parents[2] / "examples"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:routines-api"


def proxy_event(
    method: str,
    path: str,
    body: Any = None,
    user: str | None = "alice",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as a Cognito-authorized request arrives."""
    text = raw if raw is not None else (None if body is None else json.dumps(body))
    all_headers = {"Content-Type": "application/json", "Host": "api.example.com", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "req-1",
            "domainName": "api.example.com",
            "identity": {"sourceIp": "192.0.2.1"},
            "authorizer": {"claims": {"sub": user}} if user else None,
        },
        "body": text,
        "isBase64Encoded": False,
    }


class Api:
    """Calls the handler; returns (status, JSON body, headers)."""

    def __call__(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> tuple[int, Any, dict[str, Any]]:
        context = LambdaContext("routines-api", FUNCTION_ARN, 512, 30)
        result = lambda_handler(proxy_event(method, path, body, **kwargs), context)
        payload = json.loads(result["body"]) if result.get("body") else None
        headers = {**(result.get("headers") or {})}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = values[-1]
        return result["statusCode"], payload, headers

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, payload, _ = self(method, path, body, **kwargs)
        assert status < 300, (status, payload)
        return payload


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        api_context.reset()
        yield local
        api_context.reset()


@pytest.fixture
def api(aws: LocalAWS) -> Api:
    return Api()


@pytest.fixture
def events(aws: LocalAWS) -> Iterator[StatusEvents]:
    """Step Functions' status events delivered to the recorder, as EventBridge would."""
    with StatusEvents(aws) as delivered:
        yield delivered


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return document


def manual(name: str = "greeter", message: str = "hi") -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "greet",
                "plugin": "transform",
                "parameters": {"fields": {"message": message, "who": "{{ trigger.who }}"}},
            }
        ],
    }
