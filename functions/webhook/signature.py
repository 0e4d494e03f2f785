"""Webhook signatures (Stripe's scheme):
``X-Signature-256: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

The timestamp is signed with the body, and a request whose timestamp is more than the
routine's tolerance (default 300 s) away from now is refused: a captured request cannot be
replayed once its window has passed. The old body-only scheme, ``sha256=<hex
HMAC-SHA256(secret, raw body)>``, has no timestamp; it is accepted only from routines whose
webhook trigger sets ``"legacySignature": true``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = "x-signature-256"
DISPLAY = "X-Signature-256"
LEGACY_PREFIX = "sha256="
PREFIX = LEGACY_PREFIX  # the old name
DEFAULT_TOLERANCE_SECONDS = 300
FORMAT = "'t=<unix seconds>,v1=<64 hex digits>'"
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_SECONDS = re.compile(r"^[0-9]{1,12}$")

# Refusal codes (the 401's ``code``).
MISSING = "missing_signature"
MALFORMED = "invalid_signature"
MISMATCH = "invalid_signature"
STALE = "stale_signature"
LEGACY_REFUSED = "legacy_signature_refused"


@dataclass(frozen=True, slots=True)
class SignatureRefusal:
    code: str
    message: str
    mismatch: bool = False  # the header is well formed but no secret signs this request


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on ``body`` (signed now unless ``timestamp``)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(secret, f'{t}.'.encode() + body)}"


def sign_legacy(secret: str, body: bytes) -> str:
    """The old body-only header value (routines with ``"legacySignature": true``)."""
    return LEGACY_PREFIX + _digest(secret, body)


def problem(
    header: str | None,
    body: bytes,
    secrets: Iterable[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    legacy: bool = False,
    now: float | None = None,
) -> SignatureRefusal | None:
    """None when ``header`` signs ``body`` with one of ``secrets`` (and, in the timestamped
    scheme, its timestamp is within ``tolerance`` seconds of ``now``), else why not. Every
    secret is compared (constant time each), so timing tells nothing about which matched.
    The signature is checked before the timestamp: "stale" is only said of a request that
    was genuinely signed."""
    header = (header or "").strip()
    if not header:
        return SignatureRefusal(MISSING, f"missing {DISPLAY} header: sign requests as {FORMAT}")
    if header.startswith(LEGACY_PREFIX):
        if not legacy:
            return SignatureRefusal(
                LEGACY_REFUSED,
                f"the body-only '{LEGACY_PREFIX}' signature is not accepted by this routine: sign "
                f'requests as {FORMAT} (or set "legacySignature": true on its webhook trigger)',
            )
        given = header[len(LEGACY_PREFIX) :]
        if not _HEX.match(given):
            return SignatureRefusal(
                MALFORMED, f"{DISPLAY} must be '{LEGACY_PREFIX}' followed by 64 hex digits"
            )
        if not _matches(secrets, body, [given]):
            return SignatureRefusal(MISMATCH, "signature does not match the body", mismatch=True)
        return None
    parsed = _parse(header)
    if parsed is None:
        return SignatureRefusal(MALFORMED, f"{DISPLAY} must be {FORMAT}")
    t, signatures = parsed
    if not _matches(secrets, f"{t}.".encode() + body, signatures):
        return SignatureRefusal(MISMATCH, "signature does not match the timestamp and body", mismatch=True)
    age = (time.time() if now is None else now) - t
    if age > tolerance:
        return SignatureRefusal(
            STALE,
            f"the signature's timestamp is {int(age)} s old, more than the {tolerance} s tolerated: "
            "sign each request when it is sent (a replayed request is refused)",
        )
    if -age > tolerance:
        return SignatureRefusal(
            STALE,
            f"the signature's timestamp is {int(-age)} s in the future, more than the {tolerance} s "
            "tolerated: check the sender's clock",
        )
    return None


def _parse(header: str) -> tuple[int, list[str]] | None:
    """(timestamp, v1 signatures) of ``t=…,v1=…[,v1=…]``; other schemes are ignored."""
    timestamps, signatures = [], []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not _SECONDS.match(timestamps[0]) or not signatures:
        return None
    if not all(_HEX.match(s) for s in signatures):
        return None
    return int(timestamps[0]), signatures


def _matches(secrets: Iterable[str], message: bytes, given: list[str]) -> bool:
    matched = False
    wanted = [g.lower().encode() for g in given]
    for secret in secrets:
        expected = _digest(secret, message).encode()
        for signature in wanted:
            matched |= hmac.compare_digest(expected, signature)
    return matched


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
