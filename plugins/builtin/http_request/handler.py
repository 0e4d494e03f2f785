"""http-request: stdlib urllib (no extra dependency in every cold start), JSON in and out."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from plugins.builtin.http_request import PLUGIN, WITH_BODY
from plugins.runtime.errors import HttpClientError, HttpServerError, OperationalError, UserError
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import HEADER_NAME

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
RETRYABLE_STATUSES = {408, 429}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    method = str(parameters.get("method") or "GET").upper()
    url = _url(parameters)
    headers = {str(k): str(v) for k, v in (parameters.get("headers") or {}).items()}
    _idempotency_header(headers, parameters.get("idempotencyHeader"), run.idempotency_key)
    if parameters.get("credential"):
        headers.update(_credential_header(run.secret(str(parameters["credential"]))))
    data = _body(method, parameters.get("body"), headers)
    options = parameters.get("options") or {}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    opener = (
        urllib.request.build_opener()
        if options.get("followRedirects", True)
        else urllib.request.build_opener(_NoRedirect)
    )
    timeout = min(float(parameters.get("timeoutSeconds") or 30), max(1.0, run.remaining_ms() / 1000 - 1))
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw, response_headers = (
                response.status,
                response.read(MAX_RESPONSE_BYTES + 1),
                response.headers,
            )
    except urllib.error.HTTPError as exc:
        status, raw, response_headers = exc.code, exc.read(MAX_RESPONSE_BYTES + 1), exc.headers
    except TimeoutError as exc:
        raise OperationalError(f"{method} {url} timed out after {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        raise OperationalError(f"{method} {url} failed: {exc.reason}") from None
    except ValueError as exc:  # e.g. an invalid header value
        raise UserError(f"{method} {url}: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise UserError(f"{method} {url}: the response is larger than {MAX_RESPONSE_BYTES} bytes")
    result = {
        "status": status,
        "headers": {k.lower(): v for k, v in response_headers.items()},
        "body": _parse(raw, response_headers.get("Content-Type", ""), options.get("responseFormat", "auto")),
    }
    if status >= 300 and not options.get("neverError"):
        error = HttpServerError if status >= 500 or status in RETRYABLE_STATUSES else HttpClientError
        raise error(f"{method} {url} answered {status}", status=status, body=result["body"])
    return result


def _idempotency_header(headers: dict[str, str], name: Any, key: str) -> None:
    """Add the attempt's key under ``name`` ("" or None: off); a header the user set under
    that name (in any case: header names are case-insensitive) wins."""
    if not name:
        return
    if not isinstance(name, str) or not re.fullmatch(HEADER_NAME, name):
        raise UserError(f"'idempotencyHeader' must be an HTTP header name, got {str(name)[:100]!r}")
    if name.lower() not in {k.lower() for k in headers}:
        headers[name] = key


def _url(parameters: dict[str, Any]) -> str:
    url = str(parameters["url"])
    if not url.startswith(("http://", "https://")):
        raise UserError(f"'url' must start with http:// or https://, got {url[:100]!r}")
    query = parameters.get("query") or {}
    if query:
        pairs = [
            (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in query.items() if v is not None
        ]
        url += ("&" if urllib.parse.urlsplit(url).query else "?") + urllib.parse.urlencode(pairs)
    return url


def _body(method: str, body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None or method not in WITH_BODY:
        return None
    lower = {k.lower() for k in headers}
    if isinstance(body, str):
        if "content-type" not in lower:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return body.encode()
    if "content-type" not in lower:
        headers["Content-Type"] = "application/json"
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _credential_header(secret: Any) -> dict[str, str]:
    if isinstance(secret, dict) and "headerName" in secret:
        return {str(secret["headerName"]): str(secret.get("headerValue", ""))}
    if isinstance(secret, str):
        return {"Authorization": f"Bearer {secret}"}
    raise UserError('a credential secret is a token or JSON {"headerName", "headerValue"}')


def _parse(raw: bytes, content_type: str, response_format: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    wants_json = response_format == "json" or (response_format == "auto" and "json" in content_type.lower())
    if wants_json and text.strip():
        try:
            return json.loads(text)
        except ValueError:
            if response_format == "json":
                raise UserError("the response is not valid JSON") from None
    return text


handler = lambda_handler(PLUGIN, execute)
