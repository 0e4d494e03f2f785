"""HTTP request ⇄ API Gateway REST proxy event (the shape API Gateway gives Lambda).

Thin by design: routing is the resolver's. Handlers are matched by path prefix, so the
webhook and local-only routes (``/hooks/``, ``/local/``) can be served by their own
Lambda handlers through the same adapter; everything else goes to the API handler.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from functions.local.lambdas import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
ACCOUNT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
USER_HEADER = "x-user-id"


def to_event(
    method: str, target: str, headers: dict[str, str], body: bytes, stage: str = "local"
) -> dict[str, Any]:
    """The proxy event of one HTTP request; ``X-User-Id`` becomes the authorizer's ``sub``
    (what the Cognito authorizer provides on AWS)."""
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers.items():
        multi_headers.setdefault(key, []).append(value)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    user = next((v for k, v in headers.items() if k.lower() == USER_HEADER), None)
    request_id = str(uuid.uuid4())
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": {**headers, "X-Forwarded-Proto": "http"},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": parts.path,
            "stage": stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "domainName": headers.get("Host", "127.0.0.1"),
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": {"sub": user}} if user else None,
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def from_result(result: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of a proxy integration response."""
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for key, value in (result.get("headers") or {}).items():
        if key not in multi:
            headers.append((key, str(value)))
    for key, values in multi.items():
        headers += [(key, str(v)) for v in values]
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result.get("statusCode", 502)), headers, data


class Dispatcher:
    """Path prefix → Lambda handler; the API handler serves everything else."""

    def __init__(self, default: Handler, name: str = "routines-api") -> None:
        self.default = default
        self.name = name
        self.routes: list[tuple[str, Handler, str]] = []

    def add(self, prefix: str, handler: Handler, name: str) -> None:
        self.routes.append((prefix, handler, name))
        self.routes.sort(key=lambda route: len(route[0]), reverse=True)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        path = event["path"]
        handler, name = self.default, self.name
        for prefix, candidate, candidate_name in self.routes:
            if path.startswith(prefix):
                handler, name = candidate, candidate_name
                break
        context = LambdaContext(name, ACCOUNT_FUNCTION_ARN.format(name), 512, 30)
        return handler(event, context)
