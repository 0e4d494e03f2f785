"""What a user sees of an execution's error: ``{"type", "message"}``, nothing more.

The functions live in :mod:`functions.trace`, which Lambda code (the recorder, the API)
imports too; this module imports no moto either and keeps the local runtime's name.
"""

from __future__ import annotations

from functions.trace import clean_error, clean_message

__all__ = ["clean_error", "clean_message"]
