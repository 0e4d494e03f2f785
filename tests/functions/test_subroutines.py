"""execute-routine on the local runtime (JSONata machines): the parent waits for the child's
result; a child failure fails the node as {type, message}, which retry re-runs and onError
routes; without wait the child runs on its own; a chain deeper than 10 fails cleanly; pins
stand in for the child; children named by file are deployed with the parent. Also the
guarded moto seam that makes the startExecution integration work (functions.local.child_executions)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract.errors import CompileError
from functions.local import LocalAWS, child_executions
from functions.local.lambdas import Pin
from functions.local.runner import ExecutionResult, run_routine, start_routine
from functions.trace import trace_execution

CHILD_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:routines-child"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def child_routine() -> dict[str, Any]:
    """Doubles ``n``; fails with Child.Boom when asked to."""
    return {
        "name": "child",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "check",
                "plugin": "if",
                "parameters": {
                    "condition": {"all": [{"left": "{{ trigger.fail }}", "op": "eq", "right": True}]}
                },
            },
            {"id": "double", "plugin": "transform", "parameters": {"fields": {"n": "{{ trigger.n * 2 }}"}}},
            {
                "id": "boom",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Child.Boom", "cause": "asked to fail"},
            },
        ],
        "connections": [
            {"sourceNodeId": "check", "sourcePort": "false", "targetNodeId": "double"},
            {"sourceNodeId": "check", "sourcePort": "true", "targetNodeId": "boom"},
        ],
    }


def parent_routine(routine: str = "child.json", **node: Any) -> dict[str, Any]:
    call = {"id": "call", "plugin": "execute-routine", "parameters": {"routine": routine}, **node}
    return {
        "name": "parent",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "prep",
                "plugin": "transform",
                "parameters": {"fields": {"n": "{{ trigger.n }}", "fail": "{{ trigger.fail = true }}"}},
            },
            call,
            {"id": "after", "plugin": "transform", "parameters": {"fields": {"got": "{{ nodes.call }}"}}},
            {
                "id": "caught",
                "plugin": "transform",
                "parameters": {"fields": {"error": "{{ nodes.call.error }}"}},
            },
        ],
        "connections": [
            {"sourceNodeId": "prep", "targetNodeId": "call"},
            {"sourceNodeId": "call", "targetNodeId": "after"},
            *(
                [{"sourceNodeId": "call", "sourcePort": "error", "targetNodeId": "caught"}]
                if node.get("onError") == "route"
                else []
            ),
        ],
    } | ({} if node.get("onError") == "route" else {"nodes": None})


def parent(routine: str = "child.json", **node: Any) -> dict[str, Any]:
    document = parent_routine(routine, **node)
    if document["nodes"] is None:  # no error route: no 'caught' node
        document = parent_routine(routine, **node, onError="route")
        document["nodes"] = [n for n in document["nodes"] if n["id"] != "caught"]
        document["connections"] = [c for c in document["connections"] if c["targetNodeId"] != "caught"]
        call = next(n for n in document["nodes"] if n["id"] == "call")
        if "onError" in node:
            call["onError"] = node["onError"]
        else:
            del call["onError"]
    return document


def run(
    aws: LocalAWS, folder: Path, document: dict[str, Any], trigger: Any, **kwargs: Any
) -> ExecutionResult:
    return run_routine(aws, document, trigger, base=folder, timeout=120, **kwargs)


def child_executions_of(aws: LocalAWS, machine: str = CHILD_MACHINE) -> list[dict[str, Any]]:
    return list(aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])


def child_input(aws: LocalAWS, execution_id: str) -> dict[str, Any]:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{execution_id}"
    described = aws.client("stepfunctions").describe_execution(executionArn=arn)
    return dict(json.loads(described["input"]))


def test_the_parent_waits_and_gets_the_childs_result(aws: LocalAWS, tmp_path: Path) -> None:
    write(tmp_path, "child.json", child_routine())
    result = run(aws, tmp_path, parent(), {"n": 21})
    assert result.status == "SUCCEEDED", result.to_json()["error"]
    call = result.nodes["call"]
    assert call["status"] == "succeeded" and call["output"] == {"double": {"n": 42}}
    assert result.output == {"after": {"got": {"double": {"n": 42}}}}
    # The child got the node's input (prep's output) in the envelope every starter writes.
    sent = child_input(aws, call["childExecutionId"])
    assert sent["trigger"] == {"n": 21, "fail": False}
    parent_id = result.execution_arn.partition(":execution:")[2]
    assert sent["meta"] == {
        "routineId": "child",
        "triggerType": "routine",
        "parentNodeId": "call",
        "parentExecutionId": parent_id,
        "depth": 1,
    }
    assert sent["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == result.execution_arn


def test_a_child_failure_is_retried_then_routed_by_the_error_port(aws: LocalAWS, tmp_path: Path) -> None:
    write(tmp_path, "child.json", child_routine())
    before = len(child_executions_of(aws)) if _exists(aws) else 0
    document = parent(onError="route", retry={"maxAttempts": 2, "intervalSeconds": 1})
    result = run(aws, tmp_path, document, {"n": 1, "fail": True})
    assert result.status == "SUCCEEDED"
    call = result.nodes["call"]
    assert call["status"] == "failed" and len(call["childExecutionIds"]) == 2  # retried once
    assert call["childExecutionId"] == call["childExecutionIds"][-1]
    assert len(child_executions_of(aws)) == before + 2
    expected = {
        "type": "Child.Boom",
        "message": f"routine 'child' (execution {call['childExecutionId']}) failed: asked to fail",
    }
    assert call["error"] == expected and call["output"] == {"error": expected}
    # What the node after the error port read is the same record the trace shows.
    assert result.nodes["caught"]["output"] == {"error": expected}
    assert result.nodes["after"]["status"] == "skipped"


def test_a_child_failing_on_bad_input_is_not_retried(aws: LocalAWS, tmp_path: Path) -> None:
    refusing = child_routine()
    refusing["nodes"][2]["parameters"]["error"] = "Routines.UserError"
    write(tmp_path, "child.json", refusing)
    before = len(child_executions_of(aws)) if _exists(aws) else 0
    document = parent(onError="route", retry={"maxAttempts": 3, "intervalSeconds": 1})
    result = run(aws, tmp_path, document, {"n": 1, "fail": True})
    assert result.nodes["call"]["error"]["type"] == "Routines.UserError"
    assert "childExecutionIds" not in result.nodes["call"]
    assert len(child_executions_of(aws)) == before + 1


def test_without_on_error_a_child_failure_fails_the_execution_with_the_childs_error(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write(tmp_path, "child.json", child_routine())
    result = run(aws, tmp_path, parent(), {"n": 1, "fail": True})
    assert result.status == "FAILED"
    error = result.to_json()["error"]
    assert error["type"] == "Child.Boom"
    assert error["message"].startswith("routine 'child' (execution routines-child:")
    assert error["message"].endswith(") failed: asked to fail")
    assert result.nodes["call"]["status"] == "failed" and result.nodes["call"]["error"] == error


def test_without_wait_the_output_is_the_execution_id_and_the_child_runs(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write(tmp_path, "child.json", child_routine())
    document = parent(routine="child.json")
    document["nodes"][1]["parameters"]["wait"] = False
    result = run(aws, tmp_path, document, {"n": 5})
    assert result.status == "SUCCEEDED"
    started = result.nodes["call"]["output"]["executionId"]
    assert started.startswith("routines-child:") and result.nodes["call"]["childExecutionId"] == started
    assert result.output == {"after": {"got": {"executionId": started}}}
    arn = f"arn:aws:states:us-east-1:123456789012:execution:{started}"
    sfn = aws.client("stepfunctions")
    for _ in range(200):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"double": {"n": 10}}


def test_a_routine_that_calls_itself_stops_at_depth_ten(aws: LocalAWS, tmp_path: Path) -> None:
    recursive = {
        "name": "forever",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "again", "plugin": "execute-routine", "parameters": {"routine": "forever.json"}}],
    }
    write(tmp_path, "forever.json", recursive)
    result = run(aws, tmp_path, recursive, {"n": 0})
    assert result.status == "FAILED"
    error = result.to_json()["error"]
    assert error["type"] == "Routines.CallDepth"
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:routines-forever"
    executions = child_executions_of(aws, machine)
    assert len(executions) == 10  # depth 1 … 10: the tenth starts no eleventh
    assert all(e["status"] == "FAILED" for e in executions)
    deepest = max(
        executions,
        key=lambda e: json.loads(
            aws.client("stepfunctions").describe_execution(executionArn=e["executionArn"])["input"]
        )["meta"]["depth"],
    )
    described = aws.client("stepfunctions").describe_execution(executionArn=deepest["executionArn"])
    assert json.loads(described["input"])["meta"]["depth"] == 10
    assert described["error"] == "Routines.CallDepth"
    assert "nest at most 10 deep" in described["cause"]


def test_retries_do_not_multiply_a_recursive_chain(aws: LocalAWS, tmp_path: Path) -> None:
    recursive = {
        "name": "retrying",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "again",
                "plugin": "execute-routine",
                "parameters": {"routine": "retrying.json"},
                "retry": {"maxAttempts": 3, "intervalSeconds": 1},
            }
        ],
    }
    write(tmp_path, "retrying.json", recursive)
    began = time.monotonic()
    result = run(aws, tmp_path, recursive, {})
    assert result.to_json()["error"]["type"] == "Routines.CallDepth"
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:routines-retrying"
    assert len(child_executions_of(aws, machine)) == 10  # not 3 ** 10: the call depth is never retried
    assert time.monotonic() - began < 30


def test_pins_stand_in_for_the_child(aws: LocalAWS, tmp_path: Path) -> None:
    write(tmp_path, "child.json", child_routine())
    before = len(child_executions_of(aws)) if _exists(aws) else 0
    result = run(aws, tmp_path, parent(), {"n": 1}, pins={"call": Pin(output={"double": {"n": 99}})})
    assert result.status == "SUCCEEDED"
    assert result.nodes["call"]["output"] == {"double": {"n": 99}}
    assert result.output == {"after": {"got": {"double": {"n": 99}}}}
    pinned_error = Pin(error="Child.Boom", message="pinned")
    routed = run(aws, tmp_path, parent(onError="route"), {"n": 1}, pins={"call": pinned_error})
    assert routed.nodes["call"]["error"] == {"type": "Child.Boom", "message": "pinned"}
    assert routed.nodes["caught"]["output"] == {"error": {"type": "Child.Boom", "message": "pinned"}}
    # No child ran (run alone, no earlier test deployed the child's machine: nothing to list).
    assert (len(child_executions_of(aws)) if _exists(aws) else 0) == before


def test_a_pinned_child_is_not_read(aws: LocalAWS, tmp_path: Path) -> None:
    result = run(aws, tmp_path, parent("missing.json"), {"n": 1}, pins={"call": Pin(output=1)})
    assert result.status == "SUCCEEDED" and result.nodes["call"]["output"] == 1


@pytest.mark.parametrize(
    ("routine", "files", "message"),
    [
        ("missing.json", {}, "cannot read"),
        ("broken.json", {"broken.json": "{not json"}, "is not valid JSON"),
        ("invalid.json", {"invalid.json": json.dumps({"name": "x"})}, "is invalid"),
        ("not-deployed", {}, "is not deployed on the local runtime"),
    ],
)
def test_children_that_cannot_be_deployed_are_refused_at_the_node(
    aws: LocalAWS, tmp_path: Path, routine: str, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(CompileError) as raised:
        start_routine(aws, parent(routine), {}, base=tmp_path)
    assert raised.value.path == "nodes[call].parameters.routine"
    assert message in raised.value.message


def test_a_path_needs_the_documents_folder(aws: LocalAWS) -> None:
    with pytest.raises(CompileError, match="not read from a file"):
        start_routine(aws, parent(), {})


def test_grandchildren_are_deployed_relative_to_their_parent(aws: LocalAWS, tmp_path: Path) -> None:
    (tmp_path / "deeper").mkdir()
    write(tmp_path / "deeper", "child.json", child_routine())
    middle = {
        "name": "middle",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "inner", "plugin": "execute-routine", "parameters": {"routine": "deeper/child.json"}}
        ],
    }
    write(tmp_path, "middle.json", middle)
    result = run(aws, tmp_path, parent("middle.json"), {"n": 4})
    assert result.status == "SUCCEEDED", result.to_json()["error"]
    assert result.nodes["call"]["output"] == {"inner": {"double": {"n": 8}}}


def test_the_seam_stays_off_over_another_moto_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert child_executions.changed() == []  # the moto this was written for
    monkeypatch.setattr(
        child_executions, "WRITTEN_FOR", {k: {"0" * 16: "other"} for k in child_executions.WRITTEN_FOR}
    )
    monkeypatch.setattr(child_executions, "_told", [])
    assert child_executions.changed()
    users = child_executions.SEAM._users
    if users == 0:
        assert child_executions.install() is False
        assert not child_executions.SEAM.installed
        assert "execute-routine nodes run on moto's own startExecution integration" in capsys.readouterr().err


def _exists(aws: LocalAWS) -> bool:
    try:
        aws.client("stepfunctions").describe_state_machine(stateMachineArn=CHILD_MACHINE)
    except aws.client("stepfunctions").exceptions.StateMachineDoesNotExist:
        return False
    return True


def test_a_waiting_node_shows_its_child_while_it_runs(aws: LocalAWS, tmp_path: Path) -> None:
    slow = {
        "name": "slow",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "nap", "plugin": "wait", "parameters": {"seconds": 2}}],
    }
    write(tmp_path, "slow.json", slow)
    document = {
        "name": "waits",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "call", "plugin": "execute-routine", "parameters": {"routine": "slow.json"}}],
    }
    running = start_routine(aws, document, {}, base=tmp_path)
    sfn = aws.client("stepfunctions")
    for _ in range(200):
        trace = trace_execution(sfn, running.arn, running.topology, running.compiled.report, ended=False)
        if "childExecutionId" in trace.nodes["call"]:
            break
        time.sleep(0.02)
    assert trace.nodes["call"]["status"] == "running"
    assert trace.nodes["call"]["childExecutionId"].startswith("routines-slow:")
    result = running.wait(timeout=60)
    assert result.status == "SUCCEEDED" and result.nodes["call"]["output"] == {}
    assert result.nodes["call"]["childExecutionId"] == trace.nodes["call"]["childExecutionId"]


def test_in_a_loop_each_item_runs_the_child_and_failures_are_caught_per_item(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write(tmp_path, "child.json", child_routine())
    document = {
        "name": "each",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
            {
                "id": "call",
                "plugin": "execute-routine",
                "parameters": {"routine": "child.json"},
                "retry": {"maxAttempts": 2, "intervalSeconds": 1},
                "onError": "continue",
            },
            {
                "id": "row",
                "plugin": "transform",
                "parameters": {"fields": {"index": "{{ loop.index }}", "result": "{{ nodes.call }}"}},
            },
        ],
        "connections": [
            {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "call"},
            {"sourceNodeId": "call", "targetNodeId": "row"},
        ],
    }
    items = [{"n": 1}, {"n": 2, "fail": True}, {"n": 3}]
    result = run(aws, tmp_path, document, {"items": items})
    assert result.status == "SUCCEEDED", result.to_json()["error"]
    rows = result.output["each"]
    assert [row["index"] for row in rows] == [0, 1, 2]  # loop.* survives the catch and the retry wait
    assert rows[0]["result"] == {"double": {"n": 2}} and rows[2]["result"] == {"double": {"n": 6}}
    error = rows[1]["result"]["error"]
    assert error["type"] == "Child.Boom" and error["message"].endswith("failed: asked to fail")
    assert len(result.nodes["call"]["childExecutionIds"]) == 4  # 3 items, the failing one twice
