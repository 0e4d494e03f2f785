"""The webhook Lambda (``contract.names.WEBHOOK_HANDLER``) behind ``POST /hooks/{routineId}``.

Order of checks: body size (413) → an active webhook routine (404, the same answer as a
routine that does not exist) → signature over a timestamp and the raw bytes, the timestamp
within the routine's tolerance (401; no execution) →
the body (a JSON body the strict parser refuses — nested too deep, a repeated key, a
number out of range — is a 400 ``invalid_json``; no execution) → Idempotency-Key (one
execution per key per routine, the repeat answered with the first execution's id) → start
→ 202 ``{"executionId"}`` — or, for a trigger with ``respond: "result"``, the execution's
result once it ends within ``respondTimeoutSeconds`` (:mod:`functions.webhook.respond`; a
repeated Idempotency-Key waits for the same execution).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from contract.errors import HttpError
from contract.names import DEFAULT_MAX_BODY_BYTES, ENV_MAX_BODY_BYTES
from contract.problems import join_path
from functions.store import ExecutionStore, NotFoundError, RoutineStore
from functions.triggers.start import RunMeta, start_execution
from functions.webhook import idempotency, respond, secrets
from functions.webhook.request import IDEMPOTENCY_HEADER, BadRequest, HookRequest, RefusedBody
from functions.webhook.signature import DEFAULT_TOLERANCE_SECONDS, HEADER, SignatureRefusal, problem
from plugins.runtime.aws import client

logger = Logger(service="routines-webhook")

MAX_KEY_CHARS = 255
# How a 401 says what the hook expects (RFC 9110 §11.6.1).
CHALLENGE = {"WWW-Authenticate": 'HMAC-SHA256 header="X-Signature-256"'}


def max_body_bytes() -> int:
    return int(os.environ.get(ENV_MAX_BODY_BYTES) or DEFAULT_MAX_BODY_BYTES)


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass(frozen=True, slots=True)
class Started:
    """The execution a call started (or, for a repeated Idempotency-Key, had started)."""

    execution_id: str
    state_machine_arn: str
    meta: RunMeta
    options: dict[str, Any]  # the webhook trigger's options, as activation recorded them


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        started = handle(event, context)
    except HttpError as refused:
        return response(refused.status, {"errors": refused.to_json()}, refused.headers)
    wait = respond.respond_timeout(started.options)
    if wait is None:
        return response(202, {"executionId": started.execution_id})
    try:
        answer = respond.await_result(
            started.state_machine_arn, started.execution_id, started.meta, wait, context
        )
    except ClientError:  # the execution started; its result cannot be read now
        logger.exception("cannot read the result of %s", started.execution_id)
        return response(202, {"executionId": started.execution_id})
    return response(answer.status, answer.body, answer.headers)


def handle(event: dict[str, Any], context: Any = None) -> Started:
    if str(event.get("httpMethod") or "POST").upper() != "POST":
        raise HttpError(405, "method_not_allowed", "webhooks take POST", headers={"Allow": "POST"})
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > max_body_bytes():
        raise HttpError(413, "payload_too_large", f"the body is larger than {max_body_bytes()} bytes", "body")
    try:
        request = HookRequest.from_event(event)
    except BadRequest as error:
        raise HttpError(400, "bad_request", str(error), "body") from None
    owner, arn, version, options = _active_webhook(request.routine_id)
    _check_signature(request, options)
    trigger = _trigger_data(request)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    meta = RunMeta(owner, request.routine_id, version, "webhook")
    if key is None:
        return Started(_start(arn, meta, trigger), arn, meta, options)
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise HttpError(
            400,
            "invalid_idempotency_key",
            f"1 to {MAX_KEY_CHARS} printable characters",
            "headers.Idempotency-Key",
        )
    try:
        execution_id = idempotency.once(
            request.routine_id, key, request.body, lambda: _start(arn, meta, trigger), context
        )
    except idempotency.KeyReused as exc:
        raise HttpError(422, exc.code, exc.message, "headers.Idempotency-Key") from None
    except idempotency.StillRunning as exc:
        raise HttpError(409, exc.code, exc.message) from None
    # A repeat is answered about the first call's execution (of the version it started).
    if respond.respond_timeout(options) is not None:
        meta = _meta_of(execution_id, meta)
    return Started(execution_id, arn, meta, options)


def _meta_of(execution_id: str, meta: RunMeta) -> RunMeta:
    """The run meta of an execution a repeated key names: its record's version, which an
    activation since may have changed (the result is read from the version that ran)."""
    record = ExecutionStore().find(execution_id)
    if record is None or record.version is None or record.version == meta.version:
        return meta
    return RunMeta(meta.owner_id, meta.routine_id, record.version, meta.trigger_type)


def _active_webhook(routine_id: str) -> tuple[str, str, int, dict[str, Any]]:
    """(owner, state machine ARN, active version, the webhook trigger's state as activation
    recorded it) — or 404 for anything else."""
    gone = HttpError(404, "not_found", f"no active webhook routine '{routine_id}'")
    store = RoutineStore()
    owner = store.owner_of(routine_id) if routine_id and "/" not in routine_id else None
    if owner is None:
        raise gone
    try:
        head = store.head(owner, routine_id)
    except NotFoundError:
        raise gone from None
    activation = head.activation or {}
    if head.active_version is None or (activation.get("trigger") or {}).get("type") != "webhook":
        raise gone
    return owner, str(activation["stateMachineArn"]), head.active_version, dict(activation["trigger"])


def _check_signature(request: HookRequest, options: dict[str, Any]) -> None:
    """401 unless signed with the routine's secret at a time within its tolerance (an
    activation recorded before these options existed: 300 s, no body-only signature)."""
    header = request.headers.get(HEADER)
    tolerance = options.get("toleranceSeconds")
    window = tolerance if isinstance(tolerance, int) else DEFAULT_TOLERANCE_SECONDS
    legacy = options.get("legacySignature") is True

    def check(fresh: bool) -> SignatureRefusal | None:
        accepted = secrets.accepted(request.routine_id, fresh=fresh)
        return problem(header, request.body, accepted, tolerance=window, legacy=legacy)

    why = check(fresh=False)
    if why is not None and why.mismatch:  # maybe rotated meanwhile: read again
        why = check(fresh=True)
    if why is not None:
        raise HttpError(401, why.code, why.message, "headers.X-Signature-256", headers=CHALLENGE)


def _trigger_data(request: HookRequest) -> dict[str, Any]:
    """What the routine sees; ``400 invalid_json`` for a JSON body the product refuses
    (checked before any execution starts, and after the signature: a stranger's body
    is not worth reading)."""
    try:
        return request.trigger_data()
    except RefusedBody as refused:
        first, *more = (
            {"code": "invalid_json", "path": join_path("body", *issue.segments), "message": issue.message}
            for issue in refused.error.issues
        )
        raise HttpError(400, first["code"], first["message"], first["path"], more=more) from None


def _start(arn: str, meta: RunMeta, trigger: dict[str, Any]) -> str:
    # Trigger data over the execution input's budget is offloaded by start_execution.
    record = start_execution(client("stepfunctions"), ExecutionStore(), arn, meta, trigger)
    return record.execution_id
