"""The interpreter's per-state fast paths (functions/local/fastpaths/interp_paths.py) change
no execution: golden routines, loops with a Lambda body, a retried failure inside a loop
and a Task timeout run the same with them as without them — same events, details, ids
and previous ids where the run is sequential, the same events and links where Map
iterations or branches run concurrently."""

from __future__ import annotations

import datetime
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.inline_item_processor_worker import (  # noqa: E501
    InlineItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.eval.event import event_manager

from functions.local import LocalAWS, run_routine
from functions.local.fastpaths import interp_paths
from functions.local.lambdas import Pin
from tests.functions.conftest import in_process_function

GOLDEN = Path(__file__).resolve().parent.parent / "statemachines" / "golden"
RUNS = sorted(p.name.removesuffix(".run.json") for p in GOLDEN.glob("*.run.json"))
VARYING = [  # what differs between two runs of one routine: names, ids, times
    (re.compile(r"arn:aws:states:[^\"\\]*?:execution:[\w-]+:[0-9a-f]{32}"), "<execution>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"[0-9a-f]{32}"), "<name>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "<time>"),
]
# Events whose predecessor depends on how concurrent work interleaved. A Map or Parallel
# state's exit is among them: moto links it to the last event of whichever branch or
# iteration ended last, not to the state's own Succeeded event (seen under load: a
# ParallelStateExited after a branch's TaskStateExited in one run, after the other
# branch's SucceedStateExited in the next).
TIMED = {
    "MapIterationStarted",
    *(f"{s}State{e}" for s in ("Map", "Parallel") for e in ("Succeeded", "Failed", "Exited")),
}


@contextmanager
def without_fast_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    interp_paths.FAST_PATH.uninstall()
    try:
        assert ExecutionState._evaluate_with_timeout is not interp_paths._evaluate_with_timeout
        yield
    finally:
        monkeypatch.undo()
        interp_paths.FAST_PATH.install()


def scrubbed(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True)
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return json.loads(text)


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    return scrubbed({k: v for k, v in event.items() if k != "timestamp"})  # type: ignore[no-any-return]


def links(history: list[dict[str, Any]]) -> Counter[str]:
    """Each event (no id) with the type of the event it follows: independent of how
    concurrent iterations interleaved — but for the events whose predecessor depends on it
    (a Map iteration follows the Map's start or its worker's previous iteration; a Map or
    Parallel ends, and is exited, after whichever iteration or branch ended last)."""
    types = {event["id"]: event["type"] for event in history}
    out: Counter[str] = Counter()
    for event in history:
        plain = {k: v for k, v in normalized(event).items() if k not in ("id", "previousEventId")}
        after = types.get(event["previousEventId"]) if event["type"] not in TIMED else None
        out[json.dumps([plain, after], sort_keys=True)] += 1
    return out


def sequential(document: dict[str, Any]) -> bool:
    """No branches and no loop running iterations at once: one order of events only."""
    nodes = document["nodes"]
    parallel = any(
        n["plugin"] == "loop" and n.get("parameters", {}).get("maxConcurrency") != 1 for n in nodes
    )
    targets = Counter(c["sourceNodeId"] + str(c.get("sourcePort", "")) for c in document["connections"])
    return not parallel and max(targets.values(), default=1) == 1


def assert_same_run(first: Any, second: Any, document: dict[str, Any]) -> None:
    assert (second.status, second.error, second.cause) == (first.status, first.error, first.cause)
    assert scrubbed(second.output) == scrubbed(first.output)
    assert second.transitions == first.transitions
    assert {k: v["status"] for k, v in second.nodes.items()} == {
        k: v["status"] for k, v in first.nodes.items()
    }
    assert links(second.history) == links(first.history)
    if sequential(document):
        assert [normalized(e) for e in second.history] == [normalized(e) for e in first.history]


def both_ways(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], trigger: Any = None, **kw: Any
) -> tuple[Any, Any]:
    fast = run_routine(aws, document, trigger, **kw)
    with without_fast_paths(monkeypatch):
        plain = run_routine(aws, document, trigger, **kw)
    return fast, plain


@pytest.mark.parametrize("case", RUNS)
def test_golden_routines_run_the_same_without_the_fast_paths(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    document = json.loads((GOLDEN / f"{case}.routine.json").read_text())
    expected = json.loads((GOLDEN / f"{case}.run.json").read_text())
    fast, plain = both_ways(aws, monkeypatch, document, expected["input"])
    assert fast.status == expected["status"]
    assert_same_run(plain, fast, document)


def loop(concurrency: int, items: int = 12, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The benchmark's shape: if → two branches → merge, then a loop with a Lambda body."""
    data = {"total": 150, "items": [{"sku": f"S-{i}", "price": i} for i in range(items)]}
    row = body or {"fields": {"sku": "{{ loop.item.sku }}", "gross": "{{ loop.item.price }}"}}
    condition = {"left": "{{ nodes.order.total }}", "op": "gt", "right": 100}
    nodes = [
        {"id": "order", "plugin": "static-data", "parameters": {"data": data}},
        {"id": "big", "plugin": "if", "parameters": {"condition": condition}},
        {"id": "vip", "plugin": "transform", "parameters": {"fields": {"tier": "vip"}}},
        {"id": "joined", "plugin": "merge"},
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ nodes.order.items }}", "maxConcurrency": concurrency},
        },
        {"id": "row", "plugin": "transform", "parameters": row},
    ]
    connections = [
        {"sourceNodeId": "order", "targetNodeId": "big"},
        {"sourceNodeId": "big", "sourcePort": "true", "targetNodeId": "vip"},
        {"sourceNodeId": "vip", "targetNodeId": "joined"},
        {"sourceNodeId": "big", "sourcePort": "false", "targetNodeId": "joined"},
        {"sourceNodeId": "joined", "targetNodeId": "each"},
        {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "row"},
    ]
    return {"name": "t", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_loop_of_lambda_tasks_runs_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    document = loop(concurrency)
    fast, plain = both_ways(aws, monkeypatch, document)
    assert fast.status == "SUCCEEDED" and len(fast.output["each"]) == 12
    assert fast.output["each"][3] == {"sku": "S-3", "gross": 3}
    assert_same_run(plain, fast, document)


def test_a_retried_failure_inside_a_loop_runs_the_same(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = loop(1, items=3)
    row = document["nodes"][-1]
    row["retry"] = {"maxAttempts": 2, "intervalSeconds": 1, "backoffRate": 1}
    row["onError"] = "continue"
    pins = {"row": Pin(error="Routines.Flaky", message="again")}
    fast, plain = both_ways(aws, monkeypatch, document, pins=pins)
    assert len([e for e in fast.history if e["type"] == "LambdaFunctionFailed"]) == 6
    assert_same_run(plain, fast, document)


def test_work_without_a_timeout_runs_on_the_thread_that_waits_for_it(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Task or program of a loop has a timeout: each runs on the thread that would wait
    for it (no pooled thread); with nesting allowed no deeper than 0, each takes a pooled
    thread again. The runs are the same either way."""
    pooled: list[Any] = []
    handlers: list[str] = []
    run = interp_paths.WORKERS.run
    monkeypatch.setattr(interp_paths.WORKERS, "run", lambda work: pooled.append(work) or run(work))
    import plugins.runtime.handler as plugin_handler

    invoke = plugin_handler.invoke

    def recorded(*args: Any, **kwargs: Any) -> Any:
        handlers.append(threading.current_thread().name)
        return invoke(*args, **kwargs)

    monkeypatch.setattr(plugin_handler, "invoke", recorded)
    document = loop(4)
    here = run_routine(aws, document)
    assert here.status == "SUCCEEDED" and pooled == []
    assert "routines-local-worker" not in handlers and len(handlers) == 14  # order, vip, 12 rows
    monkeypatch.setattr(interp_paths, "MAX_NESTED", 0)
    handlers.clear()
    pooled_run = run_routine(aws, document)
    assert len(pooled) >= 14 and set(handlers) == {"routines-local-worker"}
    assert_same_run(pooled_run, here, document)


def test_work_run_here_fails_as_on_a_thread_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    seen: list[Any] = []

    def work() -> None:
        seen.append((threading.current_thread(), interp_paths._nested.depth))
        raise ValueError("boom")

    interp_paths._run_here(work)
    assert seen == [(threading.current_thread(), 1)] and interp_paths._nested.depth == 0
    (report,) = reported
    assert report.exc_type is ValueError and report.thread is threading.current_thread()


def test_work_nested_too_deep_takes_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    done = threading.Event()
    monkeypatch.setattr(interp_paths, "MAX_NESTED", 2)

    def nest(level: int) -> None:
        threads.append(threading.current_thread().name)
        if level < 3:
            interp_paths._run_here(lambda: nest(level + 1))
        else:
            done.set()

    interp_paths._run_here(lambda: nest(1))
    assert done.wait(5)
    assert threads[:2] == [threading.current_thread().name] * 2
    assert threads[2] == "routines-local-worker"


SLEPT = threading.Semaphore(0)


def slow(event: Any, context: Any) -> Any:
    """A Lambda handler that outlives its state's TimeoutSeconds."""
    time.sleep(float(event["sleep"]))
    SLEPT.release()
    return {"slept": event["sleep"]}


def slow_function(aws: LocalAWS) -> str:
    return in_process_function(aws, f"{__name__}.slow")


def run_twice(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, definition: dict[str, Any], data: str, sleepers: int
) -> Any:
    """(status, history) with the fast paths, then without; each read once the run's
    ``sleepers`` slow tasks have returned (moto ends a timed-out program after them)."""
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=uuid.uuid4().hex, definition=json.dumps(definition), roleArn=aws.role_arn
    )

    def run() -> tuple[str, list[dict[str, Any]]]:
        arn = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"], name=uuid.uuid4().hex, input=data
        )["executionArn"]
        deadline = time.monotonic() + 20
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.1)
        status = sfn.describe_execution(executionArn=arn)["status"]
        for _ in range(sleepers):
            assert SLEPT.acquire(timeout=10)
        time.sleep(0.3)  # the interpreter's threads finish with them
        return status, sfn.get_execution_history(executionArn=arn)["events"]

    fast = run()
    with without_fast_paths(monkeypatch):
        plain = run()
    return fast, plain


def test_a_task_timeout_still_fires(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    task = {"Type": "Task", "Resource": slow_function(aws), "TimeoutSeconds": 1}
    definition = {
        "StartAt": "quick",
        "States": {
            "quick": {**task, "Parameters": {"sleep.$": "$.sleep"}, "ResultPath": "$.quick", "Next": "late"},
            "late": {**task, "InputPath": "$.later", "End": True},
        },
    }
    (status, history), (plain_status, plain_history) = run_twice(
        aws, monkeypatch, definition, '{"sleep": 0, "later": {"sleep": 2}}', sleepers=2
    )
    assert status == plain_status == "FAILED"
    kinds = [e["type"] for e in history]
    timed_out = kinds.index("LambdaFunctionTimedOut")
    assert kinds[timed_out - 1 : timed_out + 2] == [
        "LambdaFunctionStarted",
        "LambdaFunctionTimedOut",
        "ExecutionFailed",
    ]
    assert history[timed_out]["lambdaFunctionTimedOutEventDetails"]["error"] == "States.Timeout"
    assert [normalized(e) for e in history] == [normalized(e) for e in plain_history]


def test_an_execution_timeout_still_fires(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = {
        "TimeoutSeconds": 1,
        "StartAt": "late",
        "States": {"late": {"Type": "Task", "Resource": slow_function(aws), "End": True}},
    }
    (status, history), (plain_status, plain_history) = run_twice(
        aws, monkeypatch, definition, '{"sleep": 2}', sleepers=1
    )
    assert status == plain_status == "TIMED_OUT"
    assert "ExecutionTimedOut" in [e["type"] for e in history]
    assert [normalized(e) for e in history] == [normalized(e) for e in plain_history]


def test_event_times_read_as_moto_formats_them() -> None:
    utc = datetime.UTC
    for value in (
        datetime.datetime(2026, 11, 22, 5, 7, 9, 999999, tzinfo=utc),
        datetime.datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=utc),
        datetime.datetime(1000, 1, 1, 0, 0, 0, 1000),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 1999),
        datetime.datetime(999, 12, 31, 23, 59, 59, 1999),  # left to moto's own function
        datetime.datetime(1, 1, 1),
    ):
        assert interp_paths._iso_8601_ms(value) == iso_8601_datetime_with_milliseconds(value)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", interp_paths._iso_8601_ms())


def test_each_fast_path_is_installed_only_with_the_local_aws() -> None:
    originals = ExecutionState._evaluate_with_timeout, InlineItemProcessorWorker._eval_input, Program.eval
    stamp = event_manager.iso_8601_datetime_with_milliseconds
    with LocalAWS():
        assert ExecutionState._evaluate_with_timeout is interp_paths._evaluate_with_timeout
        assert InlineItemProcessorWorker._eval_input is interp_paths._eval_input
        assert Program.eval is interp_paths._program_eval
        assert event_manager.iso_8601_datetime_with_milliseconds is interp_paths._iso_8601_ms
    assert (
        ExecutionState._evaluate_with_timeout,
        InlineItemProcessorWorker._eval_input,
        Program.eval,
    ) == originals
    assert event_manager.iso_8601_datetime_with_milliseconds is stamp


def test_an_evaluation_step_does_what_moto_s_does() -> None:
    """The inlined step sets the same field, runs the same body, skips a stopped program
    and raises the same error for a program with no state yet — as moto's own eval."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramRunning

    from functions.local.fastpaths import interp_paths

    class Step(EvalComponent):
        def _eval_body(self, env: Any) -> None:
            env.ran = True

    def evaluate(evaluator: Any, state: Any) -> Any:
        env = Environment.__new__(Environment)
        env._program_state, env.ran = state, False
        try:
            evaluator(Step(), env)
        except RuntimeError as error:
            return str(error)
        return env.ran, vars(state)

    def running(next_state: str | None) -> ProgramRunning:
        state = ProgramRunning()
        state._next_state_name = next_state
        return state

    installed = vars(EvalComponent)["eval"]
    original = installed
    if installed is interp_paths._component_eval:  # a local AWS is up: moto's is kept aside
        original = interp_paths.FAST_PATH.originals["component_eval"]
    assert original is not interp_paths._component_eval
    for make in (lambda: running("S"), lambda: running(None), ProgramEnded):
        ours, theirs = evaluate(interp_paths._component_eval, make()), evaluate(original, make())
        assert ours == theirs
    assert evaluate(interp_paths._component_eval, running("S")) == (
        True,
        {"_next_state_name": "S", "_next_field_name": "Step"},
    )
    assert "uninitialised" in evaluate(interp_paths._component_eval, running(None))


def test_event_details_read_the_input_that_get_input_copies() -> None:
    from moto.stepfunctions.parser.asl.eval.states import States
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    value = {"a": [1, {"b": "ü", "when": datetime.datetime(2026, 1, 2, 3, 4, 5)}], "n": None}
    states = States(context={"Execution": {"Input": value}})
    read = interp_paths._current_input(states)
    assert read is states._states_data["input"]  # not a copy
    assert to_json_str(read, separators=(",", ":")) == to_json_str(states.get_input(), separators=(",", ":"))

    class OwnStates(States):
        def get_input(self, query: str | None = None) -> Any:
            return {"own": True}

    assert interp_paths._current_input(OwnStates(context={"Execution": {"Input": value}})) == {"own": True}
