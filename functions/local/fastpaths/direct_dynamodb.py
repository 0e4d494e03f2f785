"""DynamoDB calls answered by moto's DynamoDB handler without the HTTP round trip.

Saves 22% of chain1000 (without it +29%; benchmarks/local_speed.py --fastpaths, 2026-12-07).

Every plugin Lambda writes a node log (one ``PutItem``) and every trace reads them back
(``Query``). Through boto3 and moto, one such call took ~2 ms, most of it in layers
around the work: botocore signing the request and building an HTTP request, moto's
stubber matching the URL against every service's patterns and building a werkzeug
request from it. In a loop over 100 items that was about 40% of a local execution.

Here, for the hot operations only (``PutItem``, ``GetItem``, ``Query``), a botocore
``before-call`` handler takes over once botocore has validated and serialized the call
(so a malformed call fails exactly as before) and hands the serialized body to moto's
own ``DynamoHandler``, set up as moto's request layer sets it up: moto's request parser
reads the body, moto's ``call_action`` runs the operation (its validation, its backend,
its errors) and serializes the answer, and botocore's own response parser turns that
into what the client returns — an error response raises the same ``ClientError`` as
before. Skipped are only signing, the HTTP request objects and moto's URL dispatch.

Installed for the lifetime of the outermost :class:`~functions.local.LocalAWS`, on the
default boto3 session (what ``boto3.client`` uses; clients copy their session's handlers
when built, and ``LocalAWS`` builds its clients after installing). Calls it cannot take
in the same way go the ordinary path: moto's IAM authorization or request recording
switched on, another service or operation.
"""

from __future__ import annotations

import os
from typing import Any, cast

import boto3
from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.parsers import ResponseParser, create_parser
from moto import settings
from moto.core.botocore_stubber import MockRawResponse
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import determine_request_protocol
from moto.core.utils import get_service_model, utcnow
from moto.dynamodb.responses import DynamoHandler
from moto.iam.models import get_account_id_from
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.http import http_date

from functions.local.fastpaths.guard import FastPath

OPERATIONS = frozenset({"PutItem", "GetItem", "Query"})
EVENT = "before-call.dynamodb"
UNIQUE_ID = "routines-local-direct-dynamodb"

_parsers: dict[str, ResponseParser] = {}
_last_date: tuple[Any, str] | None = None  # (a whole second, its Date header)


def _register() -> None:
    """Route the hot DynamoDB operations of clients built from now on to moto directly."""
    session = boto3._get_default_session()._session
    session.register(EVENT, cast(Any, _direct), unique_id=UNIQUE_ID)


def _unregister() -> None:
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION._session.unregister(EVENT, unique_id=UNIQUE_ID)


FAST_PATH = FastPath(
    "direct-dynamodb",
    "signing, HTTP objects and URL dispatch around a node log's PutItem and a trace's Query",
    written_for=(
        "botocore.awsrequest",
        "botocore.endpoint",
        "botocore.parsers",
        "moto.core.botocore_stubber",
        "moto.core.parse",
        "moto.core.request",
        "moto.core.responses",
        "moto.core.utils",
        "moto.dynamodb.responses",
        "moto.iam.models",
        "moto.settings",
    ),
    on_install=_register,
    on_uninstall=_unregister,
)


def active() -> bool:
    return FAST_PATH.installed


def _direct(model: Any, params: dict[str, Any], request_signer: Any, **_: Any) -> Any:
    """botocore's ``before-call`` hook: ``(http_response, parsed)`` to answer the call
    here, or None to let botocore send it (clients built earlier keep this handler, so it
    also checks that a local AWS is still running)."""
    if not FAST_PATH.installed or model.name not in OPERATIONS or not _plain_moto():
        return None
    handler = _handler(model.name, params, request_signer)
    status, headers, body = handler.call_action()
    http = AWSResponse(params["url"], int(status), headers, MockRawResponse(body))  # as moto's stubber
    response = convert_to_response_dict(http, model)
    parser = _parser(model.service_model.protocol)
    parsed = parser.parse(response, model.output_shape)
    if http.status_code >= 300:
        _add_modeled_error_fields(response, parsed, model, parser)
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return http, parsed


def _plain_moto() -> bool:
    """moto as LocalAWS runs it: no IAM authorization to emulate, no request recording."""
    return (
        float("inf") == settings.INITIAL_NO_AUTH_ACTION_COUNT
        and not settings.is_test_proxy_mode()
        and (os.environ.get("MOTO_ENABLE_RECORDING", "").lower() != "true")
    )


class _JsonRequest:
    """What moto's handler reads of its request on this path (to tell the protocol): the
    headers and the content type. moto's own request is a werkzeug request built from the
    HTTP one botocore would have sent."""

    __slots__ = ("content_type", "headers")

    def __init__(self, headers: Headers) -> None:
        self.headers = headers
        self.content_type = headers.get("Content-Type", "")


def _handler(operation: str, params: dict[str, Any], request_signer: Any) -> Any:
    """moto's handler for this call, set up as its ``setup_class`` would set it up for
    a JSON request (the request body parsed by moto's parser for the operation)."""
    headers = Headers()  # what moto's request carries: case-insensitive
    for key, value in params["headers"].items():
        headers[key] = value.decode() if isinstance(value, bytes) else value
    body = params["body"]
    handler: Any = DynamoHandler()
    handler.headers = headers
    handler.querystring = dict(headers.items())  # what setup_class keeps for a JSON body
    handler.method = params["method"]
    handler.uri = params["url"]
    handler.uri_match = {}
    handler.region = request_signer.region_name
    handler.response_headers = {"server": "amazon.com", "date": _date()}
    handler.normalized_request = _JsonRequest(headers)
    # What moto's router finds for a JSON request: the operation its X-Amz-Target names.
    handler._get_action = lambda: operation
    service_model = get_service_model(handler.boto3_service_name)
    protocol = determine_request_protocol(service_model, handler.normalized_request)
    parser = PROTOCOL_PARSERS[protocol](
        service_model.operation_model(operation), map_type=handler.PROTOCOL_PARSER_MAP_TYPE
    )
    handler.body = body.decode() if isinstance(body, bytes) else body
    handler.params = parser.parse(
        {
            "method": params["method"],
            "values": MultiDict(),  # no query string or form in a JSON request
            "headers": headers,
            "body": body,
            "url_path": params["url_path"],
            "url_params": {},
        }
    )
    handler.current_account = _account(headers, request_signer)
    return handler


def _date() -> str:
    """The Date header moto's response layer sets, ``http_date(utcnow())``: a function of
    the time's whole second, formatted once per second."""
    now = utcnow()
    second = now.replace(microsecond=0)
    global _last_date
    last = _last_date
    if last is not None and last[0] == second:
        return last[1]
    text = http_date(second)
    _last_date = (second, text)
    return text


def _account(headers: Headers, request_signer: Any) -> str:
    """The account moto would serve: MOTO_ACCOUNT_ID, then the x-moto-account-id header,
    then the account of the access key (the request would have been signed with it)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if "x-moto-account-id" in headers:
        return str(headers["x-moto-account-id"])
    credentials = request_signer._credentials
    return str(get_account_id_from(credentials.access_key if credentials else "AKIAEXAMPLE"))


def _parser(protocol: str) -> ResponseParser:
    parser = _parsers.get(protocol)
    if parser is None:
        parser = _parsers.setdefault(protocol, create_parser(protocol))
    return parser


def _add_modeled_error_fields(
    response: dict[str, Any], parsed: dict[str, Any], model: Any, parser: ResponseParser
) -> None:
    """What botocore's endpoint adds to a parsed error: the error shape's own fields
    (e.g. the ``Item`` of a failed conditional write)."""
    code = parsed.get("Error", {}).get("Code")
    shape = model.service_model.shape_for_error_code(code) if code else None
    if shape is not None:
        parsed.update(parser.parse(response, shape))


__all__ = ["FAST_PATH", "OPERATIONS", "active"]
