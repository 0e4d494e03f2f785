"""POST /hooks/{routineId}: signature over a timestamp and the raw bytes (replay window,
the body-only scheme only when opted in), 404 for anything but an active webhook routine,
413, Idempotency-Key (also concurrent), trigger data, secret rotation."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.local.lambdas import LambdaContext
from functions.store import ExecutionStore
from functions.webhook import handler as webhook
from functions.webhook import secrets as webhook_secrets
from functions.webhook import sign, sign_legacy
from tests.api.conftest import Api, proxy_event


def webhook_routine(**options: Any) -> dict[str, Any]:
    return {
        "name": "hook",
        "trigger": {"type": "webhook", **options},
        "nodes": [
            {"id": "echo", "plugin": "transform", "parameters": {"fields": {"got": "{{ trigger.body }}"}}}
        ],
    }


class Hook:
    """An activated webhook routine and a way to call it."""

    def __init__(self, api: Api, aws: LocalAWS, **options: Any) -> None:
        self.api, self.aws = api, aws
        self.id = api.ok("POST", "/routines", webhook_routine(**options))["id"]
        shown = api.ok("POST", f"/routines/{self.id}/activate")
        self.secret: str = shown["webhook"]["secret"]
        self.arn: str = shown["stateMachineArn"]
        webhook_secrets.forget()

    def call(
        self,
        body: bytes = b'{"orderId": 7}',
        signature: str | None = "auto",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        secret: str | None = None,
        routine_id: str | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if signature == "auto":
            signature = sign(secret or self.secret, body)
        if signature is not None:
            all_headers["X-Signature-256"] = signature
        try:
            text, encoded = body.decode(), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        event = proxy_event(
            "POST", f"/hooks/{routine_id or self.id}", user=None, headers=all_headers, query=query, raw=text
        )
        event["isBase64Encoded"] = encoded
        context = LambdaContext(
            "routines-webhook", "arn:aws:lambda:us-east-1:123456789012:function:w", 512, 30
        )
        result = webhook.lambda_handler(event, context)
        return result["statusCode"], json.loads(result["body"])

    def executions(self) -> list[dict[str, Any]]:
        return list(self.aws.client("stepfunctions").list_executions(stateMachineArn=self.arn)["executions"])


@pytest.fixture
def hook(api: Api, aws: LocalAWS) -> Hook:
    return Hook(api, aws)


def test_a_signed_call_starts_one_execution_with_the_trigger_data(hook: Hook) -> None:
    status, body = hook.call(headers={"X-Custom": "yes", "Authorization": "Bearer s3cret"}, query={"a": "1"})
    assert status == 202
    (execution,) = hook.executions()
    assert body["executionId"] == execution["executionArn"].split(":", 6)[6]
    record = ExecutionStore().get("alice", body["executionId"])
    assert record is not None and record.trigger_type == "webhook" and record.status == "RUNNING"
    trigger = record.trigger
    assert trigger["body"] == {"orderId": 7} and trigger["query"] == {"a": "1"}
    assert trigger["headers"]["x-custom"] == "yes"
    assert "x-signature-256" not in trigger["headers"] and "authorization" not in trigger["headers"]
    started = json.loads(
        hook.aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    )
    assert started["trigger"] == trigger and started["meta"]["triggerType"] == "webhook"


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "missing X-Signature-256"),
        ("", "missing X-Signature-256"),
        ("sha1=" + "0" * 40, "must be 't=<unix seconds>,v1=<64 hex digits>'"),
        ("t=1,v1=zz", "must be 't="),
        (sign("not-the-secret", b'{"orderId": 7}', 1700000000), "does not match"),
        ("T=1,V1=" + "a" * 64, "must be"),
        ("t=1700000000,v1=" + "a" * 63, "must be"),
        ("v1=" + "a" * 64, "must be"),
        ("t=12x,v1=" + "a" * 64, "must be"),
        ("t=1,t=2,v1=" + "a" * 64, "must be"),
        ("sha256=" + "a" * 64, "not accepted by this routine"),
    ],
)
def test_missing_or_wrong_signatures_are_401_and_start_nothing(
    hook: Hook, signature: str | None, message: str
) -> None:
    status, body = hook.call(signature=signature)
    assert status == 401
    assert message.lower() in body["errors"][0]["message"].lower()
    assert hook.executions() == []


def test_a_signature_over_a_different_body_is_refused(hook: Hook) -> None:
    status, _ = hook.call(body=b'{"orderId": 8}', signature=sign(hook.secret, b'{"orderId": 7}'))
    assert status == 401 and hook.executions() == []
    # the raw bytes count: the same JSON re-serialised is a different body
    status, _ = hook.call(body=b'{"orderId":7}', signature=sign(hook.secret, b'{"orderId": 7}'))
    assert status == 401 and hook.executions() == []


def test_an_empty_body_is_accepted_as_no_body(hook: Hook) -> None:
    status, body = hook.call(body=b"")
    assert status == 202
    record = ExecutionStore().get("alice", body["executionId"])
    assert record is not None and record.trigger["body"] is None


def test_text_and_non_utf8_bodies(hook: Hook) -> None:
    status, body = hook.call(body=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 202
    record = ExecutionStore().get("alice", body["executionId"])
    assert record is not None and record.trigger["body"] == "a=1&b=2"
    raw = b"\xff\xfe\x00binary"
    status, body = hook.call(body=raw)
    assert status == 202
    record = ExecutionStore().get("alice", body["executionId"])
    assert record is not None
    assert record.trigger["bodyEncoding"] == "base64"
    assert base64.b64decode(record.trigger["body"]) == raw


def test_a_10_mb_body_is_413_and_starts_nothing(hook: Hook) -> None:
    big = b"x" * (10 * 1024 * 1024)
    status, body = hook.call(body=big)
    assert status == 413 and body["errors"][0]["code"] == "payload_too_large"
    assert hook.executions() == []


def test_one_execution_per_idempotency_key(hook: Hook) -> None:
    first = hook.call(headers={"Idempotency-Key": "order-7"})
    again = hook.call(headers={"Idempotency-Key": "order-7"})
    assert first[0] == again[0] == 202
    assert first[1]["executionId"] == again[1]["executionId"]
    other = hook.call(headers={"Idempotency-Key": "order-8"})
    assert other[1]["executionId"] != first[1]["executionId"]
    assert len(hook.executions()) == 2
    reused = hook.call(body=b'{"orderId": 9}', headers={"Idempotency-Key": "order-7"})
    assert reused[0] == 422 and reused[1]["errors"][0]["code"] == "idempotency_key_reused"
    assert len(hook.executions()) == 2


def test_the_same_idempotency_key_twice_concurrently_starts_one_execution(hook: Hook) -> None:
    barrier = threading.Barrier(6)
    results: list[tuple[int, Any]] = []

    def call() -> None:
        barrier.wait()
        results.append(hook.call(headers={"Idempotency-Key": "burst"}))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [202] * 6
    assert len({body["executionId"] for _, body in results}) == 1
    assert len(hook.executions()) == 1


def test_an_idempotency_key_must_be_sane(hook: Hook) -> None:
    status, body = hook.call(headers={"Idempotency-Key": "k" * 256})
    assert status == 400 and body["errors"][0]["path"] == "headers.Idempotency-Key"
    assert hook.executions() == []


def test_only_active_webhook_routines_answer(hook: Hook, api: Api) -> None:
    unknown_status, unknown = hook.call(routine_id="nosuchroutine")
    assert unknown_status == 404
    api.ok("POST", f"/routines/{hook.id}/deactivate")
    status, body = hook.call()
    assert status == 404 and hook.executions() == []
    # the same answer as for a routine that does not exist (only the id differs)
    assert body["errors"][0]["message"].replace(hook.id, "X") == unknown["errors"][0]["message"].replace(
        "nosuchroutine", "X"
    )
    manual = api.ok("POST", "/routines", {**webhook_routine(), "trigger": {"type": "manual"}})["id"]
    api.ok("POST", f"/routines/{manual}/activate")
    assert hook.call(routine_id=manual)[0] == 404


def test_a_rotated_secret_works_and_the_old_one_during_the_grace_period(
    hook: Hook, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotated = api.ok("POST", f"/routines/{hook.id}/webhook/rotate")["webhook"]
    assert rotated["secret"] != hook.secret and rotated["url"].endswith(f"/hooks/{hook.id}")
    assert hook.call(secret=rotated["secret"])[0] == 202
    assert hook.call(secret=hook.secret)[0] == 202  # still within the grace period
    monkeypatch.setenv(webhook_secrets.ENV_GRACE_SECONDS, "0")
    webhook_secrets.forget()
    assert hook.call(secret=hook.secret)[0] == 401
    assert hook.call(secret=rotated["secret"])[0] == 202
    assert api("POST", f"/routines/{hook.id}/webhook/rotate", user="mallory")[0] == 404


BODY = b'{"orderId": 7}'


def refusal(hook: Hook, signature: str) -> tuple[int, dict[str, str]]:
    status, body = hook.call(body=BODY, signature=signature)
    return status, body["errors"][0] if status != 202 else {}


def test_a_freshly_timestamped_signature_is_accepted(hook: Hook) -> None:
    now = int(time.time())
    assert hook.call(body=BODY, signature=sign(hook.secret, BODY, now))[0] == 202
    assert hook.call(body=BODY, signature=sign(hook.secret, BODY, now - 290))[0] == 202  # inside 300 s
    assert hook.call(body=BODY, signature=sign(hook.secret, BODY, now + 290))[0] == 202  # a fast clock
    assert len(hook.executions()) == 3


def test_an_old_timestamp_is_refused_as_stale(hook: Hook) -> None:
    status, problem = refusal(hook, sign(hook.secret, BODY, int(time.time()) - 301))
    assert status == 401 and problem["code"] == "stale_signature"
    assert "s old, more than the 300 s tolerated" in problem["message"]
    assert problem["path"] == "headers.X-Signature-256"
    assert hook.executions() == []


def test_a_timestamp_beyond_the_tolerance_in_the_future_is_refused(hook: Hook) -> None:
    status, problem = refusal(hook, sign(hook.secret, BODY, int(time.time()) + 400))
    assert status == 401 and problem["code"] == "stale_signature"
    assert "in the future" in problem["message"]
    assert hook.executions() == []


def test_a_stale_timestamp_with_a_wrong_signature_is_a_bad_signature(hook: Hook) -> None:
    status, problem = refusal(hook, sign("not-the-secret", BODY, int(time.time()) - 3600))
    assert status == 401 and problem["code"] == "invalid_signature" and "does not match" in problem["message"]


def test_a_changed_timestamp_breaks_the_signature(hook: Hook) -> None:
    old = int(time.time()) - 3600
    header = sign(hook.secret, BODY, old).replace(f"t={old}", f"t={int(time.time())}")
    status, problem = refusal(hook, header)
    assert status == 401 and problem["code"] == "invalid_signature"


def test_the_same_request_replayed_after_the_window_is_refused(
    hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = sign(hook.secret, BODY)
    assert hook.call(body=BODY, signature=header)[0] == 202
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)
    status, problem = refusal(hook, header)
    assert status == 401 and problem["code"] == "stale_signature"
    assert len(hook.executions()) == 1


def test_the_tolerance_is_set_per_routine(api: Api, aws: LocalAWS) -> None:
    strict = Hook(api, aws, toleranceSeconds=5)
    assert strict.call(body=BODY, signature=sign(strict.secret, BODY, int(time.time()) - 2))[0] == 202
    status, problem = refusal(strict, sign(strict.secret, BODY, int(time.time()) - 30))
    assert status == 401 and "more than the 5 s tolerated" in problem["message"]
    status, body, _ = api("POST", "/routines", webhook_routine(toleranceSeconds=0))
    assert status == 422, body


def test_the_body_only_signature_is_refused_unless_the_routine_opts_in(
    hook: Hook, api: Api, aws: LocalAWS
) -> None:
    status, problem = refusal(hook, sign_legacy(hook.secret, BODY))
    assert status == 401 and problem["code"] == "legacy_signature_refused"
    assert '"legacySignature": true' in problem["message"]
    assert hook.executions() == []
    legacy = Hook(api, aws, legacySignature=True)
    assert legacy.call(body=BODY, signature=sign_legacy(legacy.secret, BODY))[0] == 202
    assert legacy.call(body=BODY, signature=sign(legacy.secret, BODY))[0] == 202  # the new scheme too
    status, problem = refusal(legacy, sign_legacy("not-the-secret", BODY))
    assert status == 401 and problem["code"] == "invalid_signature"
    assert len(legacy.executions()) == 2


def test_changing_the_signature_options_keeps_the_webhook_secret(hook: Hook, api: Api) -> None:
    api.ok("PUT", f"/routines/{hook.id}", webhook_routine(legacySignature=True, toleranceSeconds=60))
    shown = api.ok("POST", f"/routines/{hook.id}/activate")
    assert shown["webhook"].get("secret") is None  # kept, not re-created
    webhook_secrets.forget()
    assert hook.call(body=BODY, signature=sign_legacy(hook.secret, BODY))[0] == 202
    status, problem = refusal(hook, sign(hook.secret, BODY, int(time.time()) - 120))
    assert status == 401 and "more than the 60 s tolerated" in problem["message"]


def test_a_method_other_than_post_is_405_with_allow(hook: Hook) -> None:
    event = proxy_event("GET", f"/hooks/{hook.id}", user=None, headers={}, query=None, raw="")
    context = LambdaContext("routines-webhook", "arn:aws:lambda:us-east-1:123456789012:function:w", 512, 30)
    result = webhook.lambda_handler(event, context)
    assert result["statusCode"] == 405 and result["headers"]["Allow"] == "POST"
    assert json.loads(result["body"])["errors"][0]["code"] == "method_not_allowed"
    assert hook.executions() == []
