"""One Lambda handler per plugin: ``handler = lambda_handler(PLUGIN, execute)``.

Per invocation: validate the event → load the secrets its expressions name → build the
expression context → resolve parameters → run the plugin → check the output against its
port schema → replace every secret value in the output by ``[secret]`` → offload a large
output to S3 → write the node log → return the output, or raise a typed error (its
message scrubbed of secrets too) whose name ``Retry``/``Catch`` match on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastjsonschema
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities import parameters as powertools_parameters
from botocore.exceptions import ClientError
from pydantic import ValidationError

from contract.limits import SPILL_SHARE
from plugins.runtime.aws import payload_key, secret_id
from plugins.runtime.context import build_context, resolve, secret_names
from plugins.runtime.errors import PluginError, UnexpectedError, UserError
from plugins.runtime.event import Invocation
from plugins.runtime.idempotency import idempotency_key
from plugins.runtime.nodelog import MAX_LOGGED_CHARS, NodeLog
from plugins.runtime.observability import METRICS_NAMESPACE, logger, redact_secrets, tracer
from plugins.runtime.offload import (
    encode,
    is_reference,
    offload_if_large,
    reference_keeping,
    result_key,
    wire_size,
)
from plugins.sdk import PluginDefinition, PortType

SECRET_MAX_AGE = 300  # seconds a secret stays cached in a warm container


@dataclass(slots=True)
class RunContext:
    """What a plugin's ``execute`` gets besides its resolved parameters."""

    invocation: Invocation
    expressions: dict[str, Any]
    remaining_ms: Callable[[], int]

    @property
    def idempotency_key(self) -> str:
        """The attempt's idempotency token: the same for every attempt (a retry, or an
        Express machine's repeat) of this node in this loop iteration of this execution.
        Send it to receivers that can drop a repeat (plugins.runtime.idempotency)."""
        return idempotency_key(self.invocation)

    def resolve(self, value: Any, **extra_roots: Any) -> Any:
        """Resolve a parameter kept raw because it uses extra roots (filter's ``item``)."""
        return resolve(value, {**self.expressions, **extra_roots})

    def secret(self, name: str) -> Any:
        """A secret from Secrets Manager (cached). The runtime redacts its value from the
        node's output, error and log: use it, do not return it."""
        value = _secrets({name})[name]
        self.expressions["secrets"][name] = value
        return value


Execute = Callable[[dict[str, Any], RunContext], Any]
Handler = Callable[[dict[str, Any], Any], Any]


def lambda_handler(plugin: PluginDefinition, execute: Execute) -> Handler:
    """The Lambda entry point of ``plugin``. A plugin that declares ``ledger=True`` runs
    ``execute`` through the idempotency ledger: its declaration alone is enough."""
    if plugin.ledger:
        from plugins.runtime.ledger import guard  # powertools' idempotency: only where used

        execute = guard(plugin, execute)

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> Any:
        return invoke(plugin, execute, event, context)

    wrapped: Handler = handler
    return wrapped


def invoke(
    plugin: PluginDefinition,
    execute: Execute,
    event: dict[str, Any],
    context: Any,
    *,
    check_output: bool = True,
) -> Any:
    started = time.time()
    invocation = _parse(event)
    logger.set_correlation_id(invocation.execution.id)
    logger.append_keys(node=invocation.node, plugin=plugin.name, attempt=invocation.attempt + 1)
    log = NodeLog(
        invocation.execution.id,
        invocation.node,
        invocation.attempt + 1,
        getattr(context, "aws_request_id", "local"),
        started,
        loop_index=_loop_index(invocation),
    )
    secrets: dict[str, Any] = {}
    try:
        secrets.update(_secrets(secret_names(_evaluated_here(invocation.parameters, invocation.deferred))))
        expressions = build_context(invocation, secrets)
        resolved = resolve_parameters(plugin, invocation.parameters, expressions, invocation.deferred)
        run = RunContext(invocation, expressions, _remaining(context))
        log.input = resolved
        output = execute(resolved, run)
        if check_output:
            _check_output(plugin, output)
        # Checked as the plugin made it, then scrubbed before it leaves the Lambda: the
        # execution history, the node log, the records and every later node see "[secret]"
        # where a secret's value was (a value written into an output is a leak; the node
        # that needs a secret reads it itself, with {{ secrets.name }}).
        output = redact_secrets(output, secrets)
        execution = invocation.execution.id.rsplit(":", 1)[-1]
        key = payload_key(f"{execution}/{invocation.node}/{log.request_id}.json")
        if _stored_apart(invocation, output):
            # One of a loop's many results, over its share of their list: stored where
            # whoever reads the loop's results gathers it from (statemachines/machine/
            # stored.py). A Map gets null; an until loop a reference, for loop.previous.
            stored = result_key(
                invocation.execution.id, invocation.node, str(invocation.run), str(invocation.iteration)
            )
            reference = reference_keeping(output, stored, SPILL_SHARE, invocation.keep)
            log.status, log.output = "succeeded", reference
            return reference if invocation.loop_result == "until" else None
        result = offload_if_large(output, key, invocation.inline_bytes, invocation.keep)
        log.status, log.output = "succeeded", result
        if not is_reference(result) and len(encode(result)) > MAX_LOGGED_CHARS:
            # Kept inline by the machine but too long for a node log: the log (which the
            # trace shows) points to the whole output in S3 rather than truncating it.
            log.output = offload_if_large(output, key, MAX_LOGGED_CHARS)
        return result
    except PluginError as exc:
        _failed(log, exc, secrets)
        raise
    except Exception as exc:  # a bug in the plugin: report it typed, never as a bare traceback
        error = UnexpectedError(f"{type(exc).__name__}: {exc}")
        _failed(log, error, secrets)
        raise error from exc
    finally:
        log.finished = time.time()
        log.input = redact_secrets(log.input, secrets)  # the output was redacted already
        _record(plugin, log)


def _stored_apart(invocation: Invocation, output: Any) -> bool:
    """Whether ``output``, a loop iteration's result, goes to S3 under the iteration's own
    key: its share of the loop's list is under SPILL_SHARE and it is larger than that."""
    share = invocation.inline_bytes
    return (
        invocation.loop_result is not None
        and invocation.run is not None
        and invocation.iteration is not None
        and share is not None
        and share < SPILL_SHARE
        and wire_size(output) > share
    )


def _parse(event: Any) -> Invocation:
    try:
        return Invocation.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"invalid invocation event: {where}: {first['msg']}") from None


def _loop_index(invocation: Invocation) -> str | None:
    return invocation.iteration


def _remaining(context: Any) -> Callable[[], int]:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return getter if callable(getter) else (lambda: 900_000)


def resolve_parameters(
    plugin: PluginDefinition,
    values: dict[str, Any],
    context: dict[str, Any],
    deferred: list[str] | None = None,
) -> dict[str, Any]:
    """Defaults applied; every parameter resolved except those whose expressions need
    extra roots. ``deferred`` (a JSONata machine): the others arrived resolved, values that
    are data now — never read for ``{{`` again, which would let data inject expressions."""
    out = {p.name: p.default for p in plugin.parameters if p.default is not None and p.name not in values}
    for name, value in values.items():
        definition = plugin.parameter(name)
        keep = (definition is not None and definition.extra_roots) or (
            deferred is not None and name not in deferred
        )
        out[name] = value if keep else resolve(value, context)
    return out


def _evaluated_here(values: dict[str, Any], deferred: list[str] | None) -> dict[str, Any]:
    """The parameters this Lambda evaluates: a JSONata machine sends the others resolved,
    and a resolved value is data — its braces are text, not secrets to read."""
    return values if deferred is None else {n: v for n, v in values.items() if n in deferred}


def _secrets(names: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in sorted(names):
        try:
            text = powertools_parameters.get_secret(secret_id(name), max_age=SECRET_MAX_AGE)
        except Exception as exc:  # powertools wraps every provider failure
            raise UserError(_unreadable(name, exc)) from None
        try:
            found[name] = json.loads(text) if isinstance(text, str) and text[:1] in "{[" else text
        except ValueError:
            found[name] = text
    return found


def _unreadable(name: str, error: BaseException) -> str:
    """Why a secret could not be read, in words a user can act on. powertools raises its
    own error from inside the handler of the provider's: the AWS error code is there."""
    cause = error.__cause__ or error.__context__
    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
    if code == "ResourceNotFoundException":
        return (
            f"secret '{name}' does not exist: create it in Secrets Manager as '{secret_id(name)}' "
            f'(locally: routines run --secret {name}=VALUE, or "secrets" in a routine test file)'
        )
    return f"secret '{name}' could not be read: {code or type(error).__name__}"


_validators: dict[tuple[str, int], Callable[[Any], Any] | None] = {}


def _output_validator(plugin: PluginDefinition) -> Callable[[Any], Any] | None:
    key = (plugin.name, plugin.version)
    if key not in _validators:  # compiled once per container: fastjsonschema generates code
        ports = [p for p in plugin.outputs if p.type is PortType.MAIN and p.schema]
        _validators[key] = fastjsonschema.compile(ports[0].schema) if ports else None
    return _validators[key]


def _check_output(plugin: PluginDefinition, output: Any) -> None:
    validate = _output_validator(plugin)
    if validate is None:
        return
    try:
        validate(output)
    except fastjsonschema.JsonSchemaException as exc:
        raise UnexpectedError(f"output does not match the '{plugin.name}' output schema: {exc}") from None


_metrics = threading.local()


def _thread_metrics() -> EphemeralMetrics:
    metrics: EphemeralMetrics | None = getattr(_metrics, "emf", None)
    if metrics is None:
        metrics = _metrics.emf = EphemeralMetrics(namespace=METRICS_NAMESPACE)
    return metrics


def _failed(log: NodeLog, error: PluginError, secrets: dict[str, Any]) -> None:
    # The message travels on as the error's Cause in the execution history: scrub it of
    # secret values first (a URL built from a secret, say).
    error.message = redact_secrets(error.message, secrets)
    error.args = (error.message,)
    error.details = redact_secrets(error.details, secrets)
    log.status = "failed"
    log.error_type = type(error).__name__
    log.error_message = error.message
    logger.warning("node failed", extra={"errorType": log.error_type, "errorMessage": error.message})


def _record(plugin: PluginDefinition, log: NodeLog) -> None:
    # One EMF document per invocation, from an EphemeralMetrics of this thread: powertools'
    # shared Metrics object keeps one metric set per process, which concurrent invocations
    # (Parallel branches, locally) would mix up. A Lambda container runs one invocation at
    # a time on one thread, so it keeps one; building one per invocation cost more than
    # the rest of the document (it lists every unit and resolution of the enums each time).
    metrics = _thread_metrics()
    metrics.clear_metrics()  # fresh, even if a flush was skipped (metrics disabled)
    metrics.add_dimension(name="plugin", value=plugin.name)
    metrics.add_metric(
        name="Duration", unit=MetricUnit.Milliseconds, value=(log.finished - log.started) * 1000
    )
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1.0 if log.status == "failed" else 0.0)
    metrics.flush_metrics()
    try:
        log.write()
    except Exception:  # the node's own result matters more than its log line
        logger.exception("could not write the node log")
