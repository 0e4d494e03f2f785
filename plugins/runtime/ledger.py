"""The idempotency ledger (issue #28): once per attempt key, for plugins whose service
cannot drop a repeat itself.

Most plugins hand the attempt's idempotency key (:mod:`plugins.runtime.idempotency`) to a
receiver that drops what it has seen (a FIFO queue, an HTTP API with Idempotency-Key). SES
has nothing of the kind: every ``SendEmail`` delivers an email. A plugin that declares
``ledger=True`` (``PluginDefinition.ledger``) therefore runs its side effect through this
ledger, a DynamoDB table (``contract.names.PLUGIN_LEDGER_TABLE``) written with powertools'
idempotency utility:

- the first attempt with a key claims it (a conditional put of an ``INPROGRESS`` record),
  runs, and stores its output (``COMPLETED``);
- a repeat with the same key — a node's retry, an Express machine's second run of the
  state — gets the stored output back without running again;
- a repeat while the first attempt is still running waits up to :data:`WAIT_SECONDS` for
  its output, then fails with ``Routines.OperationalError`` (retryable: the node's retry
  or the Express machine's own re-drive comes back for the stored output);
- an attempt that fails releases its claim (the record is deleted): a retry runs again;
- records expire after :data:`EXPIRY_SECONDS` (a day), far beyond an Express execution's
  5 minutes and any retry schedule that fits in them.

What is left (docs/cost.md, "Safe to repeat"): the claim and the service are two systems.
An attempt that dies after the service accepted the request and before the ledger stored
its output — the time of one DynamoDB write, a few milliseconds — leaves its claim in
progress. Until that attempt's Lambda deadline (``in_progress_expiration``: the claim time
plus the function's remaining time, at most 15 minutes) every repeat is refused; after it,
a repeat claims the key and runs again, since a claim whose attempt died before sending
looks the same. An Express execution has ended by then (5 minutes): only a Standard
execution's retry more than 15 minutes later could send twice. Exactly once would need the
service to deduplicate.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)

from contract.errors import PluginDefinitionError
from contract.names import ENV_PLUGIN_LEDGER_TABLE, PLUGIN_LEDGER_TABLE
from plugins.runtime.aws import client
from plugins.runtime.errors import OperationalError
from plugins.runtime.observability import logger, redact_secrets

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from plugins.runtime.handler import Execute, RunContext
    from plugins.sdk import PluginDefinition

# Records expire after a day: a repeat of an attempt comes within its execution (an Express
# one ends after 5 minutes), or within the node's retry schedule.
EXPIRY_SECONDS = 24 * 3600
# A repeat that finds the first attempt still running waits this long for its output before
# it fails (retryable). Short: it counts against the attempt's time (PLUGIN_OVERHEAD_SECONDS
# in statemachines/express.py assumes 10 s for everything but a plugin's own timeout).
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.25
# Plugins whose handler guards its execute (tests check this against the declarations).
GUARDED: set[str] = set()


def table() -> str:
    return os.environ.get(ENV_PLUGIN_LEDGER_TABLE, PLUGIN_LEDGER_TABLE.name)


def guard(plugin: PluginDefinition, execute: Execute) -> Execute:
    """``execute`` run at most once per attempt key; ``lambda_handler`` wraps the execute of
    every plugin that declares ``ledger=True`` in it."""
    if not plugin.ledger:
        # Its function would have no ledger table (infra/plugin_functions.py), and the
        # compiler would not know the plugin is safe to repeat.
        raise PluginDefinitionError(f"plugin '{plugin.name}' uses the ledger: declare ledger=True")
    GUARDED.add(plugin.name)

    def guarded(parameters: dict[str, Any], run: RunContext) -> Any:
        return once(plugin.name, run, lambda: execute(parameters, run))

    return guarded


class _Deadline:
    """What powertools reads of a Lambda context: the claim of an attempt stays in progress
    until the attempt's Lambda would be stopped (then it cannot be running any more)."""

    def __init__(self, remaining_ms: Callable[[], int]) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(self._remaining_ms())


def once(name: str, run: RunContext, effect: Callable[[], Any]) -> Any:
    """``effect()``'s output, run only by the first attempt with ``run``'s key (records are
    per plugin: ``<name>#<sha256 of the key>``). The stored output is scrubbed of the
    attempt's secrets, as the runtime scrubs what leaves the Lambda."""
    persistence = DynamoDBPersistenceLayer(table_name=table(), boto3_client=client("dynamodb"))
    config = IdempotencyConfig(
        event_key_jmespath="key",
        expires_after_seconds=EXPIRY_SECONDS,
        hash_function="sha256",
    )
    config.register_lambda_context(cast("LambdaContext", _Deadline(run.remaining_ms)))
    done: list[Any] = []

    def attempt(request: dict[str, str]) -> dict[str, Any]:
        output = redact_secrets(effect(), run.expressions.get("secrets") or {})
        done.append(output)
        # Wrapped: powertools answers a repeat with None for a stored falsy value ({}, []).
        return {"output": output}

    guarded = idempotent_function(
        attempt,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        key_prefix=name,
    )
    request = {"key": run.idempotency_key}
    deadline = time.monotonic() + min(WAIT_SECONDS, max(0.0, run.remaining_ms() / 1000 - 1))
    while True:
        try:
            stored = guarded(request=request)
        except IdempotencyAlreadyInProgressError:
            if time.monotonic() >= deadline:
                raise OperationalError(
                    f"{name}: an earlier attempt of this node (the same idempotency key) is still "
                    "running; retry to get its result",
                    code="InProgress",
                ) from None
            time.sleep(POLL_SECONDS)
            continue
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            if done:
                # The effect happened; only storing its output failed. Its claim stays in
                # progress (repeats are refused until this attempt's deadline): return what
                # was done rather than fail a node whose effect took place.
                logger.warning("ledger: the output could not be stored", extra={"error": str(exc)})
                return done[0]
            raise OperationalError(f"{name}: the idempotency ledger failed: {exc}", code="Ledger") from None
        if not done:
            logger.info("ledger: a repeat of a finished attempt gets its stored output")
        return stored["output"] if isinstance(stored, dict) else stored
