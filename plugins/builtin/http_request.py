"""http-request. Version 1 took ``timeout`` in milliseconds and headers as a list of
``{name, value}``; version 2 (current) takes ``timeoutSeconds`` and a headers object."""

from typing import Any

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

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
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
)
