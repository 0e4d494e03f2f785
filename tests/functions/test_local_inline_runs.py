"""Work without a timeout runs on the thread that waits for it (functions/local/interp_paths.py:
``_run_here``): routines and state machines that nest that work — loops in loops and in
Parallel branches, retries, failures, waits, approvals, timeouts — run the same as with
every Task and program on a pooled thread of its own (``MAX_NESTED = 0``, the old way)."""

from __future__ import annotations

import contextvars
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

import plugins.runtime.handler as plugin_handler
from functions.local import LocalAWS, run_routine
from functions.local.fastpaths import interp_paths
from functions.local.lambdas import Pin
from functions.local.runner import ExecutionResult, start_routine
from functions.local.workers import WORKERS
from tests.conftest import link, routine
from tests.functions.conftest import in_process_function
from tests.functions.test_local_interp_paths import assert_same_run, links, scrubbed, without_fast_paths


class Pooled:
    """Counts the work handed to a pooled thread (``WORKERS.run``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        run = WORKERS.run

        def counted(work: Any) -> None:
            self.count += 1
            run(work)

        monkeypatch.setattr(WORKERS, "run", counted)


@contextmanager
def nested_at_most(levels: int) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(interp_paths, "MAX_NESTED", levels)
        yield


def here_and_pooled(
    aws: LocalAWS,
    monkeypatch: pytest.MonkeyPatch,
    document: dict[str, Any],
    trigger: Any = None,
    timed: int = 0,
    **kw: Any,
) -> tuple[ExecutionResult, ExecutionResult]:
    """The routine run as it is (work without a timeout on the waiting thread), then with
    every Task and program on a pooled thread; asserts that each ran the way it says
    (``timed``: how many Tasks with a timeout the first run has, which a pooled thread runs)."""
    pooled = Pooled(monkeypatch)
    here = run_routine(aws, document, trigger, timeout=60, **kw)
    handed = pooled.count
    assert handed == timed
    with nested_at_most(0):
        old = run_routine(aws, document, trigger, timeout=60, **kw)
    assert pooled.count > handed + 2
    return here, old


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def loop(node_id: str, items: str, concurrency: int = 0) -> dict[str, Any]:
    parameters: dict[str, Any] = {"items": items}
    if concurrency:
        parameters["maxConcurrency"] = concurrency
    return {"id": node_id, "plugin": "loop", "parameters": parameters}


def statuses(result: ExecutionResult) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


# -- loops nested in loops and in Parallel branches --------------------------------------------


def three_loops() -> dict[str, Any]:
    return routine(
        loop("a", "{{ trigger.grid }}", 2),
        loop("b", "{{ loop.item }}", 2),
        loop("c", "{{ loop.item }}"),
        transform("cell", v="{{ loop.item }}", i="{{ loop.index }}"),
        connections=[link("a", "b", "body"), link("b", "c", "body"), link("c", "cell", "body")],
    )


GRID = [[[f"{i}{j}{k}" for k in range(2)] for j in range(2)] for i in range(2)]


def test_loops_nested_three_deep_run_the_same(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    document = three_loops()
    here, old = here_and_pooled(aws, monkeypatch, document, {"grid": GRID})
    assert here.status == "SUCCEEDED", here.cause
    expected = [[[{"v": v, "i": k} for k, v in enumerate(row)] for row in plane] for plane in GRID]
    assert here.output == {"a": expected}
    assert_same_run(old, here, document)


def loops_in_branches_in_a_loop() -> dict[str, Any]:
    """loop → (loop → loop → cell | loop → cell) → merge, per outer item."""
    return routine(
        loop("outer", "{{ trigger.grid }}", 2),
        transform("fan", rows="{{ loop.item }}"),
        loop("left", "{{ nodes.fan.rows }}"),
        loop("leftInner", "{{ loop.item }}", 1),
        transform("leftCell", v="{{ loop.item }}"),
        loop("right", "{{ nodes.fan.rows[0] }}", 1),
        transform("rightCell", v="{{ loop.item }}", i="{{ loop.index }}"),
        {"id": "join", "plugin": "merge"},
        connections=[
            link("outer", "fan", "body"),
            link("fan", "left"),
            link("fan", "right"),
            link("left", "leftInner", "body"),
            link("leftInner", "leftCell", "body"),
            link("right", "rightCell", "body"),
            link("left", "join", "done"),
            link("right", "join", "done"),
        ],
    )


def test_loops_inside_parallel_branches_inside_a_loop_run_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = loops_in_branches_in_a_loop()
    here, old = here_and_pooled(aws, monkeypatch, document, {"grid": GRID})
    assert here.status == "SUCCEEDED", here.cause
    (first, _) = here.output["outer"]
    assert first["left"] == [[{"v": "000"}, {"v": "001"}], [{"v": "010"}, {"v": "011"}]]
    assert first["right"] == [{"v": "000", "i": 0}, {"v": "001", "i": 1}]
    assert_same_run(old, here, document)


@pytest.mark.parametrize("levels", [1, 2])
def test_nesting_deeper_than_allowed_takes_a_pooled_thread_and_runs_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, levels: int
) -> None:
    """With ``MAX_NESTED`` 1 each program runs on the thread waiting for it and each Task
    inside it on a pooled thread; with 2 the Tasks run nested too: one run, three ways."""
    document = loops_in_branches_in_a_loop()
    pooled = Pooled(monkeypatch)
    with nested_at_most(levels):
        mixed = run_routine(aws, document, {"grid": GRID}, timeout=60)
    assert (pooled.count > 0) == (levels == 1)
    here, old = here_and_pooled(aws, monkeypatch, document, {"grid": GRID})
    assert mixed.status == "SUCCEEDED", mixed.cause
    assert_same_run(old, mixed, document)
    assert_same_run(here, mixed, document)


# -- retries, failures, waits --------------------------------------------------------------------


def test_a_retried_failure_continued_inside_nested_loops_runs_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = three_loops()
    cell = document["nodes"][-1]
    cell["retry"] = {"maxAttempts": 2, "intervalSeconds": 1, "backoffRate": 1}
    cell["onError"] = "continue"
    grid = [[["x"]], [["y"]]]
    pins = {"cell": Pin(error="Routines.Flaky", message="again")}
    here, old = here_and_pooled(aws, monkeypatch, document, {"grid": grid}, pins=pins)
    assert here.status == "SUCCEEDED", here.cause
    failed = {"error": {"type": "Routines.Flaky", "message": "again"}}
    assert here.output == {"a": [[[failed]], [[failed]]]}
    assert [e["type"] for e in here.history].count("LambdaFunctionFailed") == 4  # 2 cells x 2 attempts
    assert_same_run(old, here, document)


def failing_branch_in_a_loop() -> dict[str, Any]:
    return routine(
        loop("each", "{{ trigger.items }}", 1),
        transform("fan", n="{{ loop.item }}"),
        # retried once, a second later: the other branch is in its Wait when this one fails
        transform("bad", n="{{ nodes.fan.n }}")
        | {"retry": {"maxAttempts": 2, "intervalSeconds": 1, "backoffRate": 1}},
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 5}},
        transform("late", n="{{ nodes.fan.n }}"),
        {"id": "join", "plugin": "merge"},
        transform("after", all="{{ nodes.each }}"),
        connections=[
            link("each", "fan", "body"),
            link("fan", "bad"),
            link("fan", "pause"),
            link("pause", "late"),
            link("bad", "join"),
            link("late", "join"),
            link("each", "after", "done"),
        ],
    )


def test_a_failure_in_a_parallel_branch_inside_a_loop_stops_the_other_branch_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = failing_branch_in_a_loop()
    pins = {"bad": Pin(error="Routines.Broken", message="no")}
    started = time.monotonic()
    here, old = here_and_pooled(aws, monkeypatch, document, {"items": [1, 2]}, pins=pins)
    assert time.monotonic() - started < 6  # the 5 s waits were cut short
    assert (here.status, here.error, here.output) == ("FAILED", "Routines.Broken", None)
    assert scrubbed(here.cause) == scrubbed(old.cause) and '"errorMessage":"no"' in str(here.cause)
    kinds = [e["type"] for e in here.history]
    assert kinds.count("MapIterationStarted") == 1 and "MapIterationFailed" in kinds
    assert kinds.count("WaitStateEntered") == 1 and "WaitStateExited" not in kinds
    assert [e["type"] for e in here.history].count("LambdaFunctionFailed") == 2
    assert {k: statuses(here)[k] for k in ("bad", "pause", "late", "after")} == {
        "bad": "failed",
        "pause": "failed",  # stopped by its sibling's failure
        "late": "skipped",
        "after": "skipped",
    }
    old.cause = here.cause  # but for its request id (compared above)
    assert_same_run(old, here, document)


def test_a_wait_inside_a_loop_runs_the_same(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    document = routine(
        loop("each", "{{ trigger.items }}"),
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 1}},
        transform("row", v="{{ loop.item }}"),
        connections=[link("each", "pause", "body"), link("pause", "row")],
    )
    started = time.monotonic()
    here, old = here_and_pooled(aws, monkeypatch, document, {"items": [1, 2, 3]})
    assert 2 <= time.monotonic() - started < 6  # the iterations waited at once, each time
    assert here.output == {"each": [{"v": 1}, {"v": 2}, {"v": 3}]}
    assert [e["type"] for e in here.history].count("WaitStateExited") == 3
    assert_same_run(old, here, document)


def test_a_stop_node_inside_nested_loops_fails_the_run_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    halt = {"status": "fail", "error": "Halt", "cause": "x"}
    document = routine(
        loop("a", "{{ trigger.grid }}", 2),
        loop("b", "{{ loop.item }}", 2),
        loop("c", "{{ loop.item }}"),
        {
            "id": "gate",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item }}", "op": "eq", "right": "111"}},
        },
        {"id": "halt", "plugin": "stop", "parameters": halt},
        connections=[
            link("a", "b", "body"),
            link("b", "c", "body"),
            link("c", "gate", "body"),
            link("gate", "halt", "true"),
        ],
    )
    here, old = here_and_pooled(aws, monkeypatch, document, {"grid": GRID})
    assert (here.status, here.error, here.cause, here.output) == ("FAILED", "Halt", "x", None)
    assert (old.status, old.error, old.cause, old.output) == ("FAILED", "Halt", "x", None)
    assert statuses(here) == statuses(old) and statuses(here)["halt"] == "failed"


def test_stopping_an_execution_inside_a_loop_ends_it_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StopExecution while three iterations wait: the waits end at once and the run ends
    as it did with every program on a thread of its own (moto reports a Map stopped this
    way as a States.Runtime failure, both ways)."""
    document = routine(
        loop("each", "{{ trigger.items }}"),
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 5}},
        transform("row", v="{{ loop.item }}"),
        connections=[link("each", "pause", "body"), link("pause", "row")],
    )

    def stopped() -> tuple[ExecutionResult, list[str]]:
        running = start_routine(aws, document, {"items": [1, 2, 3]})
        deadline = time.monotonic() + 10
        while [e["type"] for e in running.history()].count("WaitStateEntered") < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        aws.client("stepfunctions").stop_execution(executionArn=running.arn, error="Halt", cause="x")
        result = running.wait(timeout=10)
        time.sleep(0.3)  # iterations still report their end after the execution's
        return result, sorted(e["type"] for e in running.history())

    started = time.monotonic()
    here, kinds = stopped()
    with nested_at_most(0):
        old, old_kinds = stopped()
    assert time.monotonic() - started < 4
    assert here.status in ("ABORTED", "FAILED")
    assert (here.status, here.error, here.cause) == (old.status, old.error, old.cause)
    assert statuses(here) == statuses(old) and statuses(here)["row"] == "skipped"
    assert kinds == old_kinds and kinds.count("MapIterationAborted") == 3


# -- approvals inside a loop -------------------------------------------------------------------


def approval_loop(timeout: int | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"message": "ship {{ loop.item }}?"}
    if timeout:
        parameters["timeoutSeconds"] = timeout
    nodes = [
        loop("each", "{{ trigger.items }}", 1),
        {"id": "ask", "plugin": "approval", "parameters": parameters},
        transform("ship", item="{{ loop.item }}", by="{{ nodes.ask.by }}"),
        transform("drop", item="{{ loop.item }}"),
        {"id": "decided", "plugin": "merge"},
    ]
    connections = [
        link("each", "ask", "body"),
        link("ask", "ship", "approved"),
        link("ask", "drop", "rejected"),
        link("ship", "decided"),
        link("drop", "decided"),
    ]
    if timeout:
        nodes.append(transform("late", item="{{ loop.item }}"))
        connections += [link("ask", "late", "timeout"), link("late", "decided")]
    return routine(*nodes, connections=connections)


def approval(aws: LocalAWS, execution_arn: str, not_token: str | None = None) -> dict[str, Any]:
    """The approval item stored for ``ask`` (one whose token is not ``not_token``)."""
    for _ in range(1000):
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName="approvals", Key={"executionId": {"S": execution_arn}, "nodeId": {"S": "ask"}}
            )
            .get("Item")
        )
        if item and item["taskToken"]["S"] != not_token:
            return dict(item)
        time.sleep(0.01)
    raise AssertionError("the approval notifier never stored a (new) task token")


def decide_each(aws: LocalAWS, document: dict[str, Any], decisions: list[str]) -> ExecutionResult:
    running = start_routine(aws, document, {"items": list(range(len(decisions)))})
    token = None
    for index, decision in enumerate(decisions):
        item = approval(aws, running.arn, token)
        assert item["message"]["S"] == f"ship {index}?"
        token = item["taskToken"]["S"]
        output = {"decision": decision, "data": None, "by": f"u{index}"}
        aws.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output))
    return running.wait(timeout=30)


def test_approvals_inside_a_loop_resumed_with_send_task_success_run_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = approval_loop()
    decisions = ["approved", "rejected", "approved"]
    pooled = Pooled(monkeypatch)
    here = decide_each(aws, document, decisions)
    assert pooled.count == 0  # no timeout anywhere: all of it ran on the waiting threads
    with nested_at_most(0):
        old = decide_each(aws, document, decisions)
    assert here.status == "SUCCEEDED", here.cause
    assert here.output == {
        "each": [{"ship": {"item": 0, "by": "u0"}}, {"drop": {"item": 1}}, {"ship": {"item": 2, "by": "u2"}}],
    }
    assert_same_run(old, here, document)


def test_an_approval_inside_a_loop_times_out_the_same(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    document = approval_loop(timeout=1)
    here, old = here_and_pooled(aws, monkeypatch, document, {"items": [7]}, timed=1)
    assert here.status == "SUCCEEDED", here.cause
    assert here.output == {"each": [{"late": {"item": 7}}]}
    assert statuses(here)["late"] == "succeeded" and statuses(here)["ship"] == "skipped"
    kinds = [e["type"] for e in here.history]
    assert "TaskTimedOut" in kinds
    assert_same_run(old, here, document)


# -- Task timeouts inside loops ----------------------------------------------------------------


def test_a_node_timeout_inside_a_loop_still_fires(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``slow`` node outlives its ``timeoutSeconds`` (a pooled thread goes on running
    it); the loop goes on with its error, the same either way."""
    returned = threading.Semaphore(0)
    invoke = plugin_handler.invoke

    def slow(plugin: Any, execute: Any, event: dict[str, Any], context: Any, **kw: Any) -> Any:
        if event.get("node") == "slow":
            time.sleep(1.5)
            returned.release()
        return invoke(plugin, execute, event, context, **kw)

    monkeypatch.setattr(plugin_handler, "invoke", slow)
    document = routine(
        loop("each", "{{ trigger.items }}", 2),
        transform("slow", v="{{ loop.item }}") | {"timeoutSeconds": 1, "onError": "continue"},
        transform("row", got="{{ nodes.slow }}"),
        connections=[link("each", "slow", "body"), link("slow", "row")],
    )
    pooled = Pooled(monkeypatch)
    here = run_routine(aws, document, {"items": [1, 2]}, timeout=30)
    assert pooled.count == 2  # the two timed tasks, and nothing else
    for _ in range(2):
        assert returned.acquire(timeout=10)
    with nested_at_most(0):
        old = run_routine(aws, document, {"items": [1, 2]}, timeout=30)
    for _ in range(2):
        assert returned.acquire(timeout=10)
    assert here.status == "SUCCEEDED", here.cause
    timed_out = {"got": {"error": {"type": "States.Timeout", "message": ""}}}
    assert here.output == {"each": [timed_out, timed_out]}
    assert [e["type"] for e in here.history].count("LambdaFunctionTimedOut") == 2
    assert_same_run(old, here, document)


# -- state machines: handlers that raise or print, the machine's own timeout --------------------


def boom(event: Any, context: Any) -> Any:
    """A Lambda handler that raises when asked to."""
    print(f"handling {event['n']}")
    if event.get("fail"):
        raise ValueError(f"boom {event['n']}")
    if event.get("who"):
        return {"n": event["n"], "thread": threading.current_thread().name}
    return {"n": event["n"]}


VARIABLE: contextvars.ContextVar[Any] = contextvars.ContextVar("VARIABLE", default=None)


def remember(event: Any, context: Any) -> Any:
    """Sets a context variable and returns what it found: None, if each run starts afresh."""
    found = VARIABLE.get()
    VARIABLE.set(event)
    return {"found": found, "nested": getattr(interp_paths._nested, "depth", 0)}


def function(aws: LocalAWS, handler: str) -> str:
    return in_process_function(aws, f"{__name__}.{handler}")


def execute(
    aws: LocalAWS, definition: dict[str, Any], data: Any, wait: float = 20, history: bool = True
) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=uuid.uuid4().hex, definition=json.dumps(definition), roleArn=aws.role_arn
    )
    arn = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=uuid.uuid4().hex, input=json.dumps(data)
    )["executionArn"]
    deadline = time.monotonic() + wait
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    described = sfn.describe_execution(executionArn=arn)
    if history:
        described["history"] = sfn.get_execution_history(executionArn=arn)["events"]
    return dict(described)


def three_ways(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, definition: dict[str, Any], data: Any
) -> list[dict[str, Any]]:
    """The execution as it runs, with all work pooled, and on moto's own code."""
    runs = [execute(aws, definition, data)]
    with nested_at_most(0):
        runs.append(execute(aws, definition, data))
    with without_fast_paths(monkeypatch):
        runs.append(execute(aws, definition, data))
    return runs


def assert_same_execution(first: dict[str, Any], second: dict[str, Any]) -> None:
    keys = ("status", "error", "cause", "output")
    assert {k: first.get(k) for k in keys} == {k: second.get(k) for k in keys}
    assert links(first["history"]) == links(second["history"])


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


def map_of(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **processor},
        **fields,
    }


def test_a_raising_handler_inside_maps_and_branches_is_retried_and_caught_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource = function(aws, "boom")
    retry = [{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}]
    catch = [{"ErrorEquals": ["ValueError"], "ResultPath": "$.caught", "Next": "Caught"}]
    inner = {
        "StartAt": "Work",
        "States": {
            "Work": task(resource, Retry=retry, Catch=catch, End=True),
            "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.caught.Error"}, "End": True},
        },
    }
    branches = {
        "Type": "Parallel",
        "Branches": [
            inner,
            {"StartAt": "Other", "States": {"Other": task(resource, Parameters={"n.$": "$.n"}, End=True)}},
        ],
        "End": True,
    }
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": map_of(
                {"StartAt": "Both", "States": {"Both": branches}}, ItemsPath="$.items", MaxConcurrency=2
            )
            | {"End": True}
        },
    }
    data = {"items": [{"n": 1, "fail": True}, {"n": 2}]}
    here, old, moto = three_ways(aws, monkeypatch, definition, data)
    assert here["status"] == "SUCCEEDED", here.get("cause")
    output = json.loads(here["output"])
    assert output[0][0] == {"error": "ValueError"}
    assert [e["type"] for e in here["history"]].count("LambdaFunctionFailed") == 2
    for other in (old, moto):
        assert_same_execution(here, other)


def test_handler_output_is_captured_per_invocation_as_on_threads_of_their_own(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    resource = function(aws, "boom")
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": map_of(
                {"StartAt": "Work", "States": {"Work": task(resource, End=True)}},
                ItemsPath="$.items",
                MaxConcurrency=3,
            )
            | {"End": True}
        },
    }
    data = {"items": [{"n": n, "who": True} for n in range(6)]}
    for levels in (interp_paths.MAX_NESTED, 0):
        aws.lambdas.invocations.clear()
        with nested_at_most(levels):
            run = execute(aws, definition, data)
        assert run["status"] == "SUCCEEDED"
        threads = {row["thread"] for row in json.loads(run["output"])}
        assert ("routines-local-worker" in threads) == (levels == 0)
        logs = sorted(invocation.logs for invocation in aws.lambdas.invocations)
        assert logs == [f"handling {n}\n" for n in range(6)]
    assert "handling" not in capsys.readouterr().out


def test_each_task_starts_in_a_fresh_context_and_leaves_no_nesting_behind(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with a timeout (its program on a pooled thread, its first Task nested
    there), then four iterations on one Map worker, their Tasks one after another on its
    thread: no Task sees what the one before set in its context; each ran as deep as it
    should; and no pooled thread is left counting a level."""
    resource = function(aws, "remember")
    definition = {
        "TimeoutSeconds": 60,
        "StartAt": "First",
        "States": {
            "First": task(resource, ResultPath="$.first", Next="Each"),
            "Each": map_of(
                {"StartAt": "Work", "States": {"Work": task(resource, End=True)}},
                ItemsPath="$.items",
                MaxConcurrency=1,
                ResultPath="$.each",
            )
            | {"End": True},
        },
    }
    here, old, moto = three_ways(aws, monkeypatch, definition, {"items": [1, 2, 3, 4]})
    fresh = {"found": None}
    # here: the program, then the Task (an iteration: the program on its Map thread, the Task)
    assert json.loads(here["output"]) == {
        "items": [1, 2, 3, 4],
        "first": {**fresh, "nested": 1},
        "each": [{**fresh, "nested": 2}] * 4,
    }
    for other in (old, moto):  # every Task handed to a thread of its own
        assert json.loads(other["output"]) == {
            "items": [1, 2, 3, 4],
            "first": {**fresh, "nested": 0},
            "each": [{**fresh, "nested": 0}] * 4,
        }
    assert depth_here() == 0
    idle = len(WORKERS._idle)
    assert idle >= 1
    probed: list[int] = []
    together = threading.Barrier(idle + 1)

    def probe() -> None:
        probed.append(depth_here())
        together.wait(5)

    for _ in range(idle):  # each probe keeps its worker busy: the next takes another
        WORKERS.run(probe)
    together.wait(5)
    assert probed == [0] * idle


def depth_here() -> int:
    return int(getattr(interp_paths._nested, "depth", 0))


def sleepy(event: Any, context: Any) -> Any:
    time.sleep(float(event["sleep"]))
    SLEPT.release()
    return {"slept": event["sleep"]}


SLEPT = threading.Semaphore(0)


def nap(event: Any, context: Any) -> Any:
    time.sleep(float(event["sleep"]))
    return {"slept": event["sleep"]}


@pytest.mark.parametrize("limit", [None, 30, 1])
def test_the_machine_with_and_without_its_own_timeout_runs_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    """A Map of Parallel branches of Tasks, under no execution timeout, one that does not
    pass (the program then runs on a pooled thread) and one that does (read once the
    Tasks it stopped waiting for have returned: moto ends the program after them)."""
    resource = function(aws, "sleepy")
    branches = {
        "Type": "Parallel",
        "Branches": [{"StartAt": f"T{b}", "States": {f"T{b}": task(resource, End=True)}} for b in range(2)],
        "End": True,
    }
    definition: dict[str, Any] = {
        "StartAt": "Each",
        "States": {
            "Each": map_of({"StartAt": "Both", "States": {"Both": branches}}, ItemsPath="$.items")
            | {"End": True}
        },
    }
    if limit is not None:
        definition["TimeoutSeconds"] = limit
    sleep = 1.5 if limit == 1 else 0
    data = {"items": [{"sleep": sleep}, {"sleep": sleep}]}
    sfn = aws.client("stepfunctions")
    pooled = Pooled(monkeypatch)
    runs = []
    for levels in (interp_paths.MAX_NESTED, 0):
        with nested_at_most(levels):
            run = execute(aws, definition, data)
        if levels:
            assert pooled.count == (0 if limit is None else 1)  # the machine's program, if timed
        for _ in range(4):
            assert SLEPT.acquire(timeout=10)
        time.sleep(0.3 if limit == 1 else 0)  # the timed-out program ends after its tasks
        run["history"] = sfn.get_execution_history(executionArn=run["executionArn"])["events"]
        runs.append(run)
    here, old = runs
    kinds = [e["type"] for e in here["history"]]
    if limit == 1:
        assert here["status"] == "TIMED_OUT" and kinds[-1] == "ExecutionTimedOut"
        assert kinds.count("LambdaFunctionSucceeded") == 4  # the tasks went on, as before
    else:
        assert here["status"] == "SUCCEEDED" and kinds[-1] == "ExecutionSucceeded"
        assert json.loads(here["output"]) == [[{"slept": 0}, {"slept": 0}]] * 2
    assert_same_execution(here, old)


def test_a_chain_nested_far_deeper_than_allowed_takes_a_new_thread_every_max_nested_levels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    seen: list[tuple[int, threading.Thread, int]] = []
    unwound: list[tuple[int, int]] = []
    deepest = threading.Event()
    levels = 2 * interp_paths.MAX_NESTED + 4

    def nest(level: int) -> None:
        seen.append((level, threading.current_thread(), depth_here()))
        if level == levels:
            deepest.set()
            raise LookupError("deepest")
        interp_paths._run_here(lambda: nest(level + 1))
        unwound.append((level, depth_here()))

    interp_paths._run_here(lambda: nest(1))
    assert deepest.wait(5)
    deadline = time.monotonic() + 5
    while (len(reported) < 1 or len(unwound) < levels - 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    limit = interp_paths.MAX_NESTED
    threads = [thread for _, thread, _ in seen]
    assert threads[:limit] == [threading.current_thread()] * limit
    first, second = threads[limit], threads[2 * limit + 1]
    assert threads[limit : 2 * limit + 1] == [first] * (limit + 1) and first.name == "routines-local-worker"
    assert set(threads[2 * limit + 1 :]) == {second} and second not in (first, threading.current_thread())
    # depth counts per thread: 1..limit here, then 0 (the worker's own run) and 1..limit on each worker
    expected = [*range(1, limit + 1), *range(0, limit + 1), *range(0, levels - 2 * limit - 1)]
    assert [d for _, _, d in seen] == expected
    assert sorted(unwound) == [(level, expected[level - 1]) for level in range(1, levels)]
    (report,) = reported
    assert report.exc_type is LookupError and report.thread is second
    assert depth_here() == 0


class Escaped(BaseException):
    """Not an Exception: neither the in-process Lambda nor the interpreter catches it."""


def escape(event: Any, context: Any) -> Any:
    raise Escaped("out of the handler")


def test_a_handler_escaping_with_a_base_exception_is_reported_and_waited_for_as_before(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As from a thread of its own: the exception goes to threading.excepthook and the
    Task's waiter goes on waiting (the execution stays RUNNING; its threads stay blocked)."""
    reported: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    resource = function(aws, "escape")
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": map_of({"StartAt": "Work", "States": {"Work": task(resource, End=True)}}, ItemsPath="$")
            | {"End": True}
        },
    }
    runs = []
    for levels in (interp_paths.MAX_NESTED, 0):
        with nested_at_most(levels):
            runs.append(execute(aws, definition, [1], wait=0.5))
    for run in runs:
        assert run["status"] == "RUNNING"
        assert [e["type"] for e in run["history"]][-2:] == [
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
        ]
    assert [(r.exc_type, str(r.exc_value)) for r in reported] == [(Escaped, "out of the handler")] * 2
    assert reported[0].thread.name != "routines-local-worker"  # the Map iteration's own thread
    assert reported[1].thread.name == "routines-local-worker"


# -- the stack: room below the recursion limit ---------------------------------------------------


def headroom(event: Any, context: Any) -> Any:
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return {"free": sys.getrecursionlimit() - depth}


def recurse(event: Any, context: Any) -> Any:
    def down(n: int) -> int:
        return 0 if n == 0 else 1 + down(n - 1)

    return {"down": down(int(event["n"]))}


def test_a_handler_run_here_keeps_nearly_the_room_of_a_thread_of_its_own(aws: LocalAWS) -> None:
    """Run on the waiting thread, a handler starts a few frames deeper than on a fresh
    thread (the documented difference), never closer to the limit than ``MIN_ROOM``."""

    def machine(handler: str) -> dict[str, Any]:
        return {"StartAt": "Work", "States": {"Work": task(function(aws, handler), End=True)}}

    here = json.loads(execute(aws, machine("headroom"), {})["output"])["free"]
    with nested_at_most(0):
        alone = json.loads(execute(aws, machine("headroom"), {})["output"])["free"]
    assert alone - 40 < here < alone and here > interp_paths.MIN_ROOM
    deep = execute(aws, machine("recurse"), {"n": here - 20})
    assert deep["status"] == "SUCCEEDED" and json.loads(deep["output"]) == {"down": here - 20}


def test_a_map_evaluating_items_ever_deeper_runs_as_on_threads_of_their_own(aws: LocalAWS) -> None:
    """moto's Map with MaxConcurrency 1 evaluates each next item one level deeper on its
    worker's stack: once fewer than ``MIN_ROOM`` frames are left, items run on a thread
    of their own again, and the Map succeeds where it did with every item on one."""
    items = 960  # within reach of the recursion limit, below where moto's own Map fails
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": map_of(
                {"StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": True}}},
                ItemsPath="$.items",
                MaxConcurrency=1,
                End=True,
            )
        },
    }
    data = {"items": list(range(items))}
    pooled: list[Any] = []
    run = WORKERS.run
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WORKERS, "run", lambda work: pooled.append(work) or run(work))
        here = execute(aws, definition, data, history=False)
    with nested_at_most(0):
        old = execute(aws, definition, data, history=False)
    assert here["status"] == old["status"] == "SUCCEEDED"
    assert json.loads(here["output"]) == json.loads(old["output"]) == list(range(items))
    assert 0 < len(pooled) < items  # the first items ran here, the deepest on threads


@pytest.mark.parametrize("where", ["task", "machine"])
def test_a_timeout_too_long_for_a_thread_wait_never_overflows(aws: LocalAWS, where: str) -> None:
    """moto's parser sets no upper bound on TimeoutSeconds: one over threading.TIMEOUT_MAX
    overflowed the thread wait before (the Task failed; the machine's thread died, leaving
    it RUNNING). Such a wait has no end, so the work runs on the waiting thread first."""
    seconds = 10 * int(threading.TIMEOUT_MAX)
    work = task(function(aws, "nap"), End=True)
    definition: dict[str, Any] = {"StartAt": "Work", "States": {"Work": work}}
    if where == "task":
        work["TimeoutSecondsPath"] = "$.limit"
    else:
        definition["TimeoutSeconds"] = seconds
    here = execute(aws, definition, {"sleep": 0.2, "limit": seconds})
    assert here["status"] == "SUCCEEDED" and json.loads(here["output"]) == {"slept": 0.2}
