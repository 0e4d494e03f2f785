"""The recorder on the local AWS: real status-event shape in, durable records out; every
started execution ends with a terminal record, whatever the events' order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.local.status_events import StatusEvents, status_event
from functions.recorder import Recorder
from functions.recorder import handler as recorder_handler
from functions.store import ExecutionStore
from functions.triggers import RunMeta, execution_input, start_execution
from statemachines.compiler import compile_validated
from statemachines.options import CompileOptions
from statemachines.validator import analyse
from tests.conftest import link, routine


class Documents:
    """A routine source backed by a dict: (owner, routine, version) → document."""

    def __init__(self) -> None:
        self.documents: dict[tuple[str, str, int], Any] = {}

    def routine_document(self, owner_id: str, routine_id: str, version: int) -> Any | None:
        return self.documents.get((owner_id, routine_id, version))


def deploy(
    aws: LocalAWS, documents: Documents, document: Any, routine_id: str = "r1", version: int = 1
) -> str:
    """What activation does, minimally: compile, create the state machine."""
    compiled = compile_validated(analyse(document), CompileOptions(routine_id=routine_id))
    documents.documents[("alice", routine_id, version)] = document
    machine = aws.client("stepfunctions").create_state_machine(
        name=f"routine-{routine_id}-{version}", definition=compiled.definition, roleArn=aws.role_arn
    )
    return str(machine["stateMachineArn"])


@pytest.fixture
def documents(aws: LocalAWS) -> Iterator[Documents]:
    source = Documents()
    recorder_handler.use_routine_source(source)
    yield source
    recorder_handler.use_routine_source(None)


@pytest.fixture
def events(aws: LocalAWS, documents: Documents) -> Iterator[StatusEvents]:
    with StatusEvents(aws) as delivered:
        yield delivered


def transform(node_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


META = RunMeta("alice", "r1", 1, "webhook")


def test_a_finished_execution_has_a_terminal_record_with_trace(
    aws: LocalAWS, documents: Documents, events: StatusEvents
) -> None:
    doc = routine(
        transform("a", {"x": "{{ trigger.n }}"}),
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.a.x }}", "op": "gt", "right": 5}},
        },
        transform("yes", {"big": True}),
        transform("no", {"big": False}),
        connections=[link("a", "big"), link("big", "yes", "true"), link("big", "no", "false")],
    )
    arn = deploy(aws, documents, doc)
    store = ExecutionStore()
    started = start_execution(aws.client("stepfunctions"), store, arn, META, {"n": 9})
    assert store.get("alice", started.execution_id).status == "RUNNING"  # type: ignore[union-attr]
    assert events.settle(30)
    record = store.get("alice", started.execution_id)
    assert record is not None
    assert record.status == "SUCCEEDED"
    assert record.trigger == {"n": 9} and record.trigger_type == "webhook" and record.version == 1
    assert record.stopped_at is not None and record.duration_ms is not None and record.duration_ms >= 0
    assert record.nodes is not None
    assert {n: t["status"] for n, t in record.nodes.items()} == {
        "a": "succeeded",
        "big": "succeeded",
        "yes": "succeeded",
        "no": "skipped",
    }
    assert record.nodes["a"]["output"] == {"x": 9}
    assert record.transitions is not None and record.transitions > 0
    assert record.error is None


def test_a_crashing_plugin_lambda_leaves_a_failed_record(
    aws: LocalAWS, documents: Documents, events: StatusEvents
) -> None:
    doc = routine(transform("a", {"x": 1}), transform("b", {"y": 2}), connections=[link("a", "b")])
    arn = deploy(aws, documents, doc)
    handler_string = "plugins.builtin.transform.handler.handler"

    def crash(event: Any, context: Any) -> Any:
        if event.get("node") == "b":
            raise MemoryError("the Lambda ran out of memory")
        return original(event, context)

    original = aws.lambdas.handler(handler_string)
    aws.lambdas._handlers[handler_string] = crash
    started = start_execution(aws.client("stepfunctions"), ExecutionStore(), arn, META, {})
    assert events.settle(60)
    record = ExecutionStore().get("alice", started.execution_id)
    assert record is not None
    assert record.status == "FAILED"
    assert record.error is not None and record.error["type"] == "MemoryError"
    assert "out of memory" in record.error["message"]
    assert record.nodes is not None and record.nodes["a"]["status"] == "succeeded"
    assert record.nodes["b"]["status"] != "succeeded"


def test_a_stopped_execution_is_recorded_aborted(
    aws: LocalAWS, documents: Documents, events: StatusEvents
) -> None:
    doc = routine(
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 60}},
        transform("after", {"a": 1}),
        connections=[link("pause", "after")],
    )
    arn = deploy(aws, documents, doc)
    client = aws.client("stepfunctions")
    started = start_execution(client, ExecutionStore(), arn, META, {})
    time.sleep(0.3)
    client.stop_execution(executionArn=started.execution_arn)
    assert events.settle(30)
    record = ExecutionStore().get("alice", started.execution_id)
    assert record is not None and record.status == "ABORTED"
    assert record.error == {"type": "States.Aborted", "message": "the execution was stopped"}


def description(status: str, name: str = "e1", meta: RunMeta | None = META, **extra: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    execution = {"trigger": {"k": 1}, **({"meta": meta.to_json()} if meta else {})}
    return {
        "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:routine-r1:{name}",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:routine-r1",
        "name": name,
        "status": status,
        "startDate": datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
        "stopDate": None if status == "RUNNING" else datetime(2026, 1, 1, 12, 0, 3, tzinfo=UTC),
        "input": json.dumps(execution),
        **extra,
    }


def handle(event: dict[str, Any]) -> dict[str, Any]:
    return recorder_handler.lambda_handler(event, None)


def test_reordered_and_duplicated_events_never_regress(aws: LocalAWS) -> None:
    store = ExecutionStore()
    done = status_event(description("SUCCEEDED", output=json.dumps({"r": 1})))
    assert handle(done)["result"] == "recorded"
    assert handle(status_event(description("RUNNING")))["result"] == "duplicate"
    assert handle(done)["result"] == "duplicate"
    assert handle(status_event(description("FAILED", error="X", cause="y")))["result"] == "duplicate"
    record = store.get("alice", "routine-r1:e1")
    assert record is not None
    assert (record.status, record.output, record.error, record.duration_ms) == (
        "SUCCEEDED",
        {"r": 1},
        None,
        3000.0,
    )
    assert record.trigger == {"k": 1}


def test_timed_out_execution_gets_an_error_even_without_one_in_the_event(aws: LocalAWS) -> None:
    assert handle(status_event(description("RUNNING")))["result"] == "recorded"
    assert handle(status_event(description("TIMED_OUT")))["result"] == "recorded"
    record = ExecutionStore().get("alice", "routine-r1:e1")
    assert record is not None and record.status == "TIMED_OUT"
    assert record.error is not None and record.error["type"] == "States.Timeout"


def test_an_event_for_an_unknown_execution_writes_nothing(aws: LocalAWS) -> None:
    result = handle(status_event(description("SUCCEEDED", meta=None)))
    assert result["result"] == "ignored" and result["reason"] == "unknown execution"
    assert ExecutionStore().find("routine-r1:e1") is None


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "Object Created", "source": "aws.s3", "detail": {}},
        {
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "detail": {"name": 1},
        },
        {"detail-type": "Step Functions Execution Status Change", "source": "aws.states", "detail": None},
    ],
)
def test_events_that_are_not_status_changes_are_ignored(aws: LocalAWS, event: dict[str, Any]) -> None:
    assert handle(event)["result"] == "ignored"


def test_a_later_event_without_its_input_keeps_the_starters_facts(aws: LocalAWS) -> None:
    assert Recorder(ExecutionStore()).handle(status_event(description("RUNNING")))["result"] == "recorded"
    # Step Functions leaves out inputs over 248 KiB; this execution is gone from the API too
    event = status_event(description("FAILED", meta=None, error="Boom", cause="bad"))
    event["detail"]["inputDetails"] = {"included": False}
    event["detail"]["input"] = None
    assert handle(event)["result"] == "recorded"
    record = ExecutionStore().get("alice", "routine-r1:e1")
    assert record is not None
    assert (record.status, record.error, record.trigger) == (
        "FAILED",
        {"type": "Boom", "message": "bad"},
        {"k": 1},
    )
    assert record.trigger_type == "webhook" and record.version == 1


def test_execution_input_carries_meta_the_machine_ignores() -> None:
    data = execution_input({"a": 1}, RunMeta("alice", "r1", 2, "rerun", rerun_of="e0"), "run-1")
    assert RunMeta.from_input(data) == RunMeta("alice", "r1", 2, "rerun", "e0")
    assert (
        RunMeta.from_input({"trigger": 1, "meta": {"ownerId": "a", "routineId": "r", "version": "1"}}) is None
    )
    assert RunMeta.from_input({"trigger": 1}) is None


def test_executions_without_meta_are_recorded_from_the_machine_tags(
    aws: LocalAWS, documents: Documents, events: StatusEvents
) -> None:
    """What Scheduler and rules start (their input is set at activation) is recorded too."""
    arn = deploy(aws, documents, routine(transform("a", {"x": 1})))
    client = aws.client("stepfunctions")
    client.tag_resource(
        resourceArn=arn,
        tags=[
            {"key": "routines:owner", "value": "alice"},
            {"key": "routines:routineId", "value": "r1"},
            {"key": "routines:version", "value": "1"},
        ],
    )
    cron = client.start_execution(
        stateMachineArn=arn, name="c1", input=json.dumps({"trigger": {"type": "cron"}})
    )
    event = client.start_execution(
        stateMachineArn=arn, name="v1", input=json.dumps({"trigger": {"detail-type": "x", "source": "y"}})
    )
    assert events.settle(30)
    store = ExecutionStore()
    kinds = {}
    for started in (cron, event):
        record = store.get("alice", started["executionArn"].split(":", 6)[6])
        assert record is not None and record.status == "SUCCEEDED" and record.nodes is not None
        kinds[record.trigger_type] = record.version
    assert kinds == {"cron": 1, "event": 1}


def test_the_approval_notifier_posts_the_approval_link(
    aws: LocalAWS, http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_BASE_URL", "https://api.example.com/prod")
    hook = http.respond("/approvals", (200, {"ok": True}))
    doc = routine(
        {
            "id": "ask",
            "plugin": "approval",
            "parameters": {"message": "Ship {{ trigger.n }}?", "notifyUrl": hook},
        },
        transform("ship", {"ok": True}),
        connections=[link("ask", "ship", "approved")],
    )
    from functions.local.runner import start_routine

    running_execution = start_routine(aws, doc, {"n": 3})
    for _ in range(500):
        if http.requests:
            break
        time.sleep(0.01)
    (request,) = http.requests
    body = json.loads(request["body"])
    execution_id = running_execution.arn.split(":", 6)[6]
    assert body["executionId"] == execution_id and body["message"] == "Ship 3?"
    assert body["approvalUrl"] == f"https://api.example.com/prod/executions/{execution_id}/approvals/ask"
    client = aws.client("stepfunctions")
    item = aws.client("dynamodb").get_item(
        TableName="approvals", Key={"executionId": {"S": running_execution.arn}, "nodeId": {"S": "ask"}}
    )["Item"]
    client.send_task_success(taskToken=item["taskToken"]["S"], output=json.dumps({"decision": "approved"}))
    assert running_execution.wait(timeout=30).status == "SUCCEEDED"
