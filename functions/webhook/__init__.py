"""The webhook Lambda: signed, idempotent starts of webhook routines."""

from functions.webhook.signature import HEADER, sign, sign_legacy

__all__ = ["HEADER", "sign", "sign_legacy"]
