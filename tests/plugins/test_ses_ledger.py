"""ses-send-email through the idempotency ledger (issue #28, plugins/runtime/ledger.py): one
email per attempt key, however often the attempt runs — a node's retry, an Express
machine's second run — on the local AWS (moto), counting what SES accepted."""

from __future__ import annotations

import dataclasses
import importlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from contract.errors import PluginDefinitionError
from contract.names import PLUGIN_LEDGER_TABLE, function_name
from functions.local import LocalAWS
from plugins.lambdas import lambda_functions
from plugins.runtime import ledger
from plugins.runtime.aws import client
from plugins.runtime.errors import OperationalError
from plugins.runtime.event import Invocation
from plugins.runtime.handler import RunContext
from plugins.runtime.idempotency import idempotency_key
from plugins.sdk import Kind, PluginDefinition, default_registry
from plugins.sdk.idempotency import FIELD

EXECUTION = "arn:aws:states:us-east-1:123456789012:express:routine-r:run-1"
SENDER = "reports@example.com"
MAIL = {"from": SENDER, "to": ["ada@example.com"], "subject": "Daily", "text": "12 orders"}


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        local.client("ses").verify_email_identity(EmailAddress=SENDER)
        yield local


def event(attempt: int = 0, execution: str = EXECUTION, **parameters: Any) -> dict[str, Any]:
    return {
        "node": "mail",
        "parameters": {**MAIL, **parameters},
        "execution": {"id": execution, "routineId": "r", "startedAt": "2026-12-07T07:00:00Z"},
        "attempt": attempt,
    }


def invoke(aws: LocalAWS, payload: dict[str, Any]) -> tuple[str | None, Any]:
    """(the error type or None, the answer) of one invocation of the plugin's Lambda."""
    response = aws.client("lambda").invoke(
        FunctionName=function_name("ses-send-email"), Payload=json.dumps(payload)
    )
    answer = json.loads(response["Payload"].read())
    return (answer.get("errorType") if "FunctionError" in response else None), answer


def sent(aws: LocalAWS) -> int:
    return int(aws.client("ses").get_send_quota()["SentLast24Hours"])


def records(aws: LocalAWS) -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=PLUGIN_LEDGER_TABLE.name)["Items"])


class Context:
    aws_request_id = "req"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_repeated_attempt_sends_one_email_and_answers_with_the_first_message_id(aws: LocalAWS) -> None:
    first = invoke(aws, event())
    assert first[0] is None, first
    # The node's retry (another attempt number) and an Express machine's second run of the
    # same attempt carry the same key: SES sees one email, both get its message id.
    assert invoke(aws, event(attempt=1)) == first
    assert invoke(aws, event()) == first
    assert sent(aws) == 1
    # Another execution (or node, or loop iteration) is another email.
    other = invoke(aws, event(execution=EXECUTION + "-2"))
    assert other[0] is None and other[1]["messageId"] != first[1]["messageId"]
    assert sent(aws) == 2
    [record, _] = sorted(records(aws), key=lambda r: r["id"]["S"] != _ledger_id(event()))
    assert record["id"]["S"] == _ledger_id(event())
    assert record["status"] == {"S": "COMPLETED"}
    assert json.loads(record["data"]["S"]) == {"output": first[1]}
    # Expires a day on: far past an Express execution's 5 minutes and its retries.
    assert 24 * 3600 - 60 < int(record["expiration"]["N"]) - time.time() <= 24 * 3600


def _ledger_id(payload: dict[str, Any]) -> str:
    import hashlib

    key = idempotency_key(Invocation.model_validate(payload))
    return "ses-send-email#" + hashlib.sha256(json.dumps(key).encode()).hexdigest()


def test_the_email_still_carries_the_key_as_its_ses_tag(aws: LocalAWS) -> None:
    calls: list[dict[str, Any]] = []
    ses = client("ses")  # the plugin's own client, in this process like its Lambda
    ses.meta.events.register("provide-client-params.ses.SendEmail", lambda params, **_: calls.append(params))
    try:
        assert invoke(aws, event())[0] is None
        assert invoke(aws, event(attempt=1))[0] is None
    finally:
        ses.meta.events.unregister("provide-client-params.ses.SendEmail")
    key = idempotency_key(Invocation.model_validate(event()))
    assert [c["Tags"] for c in calls] == [[{"Name": FIELD, "Value": key}]]


def test_a_failed_send_releases_the_claim_so_the_retry_sends(aws: LocalAWS) -> None:
    unverified = "nobody@example.com"
    error, answer = invoke(aws, event(**{"from": unverified}))
    assert error == "Routines.UserError", answer
    assert sent(aws) == 0 and records(aws) == []  # nothing claimed any more
    aws.client("ses").verify_email_identity(EmailAddress=unverified)
    error, answer = invoke(aws, event(attempt=1, **{"from": unverified}))
    assert error is None, answer
    assert sent(aws) == 1


def _hold_sends() -> tuple[threading.Event, threading.Event]:
    """Sends block until released: (entered, release)."""
    entered, release = threading.Event(), threading.Event()

    def hold(**_: Any) -> None:
        entered.set()
        assert release.wait(10)

    client("ses").meta.events.register("before-call.ses.SendEmail", hold, unique_id="hold")
    return entered, release


def _send_in_thread(payload: dict[str, Any], out: list[Any]) -> threading.Thread:
    from plugins.builtin.ses_send_email.handler import handler

    def run() -> None:
        try:
            out.append(handler(payload, Context()))
        except Exception as exc:  # reported to the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_repeat_while_the_first_attempt_sends_fails_retryably_then_gets_its_result(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.builtin.ses_send_email.handler import handler

    monkeypatch.setattr(ledger, "WAIT_SECONDS", 0.3)
    entered, release = _hold_sends()
    first: list[Any] = []
    try:
        thread = _send_in_thread(event(), first)
        assert entered.wait(10)
        with pytest.raises(OperationalError, match="still running") as refused:
            handler(event(attempt=1), Context())
        assert type(refused.value).retryable and type(refused.value).__name__ == "Routines.OperationalError"
        assert sent(aws) == 0
    finally:
        release.set()
        client("ses").meta.events.unregister("before-call.ses.SendEmail", unique_id="hold")
    thread.join(10)
    assert sent(aws) == 1 and first and isinstance(first[0], dict), first
    assert handler(event(attempt=2), Context()) == first[0]
    assert sent(aws) == 1


def test_a_repeat_waits_briefly_for_a_first_attempt_about_to_finish(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.builtin.ses_send_email.handler import handler

    monkeypatch.setattr(ledger, "WAIT_SECONDS", 10.0)  # ends as soon as the result is stored
    entered, release = _hold_sends()
    first: list[Any] = []
    try:
        thread = _send_in_thread(event(), first)
        assert entered.wait(10)
        threading.Timer(0.3, release.set).start()
        again = handler(event(attempt=1), Context())
    finally:
        release.set()
        client("ses").meta.events.unregister("before-call.ses.SendEmail", unique_id="hold")
    thread.join(10)
    assert again == first[0] and sent(aws) == 1


def test_a_claim_stays_until_its_attempts_deadline_then_a_repeat_sends_again(aws: LocalAWS) -> None:
    """The limit docs/cost.md states: an attempt that died after SES accepted its email and
    before the ledger stored the result looks like one that died before sending."""
    from plugins.builtin.ses_send_email.handler import handler

    handler(event(), Context())
    [record] = records(aws)
    table = aws.client("dynamodb")

    def crashed(deadline_ms: int) -> None:
        table.update_item(
            TableName=PLUGIN_LEDGER_TABLE.name,
            Key={"id": record["id"]},
            UpdateExpression="SET #s = :p, in_progress_expiration = :d REMOVE #data",
            ExpressionAttributeNames={"#s": "status", "#data": "data"},
            ExpressionAttributeValues={":p": {"S": "INPROGRESS"}, ":d": {"N": str(deadline_ms)}},
        )

    now_ms = int(time.time() * 1000)
    crashed(now_ms + 60_000)  # the crashed attempt's Lambda could still be running
    with pytest.raises(OperationalError, match="still running"):
        handler(event(attempt=1), Context(remaining_ms=1_500))
    assert sent(aws) == 1
    crashed(now_ms - 1)  # past its deadline: it cannot be running
    handler(event(attempt=2), Context())
    assert sent(aws) == 2


def test_the_claim_of_an_attempt_expires_with_its_lambda(aws: LocalAWS) -> None:
    from plugins.builtin.ses_send_email.handler import handler

    entered, release = _hold_sends()
    first: list[Any] = []
    try:
        thread = _send_in_thread(event(), first)
        assert entered.wait(10)
        [record] = records(aws)
        deadline = int(record["in_progress_expiration"]["N"]) - time.time() * 1000
        assert 55_000 < deadline <= 60_000  # Context(): 60 s left when it claimed the key
    finally:
        release.set()
        client("ses").meta.events.unregister("before-call.ses.SendEmail", unique_id="hold")
    thread.join(10)
    assert handler(event(attempt=1), Context()) == first[0]


# -- the ledger on its own --------------------------------------------------------------


def _run(execution: str = EXECUTION, secrets: dict[str, Any] | None = None) -> RunContext:
    invocation = Invocation.model_validate(event(execution=execution))
    return RunContext(invocation, {"secrets": secrets or {}}, lambda: 30_000)


def test_an_empty_output_is_answered_as_stored_and_secrets_are_not_stored(aws: LocalAWS) -> None:
    runs: list[int] = []

    def effect() -> Any:
        runs.append(1)
        return {}

    assert ledger.once("p", _run(), effect) == {}
    assert ledger.once("p", _run(), effect) == {} and runs == [1]
    token = "s3cr3t-t0ken-value"
    output = ledger.once("p", _run("e2", {"api": token}), lambda: {"echo": f"Bearer {token}"})
    assert output == {"echo": "Bearer [secret]"}
    assert token not in json.dumps(records(aws))


def test_an_output_the_ledger_cannot_store_is_still_returned(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer

    def broken(self: Any, data_record: Any) -> None:
        raise RuntimeError("DynamoDB is unavailable")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_update_record", broken)
    runs: list[int] = []
    assert ledger.once("p", _run(), lambda: runs.append(1) or {"id": 1}) == {"id": 1}
    # The effect happened; its claim stays in progress: a repeat is refused, not re-run.
    monkeypatch.setattr(ledger, "WAIT_SECONDS", 0.0)
    with pytest.raises(OperationalError, match="still running"):
        ledger.once("p", _run(), lambda: runs.append(1))
    assert runs == [1]


def test_a_ledger_that_cannot_be_reached_fails_retryably_without_running(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGIN_LEDGER_TABLE", "no-such-table")
    runs: list[int] = []
    with pytest.raises(OperationalError, match="ledger failed"):
        ledger.once("p", _run(), lambda: runs.append(1))
    assert runs == []


# -- the declaration ---------------------------------------------------------------------


def test_a_ledger_makes_a_plugin_safe_to_repeat_and_only_tasks_have_one() -> None:
    ses = default_registry().get("ses-send-email")
    assert ses.ledger and ses.repeat_safe and ses.repeat_problems(MAIL) == []
    assert dataclasses.replace(ses, repeat_safe=False).repeat_safe  # follows from the ledger
    with pytest.raises(PluginDefinitionError, match="no ledger"):
        PluginDefinition("x", 1, "X", "x", "core", kind=Kind.CONTROL, compiled_by=("x.y",), ledger=True)


def test_every_plugin_that_declares_a_ledger_uses_it_and_only_those() -> None:
    registry = default_registry()
    for module, _ in {h.rsplit(".", 1)[0]: 1 for _, h in lambda_functions(registry).values()}.items():
        importlib.import_module(module)
    declared = {p.name for p in registry if p.ledger}
    assert declared == {"ses-send-email"}
    assert declared == ledger.GUARDED
    transform = registry.get("transform")
    with pytest.raises(PluginDefinitionError, match="declare ledger=True"):
        ledger.guard(transform, lambda parameters, run: None)
