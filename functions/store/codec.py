"""How execution records are encoded in DynamoDB: typed attribute values and the opaque
page tokens of list queries."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from functions.store.errors import InvalidTokenError


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    return {"S": str(value)}


def plain(typed: dict[str, Any]) -> Any:
    ((kind, value),) = typed.items()
    if kind == "N":
        return float(value)
    if kind == "L":
        return [plain(v) for v in value]
    return value


def encode_token(key: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(dump(key).encode()).decode().rstrip("=")


def decode_token(token: str, partition_name: str, partition: str) -> dict[str, Any]:
    """The token's start key, refused unless it was issued for this very query (a token
    is opaque, but never a way into another owner's partition)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    names = {"executionId", partition_name, "startKey"}
    if (
        not isinstance(key, dict)
        or set(key) != names
        or not all(isinstance(v, str) for v in key.values())
        or key[partition_name] != partition
    ):
        raise InvalidTokenError("nextToken is not a token this query issued", path="nextToken")
    return {name: {"S": value} for name, value in key.items()}
