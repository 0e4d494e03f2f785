"""A webhook call as the routine sees it: ``{headers, query, body}`` from the API Gateway
proxy event, with the raw body bytes kept for the signature check."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from contract.errors import RoutinesError
from statemachines import jsontext

# Never passed on to the routine: they authenticate the call, they are not its data.
HIDDEN_HEADERS = frozenset(
    {"x-signature-256", "authorization", "proxy-authorization", "cookie", "x-api-key", "x-user-id"}
)
IDEMPOTENCY_HEADER = "idempotency-key"


class BadRequest(RoutinesError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class HookRequest:
    routine_id: str
    body: bytes
    headers: dict[str, str]  # lower-case names
    query: dict[str, str]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> HookRequest:
        path = str(event.get("path") or "")
        routine_id = (event.get("pathParameters") or {}).get("routineId") or path.removeprefix("/hooks/")
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("the body is not valid base64") from None
        else:
            body = raw.encode()
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
        return cls(str(routine_id), body, headers, query)

    def trigger_data(self) -> dict[str, Any]:
        """A JSON body is parsed (strictly: :class:`RefusedBody` for JSON the product
        refuses); other UTF-8 text is kept as text; bytes that are not UTF-8 are passed as
        base64 (``bodyEncoding: "base64"``)."""
        data: dict[str, Any] = {
            "headers": {k: v for k, v in self.headers.items() if k not in HIDDEN_HEADERS},
            "query": self.query,
        }
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body"] = base64.b64encode(self.body).decode()
            data["bodyEncoding"] = "base64"
            return data
        if not text.strip():
            data["body"] = text or None
            return data
        try:
            data["body"] = jsontext.loads(text)
        except jsontext.JsonTextError as error:
            if not error.not_json:
                # JSON, but JSON the product refuses (nested too deep, a repeated key, a
                # number out of range): kept as text, a routine would read a string where
                # its sender meant an object — and a deep one breaks whatever reads it.
                raise RefusedBody(error) from None
            data["body"] = text  # not JSON (NaN and Infinity included): kept as text
        return data


class RefusedBody(RoutinesError, ValueError):
    """A JSON body the strict parser refuses (:mod:`statemachines.jsontext`)."""

    def __init__(self, error: jsontext.JsonTextError) -> None:
        super().__init__(str(error))
        self.error = error
