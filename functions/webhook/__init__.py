"""The webhook Lambda: signed, idempotent starts of webhook routines."""

from functions.webhook.signature import HEADER, sign

__all__ = ["HEADER", "sign"]
