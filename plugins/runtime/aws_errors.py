"""Classify boto3 failures of AWS plugins into typed plugin errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from plugins.runtime.errors import OperationalError, PluginError, UserError

T = TypeVar("T")
TRANSIENT = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "TooManyRequestsException",
}


def call(service: str, operation: Callable[..., T], **kwargs: Any) -> T:
    """Run one AWS call; throttling and 5xx become retryable, the rest user errors."""
    try:
        return operation(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        error: type[PluginError] = OperationalError if code in TRANSIENT or status >= 500 else UserError
        raise error(f"{service}: {code}: {message}", code=code, status=status) from None
    except BotoCoreError as exc:
        raise OperationalError(f"{service}: {type(exc).__name__}: {exc}") from None
