"""execute-routine in the JSONata compiler (statemachines.machine.subroutine): the states
it becomes, its default input, the call-depth guard, the report's ``subroutines`` and
AWS's validator; the old compiler refuses it by name."""

from __future__ import annotations

from typing import Any

import pytest

from contract.errors import InvalidRoutineError
from statemachines.compiler import compile_routine
from statemachines.options import CompileOptions
from statemachines.validator import analyse, validate_document
from tests.asl_validator import Validate

JSONATA = CompileOptions()
SYNC = "arn:aws:states:::states:startExecution.sync:2"


def routine(*nodes: dict[str, Any], connections: list[tuple[str, str, str]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "name": "parent",
        "trigger": {"type": "manual"},
        "nodes": list(nodes),
        "connections": [{"sourceNodeId": s, "sourcePort": p, "targetNodeId": t} for s, p, t in connections],
    }


def call(node_id: str = "call", **parameters: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "execute-routine", "parameters": {"routine": "child", **parameters}}


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields or {"a": 1}}}


def test_a_waiting_call_is_a_sync_task_whose_output_is_the_childs_result() -> None:
    document = routine(
        call(), transform("after", got="{{ nodes.call }}"), connections=[("call", "out", "after")]
    )
    options = CompileOptions(account="210987654321", region="eu-west-1", stage="dev")
    asl = compile_routine(document, options=options).asl
    task = asl["States"]["call"]
    assert task["Resource"] == SYNC
    arguments = task["Arguments"]
    assert (
        arguments["StateMachineArn"]
        == "arn:aws:states:eu-west-1:210987654321:stateMachine:routines-dev-child"
    )
    meta = arguments["Input"]["meta"]
    assert (
        meta["routineId"] == "child" and meta["triggerType"] == "routine" and meta["parentNodeId"] == "call"
    )
    assert "Execution.Input.meta.depth" in meta["depth"] and meta["depth"].endswith("+ 1 %}")
    assert (
        arguments["Input"]["trigger"]
        == "{% ($v := $states.context.Execution.Input.trigger; $exists($v) ? $v : null) %}"
    )
    assert (
        arguments["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        == "{% $states.context.Execution.Id %}"
    )
    assert task["Assign"] == {"call": "{% $states.result.Output %}"}
    assert "Retry" not in task  # no retry policy
    # onError fail: the execution fails with the child's own error, not States.TaskFailed
    # around the child's whole description.
    [catch] = task["Catch"]
    assert catch["Assign"] == {"_failed_call": "{% $states.errorOutput %}"}
    failed = asl["States"][catch["Next"]]
    assert failed["Type"] == "Fail" and "$_failed_call" in failed["Error"]
    assert failed["Cause"].endswith(".error.message %}")
    # The call depth is checked first: past 10, no child starts and the node fails.
    assert asl["StartAt"] == "call (call depth)"
    guard = asl["States"]["call (call depth)"]
    assert guard["Choices"][0]["Next"] == "call" and guard["Choices"][0]["Condition"].endswith("< 10 %}")
    assert asl["States"][guard["Default"]]["Type"] == "Fail"
    assert asl["States"][guard["Default"]]["Error"] == "Routines.CallDepth"


def test_without_wait_it_starts_the_child_and_outputs_its_execution_id() -> None:
    asl = compile_routine(routine(call(wait=False)), options=JSONATA).asl
    task = asl["States"]["call"]
    assert task["Resource"] == "arn:aws:states:::states:startExecution"
    assert task["Assign"]["call"] == (
        "{% {'executionId': $substringAfter($states.result.ExecutionArn, ':execution:')} %}"
    )
    # The routine's result holds the node's output (it is a leaf).
    assert "{'call': {'executionId':" in task["Output"]


def test_retry_is_one_task_per_attempt_never_after_the_call_depth_nor_bad_input() -> None:
    node = {
        **call(),
        "retry": {"maxAttempts": 3, "intervalSeconds": 2, "maxDelaySeconds": 3},
        "onError": "route",
    }
    document = routine(
        node,
        transform("ok"),
        transform("failed", why="{{ nodes.call.error.message }}"),
        connections=[("call", "out", "ok"), ("call", "error", "failed")],
    )
    asl = compile_routine(document, options=JSONATA).asl
    states = asl["States"]
    tasks = ["call", "call (attempt 2)", "call (attempt 3)"]
    for name in tasks:
        # No Retry: Step Functions names every child failure States.TaskFailed alike.
        assert "Retry" not in states[name] and states[name]["Next"] == "ok"
    waits = []
    for attempt, name in enumerate(tasks[:-1], start=1):
        [catch] = states[name]["Catch"]
        decide = states[catch["Next"]]
        again, giving_up = decide["Choices"]
        assert again["Condition"].startswith("{% $not((") and "Default" not in decide
        for error in ("Routines.CallDepth", "Routines.UserError", "Routines.HttpClientError"):
            assert f"'{error}'" in again["Condition"]
        assert giving_up["Condition"] == "{% true %}" and giving_up["Next"] == "failed"
        assert "ExecutionArn" in giving_up["Assign"]["call"]  # the error record
        wait = states[again["Next"]]
        assert wait["Next"] == tasks[attempt]
        waits.append(wait["Seconds"])
    assert waits == [2, 3]  # 2 s, then 2 * 2 = 4 capped at maxDelaySeconds
    [last] = states["call (attempt 3)"]["Catch"]
    assert last["Next"] == "failed" and "ExecutionArn" in last["Assign"]["call"]
    too_deep = states["call (call depth)"]["Default"]
    assert states[too_deep]["Type"] == "Pass" and states[too_deep]["Next"] == "failed"
    assert states[too_deep]["Assign"]["call"]["error"]["type"] == "Routines.CallDepth"


@pytest.mark.parametrize(
    ("nodes", "connections", "expected"),
    [
        ([call()], [], "$states.context.Execution.Input.trigger"),
        ([transform("prep"), call()], [("prep", "out", "call")], "$prep"),
        (
            [transform("a"), transform("b"), call()],
            [("a", "out", "call"), ("b", "out", "call")],
            "{'a': $a, 'b': $b}",
        ),
        (
            [
                transform("prep"),
                {
                    "id": "gate",
                    "plugin": "if",
                    "parameters": {
                        "condition": {"all": [{"left": "{{ nodes.prep.a }}", "op": "eq", "right": 1}]}
                    },
                },
                call(),
            ],
            [("prep", "out", "gate"), ("gate", "true", "call")],
            "$prep",
        ),
    ],
    ids=["first node: the trigger", "one before it", "several: by id", "through an if"],
)
def test_the_default_input_is_the_nodes_input(
    nodes: list[dict[str, Any]], connections: list[tuple[str, str, str]], expected: str
) -> None:
    asl = compile_routine(routine(*nodes, connections=connections), options=JSONATA).asl
    text = asl["States"]["call"]["Arguments"]["Input"]["trigger"]
    assert expected in text, text


def test_the_default_input_in_a_loop_body_is_the_item() -> None:
    loop = {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.orders }}"}}
    asl = compile_routine(routine(loop, call(), connections=[("each", "body", "call")]), options=JSONATA).asl
    processor = asl["States"]["each"]["ItemProcessor"]["States"]
    assert "$states.input.item" in processor["call"]["Arguments"]["Input"]["trigger"]


def test_a_path_names_the_routine_by_its_file_name() -> None:
    asl = compile_routine(routine(call(routine="../children/price-order.json")), options=JSONATA).asl
    assert asl["States"]["call"]["Arguments"]["StateMachineArn"].endswith(
        ":stateMachine:routines-price-order"
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"routine": "{{ trigger.which }}"}, "never an expression"),
        ({"routine": "no spaces allowed"}, "is not a routine id"),
        ({"routine": "dir/not an id.json"}, "file name"),
        ({"routine": "child", "wait": "{{ trigger.wait }}"}, "true or false"),
    ],
)
def test_bad_parameters_are_refused_at_their_path(parameters: dict[str, Any], message: str) -> None:
    node = {"id": "call", "plugin": "execute-routine", "parameters": parameters}
    report = analyse(routine(node)).report
    assert not report.valid
    [problem] = [p for p in report.errors if p.path.startswith("nodes[call].parameters")]
    assert message in problem.message, problem


def test_the_routine_parameter_is_required() -> None:
    with pytest.raises(InvalidRoutineError) as raised:
        compile_routine(
            routine({"id": "call", "plugin": "execute-routine", "parameters": {}}), options=JSONATA
        )
    assert [(p.code, p.path) for p in raised.value.problems] == [
        ("missing_parameter", "nodes[call].parameters.routine")
    ]


def test_inside_a_distributed_loop_it_is_refused_when_saved() -> None:
    # Refused by validation (nothing invalid is stored), not only when compiled.
    loop = {
        "id": "each",
        "plugin": "loop",
        "parameters": {"items": "{{ trigger.orders }}", "mode": "distributed"},
    }
    document = routine(loop, call(), connections=[("each", "body", "call")])
    errors = validate_document(document).errors
    assert [(e.code, e.path) for e in errors] == [("invalid_parameter", "nodes[call]")]
    assert "distributed loop" in errors[0].message
    with pytest.raises(InvalidRoutineError):
        compile_routine(document, options=JSONATA)


def test_the_report_names_the_children_and_counts_only_the_parents_transitions() -> None:
    document = routine(
        call(),
        call("notify", routine="audit", wait=False),
        transform("t"),
        connections=[("call", "out", "notify"), ("notify", "out", "t")],
    )
    report = compile_routine(document, options=JSONATA).report
    assert report["subroutines"] == {
        "call": {
            "routine": "child",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:routines-child",
            "wait": True,
        },
        "notify": {
            "routine": "audit",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:routines-audit",
            "wait": False,
        },
    }
    # At most two guards, two tasks and one plugin (at least: the first guard and its Fail,
    # past the call depth); the children's own states are theirs.
    assert report["transitions"] == {"min": 2, "max": 5}


def test_the_machines_pass_aws_validator(asl_validator: Validate) -> None:
    documents = [
        routine(call(), transform("after"), connections=[("call", "out", "after")]),
        routine(
            {**call(), "onError": "route", "retry": {"maxAttempts": 3, "jitter": True}},
            transform("ok"),
            transform("bad"),
            connections=[("call", "out", "ok"), ("call", "error", "bad")],
        ),
        routine({**call(wait=False), "onError": "continue"}),
        routine(
            {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.orders }}"}},
            {**call(), "onError": "continue"},
            connections=[("each", "body", "call")],
        ),
    ]
    results = asl_validator([compile_routine(d, options=JSONATA).asl for d in documents])
    assert all(r.ok and not r.warnings for r in results), [r.describe() for r in results]
