"""One execution per Idempotency-Key per routine: powertools idempotency on DynamoDB
(table ``contract.names.IDEMPOTENCY_TABLE``), records expiring after a day. The key is
(routine, Idempotency-Key); the body's hash is validated, so a key reused with another body
is refused rather than answered with an unrelated execution."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from contract.errors import RoutinesError
from contract.names import ENV_IDEMPOTENCY_TABLE, IDEMPOTENCY_TABLE
from plugins.runtime.aws import client

EXPIRY_SECONDS = 24 * 3600
# A concurrent repeat waits this long for the first request to finish (it then gets the
# same execution id) before it is told to retry.
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05


class KeyReused(RoutinesError):
    """The key was used before with a different body."""

    code = "idempotency_key_reused"


class StillRunning(RoutinesError):
    """The first request with this key is still being handled."""

    code = "in_progress"


def once(routine_id: str, key: str, body: bytes, start: Callable[[], str], context: Any = None) -> str:
    """``start()``'s execution id, run at most once per (routine, key) within the expiry."""
    persistence = DynamoDBPersistenceLayer(
        table_name=os.environ.get(ENV_IDEMPOTENCY_TABLE, IDEMPOTENCY_TABLE.name),
        boto3_client=client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[routineId, key]",
        payload_validation_jmespath="bodyHash",
        expires_after_seconds=EXPIRY_SECONDS,
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)  # an in-progress record expires with the Lambda

    def run(request: dict[str, Any]) -> dict[str, str]:
        return {"executionId": start()}

    guarded = idempotent_function(
        run,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        key_prefix="webhook",
    )
    request = {"routineId": routine_id, "key": key, "bodyHash": hashlib.sha256(body).hexdigest()}
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return str(guarded(request=request)["executionId"])
        except IdempotencyValidationError:
            raise KeyReused("this Idempotency-Key was used with a different body") from None
        except IdempotencyAlreadyInProgressError:
            if time.monotonic() > deadline:
                raise StillRunning(
                    "a request with this Idempotency-Key is still being handled; retry"
                ) from None
            time.sleep(POLL_SECONDS)
