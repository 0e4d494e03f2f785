"""The OpenAPI document (``GET /openapi.json``, and the one Swagger UI at ``GET /docs``
shows): what powertools generates from the routes and models, completed with what it
cannot know.

- The routine document's JSON Schema (:func:`statemachines.schema.routine_schema`, each
  plugin's parameters included) as the body of ``POST /routines``,
  ``POST /routines/validate`` and ``PUT /routines/{routine_id}``, not "any object".
- How a caller is identified: a Cognito ID token in ``Authorization`` on AWS, the
  ``X-User-Id`` header under ``routines serve``; every operation needs it except the
  webhook (its HMAC signature is the credential), the document and the docs page.
- ``POST /hooks/{routineId}``, served by the webhook Lambda on the same API.
- Under ``routines serve`` only, its development endpoints ``POST /local/routines/{id}/fire``
  and ``POST /local/events`` (``functions/serve/local_api.py``).

"Under ``routines serve``" is the stage the local server puts in its events
(:data:`LOCAL_STAGE`, ``functions.serve.adapter.to_event``).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from contract.names import DEFAULT_MAX_BODY_BYTES
from plugins.sdk import default_registry
from statemachines.schema import routine_schema

LOCAL_STAGE = "local"
DOCUMENT_SCHEMA = "RoutineDocument"
# Operations whose body is a routine document (path, method).
DOCUMENT_BODIES = (("/routines", "post"), ("/routines/{routine_id}", "put"))
# POST /routines/validate takes any object: what is not a routine gets its verdict (200).
VALIDATE = ("/routines/validate", "post")
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
COGNITO = "cognito"
LOCAL_USER = "userId"
# How a caller is identified, as (security scheme, request header, description).
AWS_CREDENTIAL = (COGNITO, "Authorization", "a Cognito user pool ID token (the JWT) of the stack's user pool")
LOCAL_CREDENTIAL = (
    LOCAL_USER,
    "X-User-Id",
    "`routines serve`: the caller's user id (any id; each user sees only their own)",
)


def is_local(event: dict[str, Any]) -> bool:
    return ((event.get("requestContext") or {}).get("stage")) == LOCAL_STAGE


def build(app: APIGatewayRestResolver, event: dict[str, Any], title: str, version: str) -> dict[str, Any]:
    """The document for the caller of ``event`` (its servers, and the local endpoints
    when it came through ``routines serve``)."""
    document = copy.deepcopy(_generated(app, title, version))
    local = is_local(event)
    document["servers"] = [{"url": _base_path(event)}]
    _security(document, local)
    document["paths"]["/hooks/{routineId}"] = _webhook_path()
    if local:
        document["paths"].update(_local_paths())
    return document


@cache
def _generated(app: APIGatewayRestResolver, title: str, version: str) -> dict[str, Any]:
    """What powertools generates, with the routine document's schema put in (the routes do
    not change while the process lives: built once)."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=title, version=version))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_document_schemas())
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
            # powertools gives a 204 a JSON "null" body; it has none.
            operation.get("responses", {}).get("204", {}).pop("content", None)
    for path, method in DOCUMENT_BODIES:
        operation = document["paths"][path][method]
        operation["requestBody"] = {
            "required": True,
            "description": "a routine document (DESIGN §2); the validator reports every problem at once",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{DOCUMENT_SCHEMA}"}}},
        }
    path, method = VALIDATE
    document["paths"][path][method]["requestBody"] = {
        "required": True,
        "description": (
            f"any JSON object: checked against {DOCUMENT_SCHEMA} and the validator's rules, "
            'and answered with the verdict (`"valid": false` and every problem when it is not a routine)'
        ),
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return document


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its ``null`` variant: a parameter that is not
    given is left out (``If-Match: null`` is a text, and a wrong one)."""
    variants = schema.get("anyOf")
    if not isinstance(variants, list) or {"type": "null"} not in variants:
        return schema
    rest = [v for v in variants if v != {"type": "null"}]
    kept = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest[0], **kept} if len(rest) == 1 else {**kept, "anyOf": rest}


def _document_schemas() -> dict[str, Any]:
    """The routine document's schema and its definitions as components (``Node`` becomes
    ``RoutineDocumentNode``: the API has models of its own names)."""
    schema = routine_schema()
    definitions = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema["title"] = DOCUMENT_SCHEMA
    # The validator's rules the model does not carry: a routine has a node; a node names
    # a version its plugin has, and gives the parameters its plugin requires.
    schema["properties"]["nodes"]["minItems"] = 1
    registry = default_registry()
    for rule in definitions["Node"].get("allOf", []):
        plugin = registry.find(rule["if"]["properties"]["plugin"]["const"])
        if plugin is None:
            continue
        then = rule["then"]
        then["properties"]["version"] = {"anyOf": [{"enum": list(plugin.versions)}, {"type": "null"}]}
        if then["properties"]["parameters"].get("required"):
            then["required"] = ["parameters"]
    text = json.dumps({DOCUMENT_SCHEMA: schema, **{DOCUMENT_SCHEMA + k: v for k, v in definitions.items()}})
    text = text.replace('"#/$defs/', f'"#/components/schemas/{DOCUMENT_SCHEMA}')
    out: dict[str, Any] = json.loads(text)
    return out


def _base_path(event: dict[str, Any]) -> str:
    """``/<stage>`` when the API is reached through its stage in the path (the default
    execute-api host), else ``/`` (a custom domain, ``routines serve``)."""
    context = event.get("requestContext") or {}
    stage, path = context.get("stage"), str(context.get("path") or "")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        return f"/{stage}"
    return "/"


def _security(document: dict[str, Any], local: bool) -> None:
    name, header, description = LOCAL_CREDENTIAL if local else AWS_CREDENTIAL
    schemes = document["components"].setdefault("securitySchemes", {})
    schemes[name] = {"type": "apiKey", "in": "header", "name": header, "description": description}
    document["security"] = [{name: []}]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}


def _webhook_path() -> dict[str, Any]:
    return {
        "post": {
            "tags": ["webhooks"],
            "summary": "Call a webhook routine (the signature is the credential)",
            "operationId": "call_webhook_hooks__routineId__post",
            "security": [],
            "parameters": [
                {
                    "name": "routineId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                },
                {
                    "name": "X-Signature-256",
                    "in": "header",
                    "required": True,
                    "description": (
                        '`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` '
                        "(`sha256=<hex HMAC-SHA256(secret, raw body)>` for routines with "
                        "`legacySignature`)"
                    ),
                    "schema": {"type": "string"},
                },
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "one execution per key per routine for 24 hours",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                },
            ],
            "requestBody": {
                "required": False,
                "description": (
                    "anything up to the size limit: a JSON body is parsed (and refused when the "
                    "strict parser refuses it), other text kept as text, other bytes as base64"
                ),
                "content": {
                    "application/json": {"schema": {}},
                    "text/plain": {"schema": {"type": "string"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "responses": {
                "202": {
                    "description": "started",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"executionId": {"type": "string"}},
                                "required": ["executionId"],
                            }
                        }
                    },
                },
                "400": _error("a JSON body the strict parser refuses, or a bad Idempotency-Key"),
                "401": _error("missing, malformed, stale or wrong signature"),
                "404": _error("no active webhook routine with this id"),
                "405": _error("webhooks take POST"),
                "409": _error("a request with this Idempotency-Key is still being handled"),
                "413": _error(f"the body is over the size limit ({DEFAULT_MAX_BODY_BYTES} bytes by default)"),
                "422": _error("this Idempotency-Key was used with another body"),
                "500": _error("internal error"),
            },
        }
    }


def _local_paths() -> dict[str, Any]:
    started = {
        "type": "object",
        "properties": {"executionId": {"type": "string"}, "trigger": {}},
        "required": ["executionId"],
    }
    # Any entry is taken; one PutEvents would refuse is answered with its ErrorCode.
    entry = {
        "description": (
            "a PutEvents entry: Source, DetailType, Detail (the detail as JSON text), "
            "EventBusName (default: the default bus), Resources, Time"
        ),
    }
    delivered = {
        "type": "object",
        "properties": {
            "FailedEntryCount": {"type": "integer"},
            "Entries": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["FailedEntryCount", "Entries"],
    }
    return {
        "/local/routines/{routineId}/fire": {
            "post": {
                "tags": ["local"],
                "summary": "`routines serve` only: fire your active cron routine now",
                "operationId": "fire_local_routines__routineId__fire_post",
                "parameters": [
                    {"name": "routineId", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "202": {"description": "fired", "content": {"application/json": {"schema": started}}},
                    "401": _error("no caller identity"),
                    "404": _error("no active cron routine of yours with this id"),
                    "405": _error("local endpoints take POST"),
                    "500": _error("internal error"),
                },
            }
        },
        "/local/events": {
            "post": {
                "tags": ["local"],
                "summary": "`routines serve` only: deliver events to the event routines they match",
                "operationId": "put_events_local_events_post",
                "security": [],  # events name no owner: they reach every matching routine
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "Entries": {
                                        "type": "array",
                                        "items": entry,
                                        "minItems": 1,
                                        "maxItems": 10,
                                    }
                                },
                                "required": ["Entries"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "per entry the executions started, or its ErrorCode",
                        "content": {"application/json": {"schema": delivered}},
                    },
                    "400": _error("the body is not JSON"),
                    "405": _error("local endpoints take POST"),
                    "422": _error("Entries: a list of 1 to 10 entries"),
                    "500": _error("internal error"),
                },
            }
        },
    }
