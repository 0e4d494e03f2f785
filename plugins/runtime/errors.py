"""Typed plugin errors. The Lambda runtime reports ``type(error).__name__`` as the error
name Step Functions matches in ``Retry``/``Catch``, so each class carries the exact name
from :mod:`plugins.sdk.errors` — dots included, which Python allows in ``__name__``."""

from __future__ import annotations

from typing import Any

from contract.errors import RoutinesError
from plugins.sdk import errors as names


class PluginError(RoutinesError):
    """A plugin failure with a stable name, a message for people, and optional details."""

    retryable = True

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UserError(PluginError):
    """Bad input or configuration: the same call would fail again."""

    retryable = False


class HttpClientError(PluginError):
    """A 4xx answer (other than 408 and 429); ``details['status']`` has the code."""

    retryable = False


class HttpServerError(PluginError):
    """5xx, 408 or 429: the far side may recover."""


class OperationalError(PluginError):
    """Timeouts, throttling, connection failures."""


class UnexpectedError(PluginError):
    """An exception the plugin did not anticipate (a bug)."""


for _cls, _name in [
    (UserError, names.USER_ERROR),
    (HttpClientError, names.HTTP_CLIENT_ERROR),
    (HttpServerError, names.HTTP_SERVER_ERROR),
    (OperationalError, names.OPERATIONAL_ERROR),
    (UnexpectedError, names.UNEXPECTED_ERROR),
]:
    _cls.__name__ = _name  # the name Step Functions sees
