"""http-request. Version 1 took ``timeout`` in milliseconds and headers as a list of
``{name, value}``; version 2 (current) takes ``timeoutSeconds`` and a headers object.

Every request carries the attempt's idempotency token in an ``Idempotency-Key`` header
(``idempotencyHeader`` renames it, or turns it off): a server that honours it drops a
retry's or an Express repeat's second request. See docs/plugins.md, "Safe to repeat".
"""

from collections.abc import Mapping
from typing import Any

from contract.expressions import has_expression
from plugins.sdk import (
    ERROR,
    DisplayOptions,
    Migration,
    Option,
    Parameter,
    ParameterType,
    PluginDefinition,
    Port,
    PortType,
)
from plugins.sdk.common import timeout_parameter
from plugins.sdk.idempotency import HEADER, HEADER_NAME

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
# The methods RFC 9110 does not define as idempotent: sent twice, they may act twice.
NOT_IDEMPOTENT = ("POST", "PATCH")
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _from_v1(parameters: dict[str, Any]) -> dict[str, Any]:
    out = dict(parameters)
    if "timeout" in out:
        millis = out.pop("timeout")
        out["timeoutSeconds"] = max(1, round(millis / 1000)) if isinstance(millis, int | float) else millis
    headers = out.get("headers")
    if isinstance(headers, list):
        out["headers"] = {h.get("name"): h.get("value") for h in headers if isinstance(h, dict)}
    return out


def _unprotected_repeat(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A POST or PATCH sent without an idempotency key: a repeat may act twice."""
    method = parameters.get("method", "GET")
    may_act_twice = not isinstance(method, str) or has_expression(method) or method.upper() in NOT_IDEMPOTENT
    header_off = "idempotencyHeader" in parameters and not parameters["idempotencyHeader"]
    if may_act_twice and header_off:
        return [("idempotencyHeader", f"without an idempotency header a repeated {method} may act twice")]
    return []


PLUGIN = PluginDefinition(
    name="http-request",
    version=2,
    display_name="HTTP request",
    description="Calls an HTTP endpoint; JSON responses are parsed. Non-2xx responses fail "
    "with HttpError carrying the status (5xx and 429 are retried).",
    category="network",
    parameters=(
        Parameter(
            "method",
            ParameterType.SELECT,
            "Method",
            default="GET",
            required=True,
            options=tuple(Option(m) for m in METHODS),
        ),
        Parameter(
            "url",
            ParameterType.STRING,
            "URL",
            required=True,
            max_length=8192,
            pattern=r"https?://\S+",
            pattern_hint="an http:// or https:// URL without spaces",
            placeholder="https://api.example.com/orders",
        ),
        Parameter("headers", ParameterType.JSON, "Headers", json_type="object", json_schema=STRING_MAP),
        Parameter("query", ParameterType.JSON, "Query parameters", json_type="object"),
        Parameter(
            "body",
            ParameterType.JSON,
            "Body",
            description="Objects and arrays are sent as JSON, strings as text",
            display_options=DisplayOptions(show={"method": WITH_BODY}),
        ),
        timeout_parameter(default=30, maximum=900),
        Parameter(
            "idempotencyHeader",
            ParameterType.STRING,
            "Idempotency header",
            description="Header carrying the attempt's idempotency key (the same on a retry, "
            'so the server can drop the repeat); "" or null: none. A header of this name in '
            "'headers' wins",
            default=HEADER,
            max_length=256,
            pattern=f"(?:{HEADER_NAME})?",
            pattern_hint="an HTTP header name (letters, digits and !#$%&'*+.^_`|~-), or empty for none",
        ),
        Parameter(
            "credential",
            ParameterType.CREDENTIAL,
            "Credential",
            description="Secrets Manager secret: a token (sent as 'Bearer <token>') or "
            'JSON {"headerName", "headerValue"}',
        ),
        Parameter(
            "options",
            ParameterType.COLLECTION,
            "Options",
            children=(
                Parameter(
                    "responseFormat",
                    ParameterType.SELECT,
                    "Response format",
                    default="auto",
                    options=(Option("auto"), Option("json"), Option("text")),
                ),
                Parameter("followRedirects", ParameterType.BOOLEAN, "Follow redirects", default=True),
                Parameter("neverError", ParameterType.BOOLEAN, "Succeed on any status", default=False),
            ),
        ),
    ),
    outputs=(
        Port(
            "out",
            PortType.MAIN,
            "Response",
            "",
            {
                "type": "object",
                "properties": {"status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}},
                "required": ["status", "headers", "body"],
            },
        ),
        ERROR,
    ),
    migrations=(Migration(1, _from_v1, "timeout (ms) → timeoutSeconds; header list → object"),),
    # Every attempt carries the same key: safe when the server honours it, as the draft
    # standard and the APIs that take payments do (and GET, PUT, DELETE are idempotent
    # anyway). A POST or PATCH with the header off is not (the check says so).
    repeat_safe=True,
    repeat_check=_unprotected_repeat,
)
