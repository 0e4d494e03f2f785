"""Who is calling, and where the API runs — read from the current API Gateway event — and
what every route hands the control plane: the settings, and the stores and the Step
Functions client (:class:`~functions.control.Services`), built here and nowhere else,
once per container."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from contract.errors import HttpError
from functions.activation import Settings
from functions.control.services import Services
from functions.store import ExecutionStore, RoutineStore
from plugins.runtime.aws import client

# Used in tags and keys: keep owner ids to characters every AWS service accepts there.
OWNER_ID = re.compile(r"^[A-Za-z0-9_.:@+=/-]{1,128}$")


def owner_of(event: Any) -> str | None:
    """The caller: the Cognito authorizer's ``sub`` claim (``routines serve`` puts the
    X-User-Id header there). None when absent or unusable."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and OWNER_ID.match(sub) else None


def owner(event: Any) -> str:
    caller = owner_of(event)
    if caller is None:
        raise HttpError(401, "unauthorized", "no caller identity")
    return caller


def settings(lambda_context: Any) -> Settings:
    arn = getattr(lambda_context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    if len(parts) > 4 and parts[4]:
        return _settings(parts[4], parts[1])
    return _settings(None, "aws")


@cache
def _settings(account: str | None, partition: str) -> Settings:
    return Settings.from_env(account, partition)


def services() -> Services:
    """The stores and the Step Functions client, built once per container. The client
    comes from the factory (plugins.runtime.aws.client, which moto intercepts locally):
    once the factory forgets its clients (``reset_clients()``, a new local AWS), the next
    call builds new services around its new client, so none outlives the AWS it was
    built for."""
    return _services(client("stepfunctions"))


@lru_cache(maxsize=1)
def _services(stepfunctions: Any) -> Services:
    return Services(routines=RoutineStore(), executions=ExecutionStore(), stepfunctions=stepfunctions)


def store() -> RoutineStore:
    """The routine store of :func:`services` (the one most routes read)."""
    return services().routines


def reset() -> None:
    """Forget cached settings, stores and clients (a new local AWS, new environment)."""
    _settings.cache_clear()
    _services.cache_clear()


def public_base_url(event: Any) -> str:
    """The API's base URL as the caller reached it (webhook URLs are built on it)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    host = headers.get("host") or context.get("domainName") or "localhost"
    scheme = headers.get("x-forwarded-proto") or "https"
    stage = context.get("stage")
    # A custom domain maps the stage away; the default execute-api host needs it.
    prefix = f"/{stage}" if stage and stage != "$default" and ".execute-api." in host else ""
    return f"{scheme}://{host}{prefix}"
