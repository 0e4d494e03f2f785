"""Webhook signatures: ``X-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

HEADER = "x-signature-256"
DISPLAY = "X-Signature-256"
PREFIX = "sha256="
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts on ``body``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def problem(header: str | None, body: bytes, secrets: Iterable[str]) -> str | None:
    """None when ``header`` signs ``body`` with one of ``secrets``, else why not. Every
    secret is compared (constant time each), so timing tells nothing about which matched."""
    if not header:
        return f"missing {DISPLAY} header"
    if not header.startswith(PREFIX) or not _HEX.match(header[len(PREFIX) :]):
        return f"{DISPLAY} must be '{PREFIX}' followed by 64 hex digits"
    given = header[len(PREFIX) :].lower().encode()
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(expected, given)
    return None if matched else "signature does not match the body"
