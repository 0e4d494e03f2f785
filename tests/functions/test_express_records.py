"""Express machines write their own execution records (issue #28 item 2), on the local
runtime: activation deploys an EXPRESS machine; its execution sends no status events (as
on AWS) yet ends with exactly one terminal record, with its trace from the node logs; a
failure starts its error routine exactly once; an execution that never writes its end is
timed out by the recorder's sweep, and its machine's late write cannot change that. Item
4: a Standard routine's distributed loop runs Express children where the body allows,
with the same result locally. And the examples choose as the issue says. Locally an end is
settled as its machine writes it, before the execution ends; a failed or timed-out Express
execution reaches the failed-executions queue once, as a Standard one's status event does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from contract.names import EXECUTIONS_TABLE
from functions.local import LocalAWS, run_routine, status_events
from functions.local.status_events import StatusEvents, stream_event
from functions.recorder.error_routines import StoredErrorRoutines, execution_name
from functions.recorder.failures import FailedExecutions, NotDelivered, failure_event
from functions.recorder.handler import StoredRoutines
from functions.recorder.recorder import Recorder
from functions.store import ExecutionStore
from functions.triggers.start import RunMeta, start_execution
from statemachines.compiler import compile_routine
from statemachines.machine.records import RECORDED, WRAPPER_STATES, child_reasons
from statemachines.options import CompileOptions
from statemachines.validator import analyse
from tests.api.conftest import Api
from tests.asl_validator import Validate
from tests.conftest import link, routine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def greet(**extra: Any) -> dict[str, Any]:
    return {
        "name": "greeter",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "hello", "plugin": "transform", "parameters": {"fields": {"who": "{{ trigger.who }}"}}},
            {
                "id": "big",
                "plugin": "if",
                "parameters": {"condition": {"left": "{{ trigger.n }}", "op": "gt", "right": 5}},
            },
            {"id": "yes", "plugin": "transform", "parameters": {"fields": {"big": True}}},
            {"id": "no", "plugin": "transform", "parameters": {"fields": {"big": False}}},
        ],
        "connections": [link("hello", "big"), link("big", "yes", "true"), link("big", "no", "false")],
        **extra,
    }


def napping() -> dict[str, Any]:
    """An Express routine that naps 2 s, then transforms: long enough to be swept."""
    return routine(
        {"id": "nap", "plugin": "wait", "parameters": {"seconds": 2}},
        {"id": "after", "plugin": "transform", "parameters": {"fields": {"a": 1}}},
        connections=[link("nap", "after")],
    )


def handler() -> dict[str, Any]:
    return {
        "name": "on error",
        "trigger": {"type": "error"},
        "nodes": [
            {
                "id": "note",
                "plugin": "transform",
                "parameters": {"fields": {"status": "{{ trigger.execution.status }}"}},
            }
        ],
    }


def failing(error_routine: str) -> dict[str, Any]:
    return {
        "name": "fragile",
        "trigger": {"type": "manual"},
        "errorRoutine": error_routine,
        "nodes": [
            {"id": "prepare", "plugin": "transform", "parameters": {"fields": {"a": 1}}},
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Broken", "cause": "bad"},
            },
        ],
        "connections": [link("prepare", "boom")],
    }


def activated(api: Api, document: dict[str, Any]) -> str:
    routine_id: str = api.ok("POST", "/routines", document)["id"]
    api.ok("POST", f"/routines/{routine_id}/activate")
    return routine_id


def machine_type(aws: LocalAWS, routine_id: str) -> str:
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:routines-{routine_id}"
    return str(aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["type"])


def items(aws: LocalAWS, execution_id: str) -> list[dict[str, Any]]:
    """Every stored item of the execution (the table is keyed by execution id: one)."""
    found = aws.client("dynamodb").query(
        TableName=EXECUTIONS_TABLE.name,
        KeyConditionExpression="executionId = :id",
        ExpressionAttributeValues={":id": {"S": execution_id}},
        ConsistentRead=True,
    )["Items"]
    return list(found)


def executions_of(aws: LocalAWS, routine_id: str) -> list[dict[str, Any]]:
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:routines-{routine_id}"
    return list(aws.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])


def test_an_express_execution_ends_with_one_terminal_record_and_its_trace_without_status_events(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    routine_id = activated(api, greet())
    assert machine_type(aws, routine_id) == "EXPRESS"
    started = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {"who": "Ada", "n": 9}})
    execution_id = started["executionId"]
    assert events.settle(60)
    assert events.delivered == 0  # no status events for Express executions, as on AWS
    assert events.sweeps >= 1
    [item] = items(aws, execution_id)
    assert item["status"]["S"] == "SUCCEEDED" and "pending" not in item  # settled by the sweep
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.status == "SUCCEEDED" and record.trigger_type == "manual"
    assert record.trigger == {"who": "Ada", "n": 9}
    assert record.output == {"yes": {"big": True}}
    assert record.stopped_at is not None and record.stopped_at >= record.started_at
    assert record.nodes is not None
    statuses = {node: entry["status"] for node, entry in record.nodes.items()}
    assert statuses == {"hello": "succeeded", "big": "succeeded", "yes": "succeeded", "no": "skipped"}
    assert record.nodes["hello"]["output"] == {"who": "Ada"}
    # Further sweeps find nothing to do: the one terminal record stays as it is.
    revision = item["revision"]["N"]
    recorder = Recorder(ExecutionStore(), StoredRoutines(), StoredErrorRoutines())
    assert recorder.sweep() == {"result": "swept", "settled": 0, "timedOut": 0}
    assert items(aws, execution_id)[0]["revision"]["N"] == revision
    shown = api.ok("GET", f"/executions/{execution_id}")
    assert shown["status"] == "SUCCEEDED" and shown["nodes"]["yes"]["output"] == {"big": True}


def test_a_failed_express_execution_starts_its_error_routine_exactly_once(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    on_error = activated(api, handler())
    routine_id = activated(api, failing(on_error))
    assert machine_type(aws, routine_id) == "EXPRESS"
    execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
    assert events.settle(60)
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.status == "FAILED"
    assert record.error == {"type": "Broken", "message": "bad"}
    assert record.error_routine is not None and record.error_routine["note"] is None
    assert record.error_routine["executionId"] == f"routines-{on_error}:{execution_name(execution_id)}"
    assert record.nodes is not None and record.nodes["boom"]["status"] == "failed"
    ran = ExecutionStore().find(record.error_routine["executionId"])
    assert ran is not None and ran.status == "SUCCEEDED" and ran.trigger_type == "error"
    assert ran.trigger["execution"]["failedNode"] == "boom"
    # Later sweeps start nothing more: the record is settled.
    recorder = Recorder(ExecutionStore(), StoredRoutines(), StoredErrorRoutines())
    recorder.sweep()
    recorder.sweep()
    assert len(executions_of(aws, on_error)) == 1


def test_an_express_execution_that_never_writes_its_end_is_timed_out_by_the_sweep_once(
    aws: LocalAWS,
) -> None:
    document = napping()
    compiled = compile_routine(document)
    assert compiled.report["execution"]["type"] == "express"
    documents = {("alice", "r1", 1): document}

    class Documents:
        def routine_document(self, owner: str, routine_id: str, version: int) -> Any:
            return documents.get((owner, routine_id, version))

    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="routines-r1", definition=compiled.definition, roleArn=aws.role_arn, type="EXPRESS"
    )["stateMachineArn"]
    store = ExecutionStore()
    started = start_execution(sfn, store, arn, RunMeta("alice", "r1", 1, "manual"), {"x": 1})
    recorder = Recorder(store, Documents())
    time.sleep(0.5)  # the machine's RUNNING write
    assert recorder.sweep() == {"result": "swept", "settled": 0, "timedOut": 0}  # within its 5 minutes
    assert store.find(started.execution_id).status == "RUNNING"  # type: ignore[union-attr]
    # Past the Express bound (and the grace for a last write): TIMED_OUT, with what ran so far.
    assert recorder.sweep(now=time.time() + 400) == {"result": "swept", "settled": 0, "timedOut": 1}
    record = store.find(started.execution_id)
    assert record is not None and record.status == "TIMED_OUT" and record.pending is None
    assert record.error is not None and record.error["type"] == "States.Timeout"
    assert record.stopped_at == pytest.approx(record.started_at + 300)
    # moto runs Express machines past 5 minutes' bounds like Standard ones: this one still
    # ends, and its own SUCCEEDED write is refused (the record is already terminal).
    while sfn.describe_execution(executionArn=started.execution_arn)["status"] == "RUNNING":
        time.sleep(0.1)
    assert sfn.describe_execution(executionArn=started.execution_arn)["status"] == "SUCCEEDED"
    [item] = items(aws, started.execution_id)
    assert item["status"]["S"] == "TIMED_OUT" and "pending" not in item


def test_executions_whose_input_names_no_owner_write_no_record(aws: LocalAWS) -> None:
    # `routines run` starts without meta: the machine runs, the wrapper writes nothing.
    result = run_routine(aws, greet(), {"who": "Bo", "n": 1})
    assert result.status == "SUCCEEDED" and result.output == {"no": {"big": False}}
    assert result.nodes["no"]["status"] == "succeeded" and result.nodes["yes"]["status"] == "skipped"
    assert aws.client("dynamodb").scan(TableName=EXECUTIONS_TABLE.name)["Items"] == []


def test_the_wrapper_is_only_around_express_machines_and_keeps_the_routines_errors(aws: LocalAWS) -> None:
    express = compile_routine(greet())
    standard = compile_routine(greet(execution="standard"))
    assert express.asl["StartAt"] == RECORDED and express.report["queryLanguage"] == "JSONata"
    assert set(WRAPPER_STATES) <= set(express.asl["States"])
    assert standard.asl["StartAt"] != RECORDED and not set(WRAPPER_STATES) & set(standard.asl["States"])
    failed = run_routine(aws, failing("none"))
    assert failed.status == "FAILED" and (failed.error, failed.cause) == ("Broken", "bad")


# -- settled as the machine writes its end; failures reach the failed-executions queue ------


def test_an_express_end_is_settled_as_its_machine_writes_it_before_the_execution_ends(
    api: Api, aws: LocalAWS, events: StatusEvents, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep only every hour: what settles the record is its write, handed to the
    # recorder as its stream record on the machine's thread (functions/local/status_events.py).
    monkeypatch.setattr(status_events, "SWEEP_SECONDS", 3600)
    routine_id = activated(api, greet())
    execution_id = api.ok("POST", f"/routines/{routine_id}/executions", {"input": {"who": "Ada", "n": 1}})[
        "executionId"
    ]
    arn = ExecutionStore().find(execution_id).execution_arn  # type: ignore[union-attr]
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # The execution has just ended: its record is already settled, trace and all.
    [item] = items(aws, execution_id)
    assert item["status"]["S"] == "SUCCEEDED" and "pending" not in item
    record = ExecutionStore().find(execution_id)
    assert record is not None and record.nodes is not None
    assert {n: e["status"] for n, e in record.nodes.items()} == {
        "hello": "succeeded",
        "big": "succeeded",
        "yes": "skipped",
        "no": "succeeded",
    }
    assert events.written >= 2  # RUNNING, SUCCEEDED


def test_a_failed_express_execution_reaches_the_failed_executions_queue_once_as_a_standard_one_does(
    api: Api, aws: LocalAWS, events: StatusEvents
) -> None:
    on_error = activated(api, handler())
    express = activated(api, failing(on_error))
    standard = activated(api, failing(on_error) | {"execution": "standard"})
    assert (machine_type(aws, express), machine_type(aws, standard)) == ("EXPRESS", "STANDARD")
    ran = {
        routine_id: api.ok("POST", f"/routines/{routine_id}/executions", {"input": {}})["executionId"]
        for routine_id in (express, standard)
    }
    assert events.settle(60)
    # Later sweeps (and a stream record of the settled write, delivered again) send nothing more.
    recorder = Recorder(
        ExecutionStore(), StoredRoutines(), StoredErrorRoutines(), FailedExecutions.from_env()
    )
    recorder.sweep()
    [item] = items(aws, ran[express])
    assert recorder.handle(stream_event({"executionId": item["executionId"]}, item))["settled"] == 0
    recorder.sweep()
    messages = events.failed_executions()
    by_execution = {m["detail"]["name"]: m for m in messages}
    assert len(messages) == 2 == len(by_execution), messages  # one each; the error routine's run succeeded
    sent = by_execution[ran[express].split(":", 1)[1]]
    event = by_execution[ran[standard].split(":", 1)[1]]
    # The same kind of message: the status-change event's shape, fields and values.
    assert sent["detail-type"] == event["detail-type"] == "Step Functions Execution Status Change"
    assert (sent["source"], event["source"]) == ("routines.recorder", "aws.states")
    assert set(sent) == set(event) and set(sent["detail"]) == set(event["detail"])
    record = ExecutionStore().find(ran[express])
    assert record is not None and record.status == "FAILED"
    assert sent["detail"]["executionArn"] == record.execution_arn
    assert sent["detail"]["stateMachineArn"] == event["detail"]["stateMachineArn"].replace(standard, express)
    assert (sent["detail"]["status"], sent["detail"]["error"], sent["detail"]["cause"]) == (
        "FAILED",
        "Broken",
        "bad",
    )
    assert (event["detail"]["status"], event["detail"]["error"]) == ("FAILED", "Broken")
    assert sent["detail"]["stopDate"] >= sent["detail"]["startDate"] > 0


def test_a_timed_out_express_execution_is_sent_once_and_a_refused_send_fails_the_sweep_loudly(
    aws: LocalAWS,
) -> None:
    document = napping()
    compiled = compile_routine(document)

    class Documents:
        def routine_document(self, owner: str, routine_id: str, version: int) -> Any:
            return document if (owner, routine_id, version) == ("alice", "r1", 1) else None

    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="routines-r1", definition=compiled.definition, roleArn=aws.role_arn, type="EXPRESS"
    )["stateMachineArn"]
    store = ExecutionStore()
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="failed")["QueueUrl"]
    first = start_execution(sfn, store, arn, RunMeta("alice", "r1", 1, "manual"), {"x": 1})
    second = start_execution(sfn, store, arn, RunMeta("alice", "r1", 1, "manual"), {"x": 2})
    time.sleep(0.5)  # the machines' RUNNING writes
    # A queue that refuses: the records are settled all the same, and the sweep raises.
    broken = Recorder(store, Documents(), failures=FailedExecutions(queue + "-gone"))
    with pytest.raises(NotDelivered, match=first.execution_id):
        broken.sweep(now=time.time() + 400)
    assert store.find(first.execution_id).status == "TIMED_OUT"  # type: ignore[union-attr]
    assert store.find(second.execution_id).status == "TIMED_OUT"  # type: ignore[union-attr]
    # Settled records are not sent again, by any later sweep.
    recorder = Recorder(store, Documents(), failures=FailedExecutions(queue))
    assert recorder.sweep(now=time.time() + 400) == {"result": "swept", "settled": 0, "timedOut": 0}
    assert sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []) == []
    # A third one, timed out by a working sweep: one message, with the timeout's error.
    third = start_execution(sfn, store, arn, RunMeta("alice", "r1", 1, "manual"), {"x": 3})
    time.sleep(0.5)
    assert recorder.sweep(now=time.time() + 400)["timedOut"] == 1
    assert recorder.sweep(now=time.time() + 400)["timedOut"] == 0
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    sent = json.loads(message["Body"])
    assert sent["detail"]["name"] == third.execution_id.split(":", 1)[1]
    assert sent["detail"]["status"] == "TIMED_OUT" and sent["detail"]["error"] == "States.Timeout"
    assert sent["id"] == failure_event(store.find(third.execution_id)).get("id")  # type: ignore[arg-type]
    for started in (first, second, third):  # moto runs them on: let them end within the test
        while sfn.describe_execution(executionArn=started.execution_arn)["status"] == "RUNNING":
            time.sleep(0.1)


def distributed(**extra: Any) -> dict[str, Any]:
    return routine(
        {"id": "list", "plugin": "static-data", "parameters": {"data": [1, 2, 3]}},
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.list }}", "mode": "distributed"}},
        {"id": "double", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.item * 2 }}"}}},
        connections=[link("list", "each"), link("each", "double", port="body")],
        **extra,
    )


def _processor_type(compiled: Any) -> str:
    return str(compiled.asl["States"]["each"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"])


def test_a_distributed_loop_of_a_standard_routine_runs_express_children_with_the_same_result(
    aws: LocalAWS,
) -> None:
    compiled = compile_routine(distributed(), options=CompileOptions())
    assert compiled.report["execution"]["type"] == "standard"
    assert _processor_type(compiled) == "EXPRESS"
    assert compiled.report["loops"]["each"]["childExecutions"] == {"perItem": 1, "type": "express"}
    assert "runs them as Standard" in compiled.report["execution"]["localChildren"]
    result = run_routine(aws, distributed())
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"each": [{"n": 2}, {"n": 4}, {"n": 6}]}
    # The stored definition is the one AWS gets (moto only reads it as Standard children).
    described = aws.client("stepfunctions").describe_state_machine_for_execution(
        executionArn=result.execution_arn
    )
    assert '"ExecutionType":"EXPRESS"' in described["definition"]


def test_a_body_that_is_not_safe_to_repeat_or_may_pass_five_minutes_keeps_standard_children() -> None:
    unsafe = distributed()
    unsafe["nodes"][2] = {  # a POST without its Idempotency-Key header
        "id": "double",
        "plugin": "http-request",
        "parameters": {"method": "POST", "url": "https://hooks.example.com", "idempotencyHeader": ""},
    }
    slow = distributed()
    slow["nodes"].append({"id": "nap", "plugin": "wait", "parameters": {"seconds": 400}})
    slow["connections"].append(link("double", "nap"))
    for document in (unsafe, slow):
        compiled = compile_routine(document, options=CompileOptions())
        assert _processor_type(compiled) == "STANDARD"
        assert "localChildren" not in compiled.report["execution"]
        topology = analyse(document).topology
        assert topology is not None and child_reasons(topology, "each")


def _choice(name: str) -> dict[str, Any]:
    report: dict[str, Any] = compile_routine(json.loads((EXAMPLES / f"{name}.json").read_text())).report
    return dict(report["execution"])


@pytest.mark.parametrize("name", ["webhook-order-handling", "cron-daily-report", "event-fanout"])
def test_the_webhook_cron_and_event_examples_choose_express(name: str) -> None:
    # The cron example mails its report: ses-send-email sends once per key through the
    # plugin ledger (plugins/runtime/ledger.py), so it is safe to repeat.
    assert _choice(name) == {"type": "express", "requested": "auto", "reasons": []}


def test_the_approval_example_stays_standard_for_its_approval() -> None:
    approval = _choice("approval-flow")
    assert approval["type"] == "standard"
    [reason] = approval["reasons"]
    assert reason.startswith("nodes[approve]: an approval pauses on a task token (.waitForTaskToken)")


def test_aws_asl_validator_accepts_the_wrapper_and_express_children(asl_validator: Validate) -> None:
    definitions = [
        compile_routine(greet(), options=CompileOptions(routine_id="r", stage="dev", owner="u", version=3)),
        compile_routine(failing("none")),
        compile_routine(distributed(), options=CompileOptions()),
    ]
    assert '"ExecutionType":"EXPRESS"' in definitions[2].definition
    for compiled, result in zip(definitions, asl_validator([c.definition for c in definitions]), strict=True):
        assert result.errors == [], (compiled.asl["StartAt"], result.errors)
