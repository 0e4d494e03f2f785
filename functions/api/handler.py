"""The API Lambda (``contract.names.API_HANDLER``): one powertools resolver, with request
validation, OpenAPI at /openapi.json and Swagger UI at /docs. ``routines serve`` calls
the same ``lambda_handler`` with API Gateway proxy events built from HTTP requests."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi import swagger_ui as swagger_ui_module
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.names import DEFAULT_MAX_BODY_BYTES, ENV_MAX_BODY_BYTES
from functions.api import context, errors, openapi
from functions.api.routes import actions, events, executions, hooks, plugins, routines
from statemachines import jsontext

logger = Logger(service="routines-api")

TITLE = "Routines API"
VERSION = "1.0.0"
# The stack's limit (routine documents are at most 256 KiB, contract.limits).
# Anything larger is refused before it is parsed.
MAX_BODY_BYTES = int(os.environ.get(ENV_MAX_BODY_BYTES) or DEFAULT_MAX_BODY_BYTES)
# Paths served without a caller identity (webhooks add their prefix here).
PUBLIC_PATHS = ("/openapi.json", "/docs")
PUBLIC_PREFIXES: tuple[str, ...] = ("/hooks/",)


# Every body a route reads goes through the one strict parser (statemachines.jsontext);
# what it refuses is mapped in errors.py: 400 invalid_json, or for a routine document the
# validator's 422 codes and paths, as `routines validate` reports the same bytes.
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=jsontext.loads)
errors.install(app)
for module in (routines, executions, plugins, hooks, actions, events):
    app.include_router(module.router)


def _document() -> dict[str, Any]:
    return openapi.build(app, app.current_event.raw_event, TITLE, VERSION)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, json.dumps(_document(), indent=2))


@app.get("/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    """Swagger UI on the same document as /openapi.json (its security scheme included,
    so that "Try it out" sends the caller's identity)."""
    spec = json.dumps(_document(), indent=2).replace("</", "<\\/")
    html = generate_swagger_html(
        spec, _asset("swagger-ui-bundle.min.js"), _asset("swagger-ui.min.css"), "", None
    )
    return Response(200, "text/html", html)


@cache
def _asset(name: str) -> str:
    return (Path(swagger_ui_module.__file__).parent / name).read_text(encoding="utf-8")


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _refuse(status: int, code: str, message: str, path: str = "") -> dict[str, Any]:
    body = json.dumps({"errors": [errors.problem(code, message, path)]})
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], lambda_context: LambdaContext) -> dict[str, Any]:
    # Checked before the resolver parses anything: an oversized body is never read, and an
    # anonymous caller learns nothing, not even whether its request was valid.
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        return _refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
    if not _public(event.get("path") or "") and context.owner_of(event) is None:
        return _refuse(
            401, "unauthorized", "no caller identity (API Gateway authorizer, or X-User-Id locally)"
        )
    if not _public(event.get("path") or ""):
        _as_json(event)
    _decode_path(event)
    return app.resolve(event, lambda_context)


_ESCAPED_SLASH = re.compile("%2F", re.IGNORECASE)


def _decode_path(event: dict[str, Any]) -> None:
    """Path parameters as they were meant (``/executions/a%3Ab`` is execution ``a:b``), as
    API Gateway decodes them; an escaped ``/`` stays escaped: it does not split a segment."""
    path = event.get("path")
    if isinstance(path, str) and "%" in path:
        event["path"] = "%2F".join(unquote(part) for part in _ESCAPED_SLASH.split(path))


def _as_json(event: dict[str, Any]) -> None:
    """Every body of this API is JSON, whatever Content-Type says (``curl -d`` sends a
    form type): read it as JSON, so a form body gets a JSON error, not a form parse. A
    base64 body (API Gateway's binary media types, ``routines serve`` for bytes that are
    not UTF-8) becomes text here, so that powertools never decodes it itself (its
    UnicodeDecodeError was a 500): bytes that are not UTF-8 are kept as surrogate escapes,
    which the parser refuses as ``invalid_json`` ("not UTF-8 text (byte N)") — on the
    routes that read a body, like any other body that is not JSON."""
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key) or {}
        for name in [n for n in headers if n.lower() == "content-type"]:
            del headers[name]
    body = event.get("body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raw = body.encode()  # not base64 after all: read as it is (and refused as not JSON)
        event["body"] = raw.decode("utf-8", "surrogateescape")
        event["isBase64Encoded"] = False
