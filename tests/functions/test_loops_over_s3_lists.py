"""Loops over lists that are in S3 (issue #23, "big loops"): a trigger over its 64 KiB inline
room, or an output over its share of the variables, keeps in the machine only a reference.

- An inline loop gets such a list back from the evaluator (``L (items from S3)``), up to
  contract.limits.LOOP_ITEMS_BYTES; past that it fails, saying what to do.
- A distributed loop always reads its list from S3 (``L (items to S3)``, then the Map's
  ``ItemReader``): lists larger than a state's 256 KiB run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from contract.limits import LOOP_ITEMS_BYTES, MOST_LOOP_RESULTS, TRIGGER_INLINE_BYTES
from functions.local import LocalAWS, run_routine
from statemachines.compiler import compile_routine
from statemachines.machine.history import least_events, most_iterations
from tests.conftest import link, routine
from tests.functions.test_liveness_clears import states

EXECUTIONS = ["standard", "express"]


def orders(count: int, note: int) -> list[dict[str, Any]]:
    """``count`` orders of about ``note`` + 40 bytes each."""
    return [{"id": i, "qty": i % 7 + 1, "price": 3, "note": "n" * note} for i in range(count)]


def summing(mode: str = "inline", items: str = "{{ trigger.orders }}", **extra: Any) -> dict[str, Any]:
    """A loop over the orders, each iteration's total, and a node summing them after."""
    loop: dict[str, Any] = {
        "id": "each",
        "plugin": "loop",
        "parameters": {"items": items, "maxConcurrency": 8},
    }
    if mode == "distributed":
        loop["parameters"]["mode"] = "distributed"
    return routine(
        {**loop, **extra},
        {
            "id": "row",
            "plugin": "transform",
            "parameters": {"fields": {"t": "{{ loop.item.qty * loop.item.price }}"}},
        },
        {
            "id": "sum",
            "plugin": "transform",
            "parameters": {"fields": {"n": "{{ $count(nodes.each) }}", "total": "{{ $sum(nodes.each.t) }}"}},
        },
        connections=[link("each", "row", "body"), link("each", "sum", "done")],
    )


def expected(listed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sum": {"n": len(listed), "total": sum(o["qty"] * o["price"] for o in listed)}}


def run(aws: LocalAWS, document: dict[str, Any], trigger: Any, execution: str = "standard") -> Any:
    return run_routine(aws, {**document, "execution": execution, "timeoutSeconds": 300}, trigger)


def all_states(document: dict[str, Any]) -> dict[str, Any]:
    """Every state of the compiled machine by name, those of branches and iterations too
    (an Express machine's routine runs inside the Parallel that writes its records)."""
    return states(json.loads(compile_routine(document).definition))


def states_of(document: dict[str, Any]) -> set[str]:
    return set(all_states(document))


def message_of(result: Any) -> str:
    """The failure's message: a Lambda's cause is its JSON error report."""
    cause = str(result.cause)
    return str(json.loads(cause)["errorMessage"]) if cause.startswith("{") else cause


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_an_inline_loop_over_a_trigger_list_in_s3(aws: LocalAWS, execution: str) -> None:
    listed = orders(1_000, 110)  # ~150 KB: over the trigger's inline room, under a variable's
    assert TRIGGER_INLINE_BYTES < len(json.dumps(listed)) < LOOP_ITEMS_BYTES
    document = summing()
    assert "each (items from S3)" in states_of(document)
    result = run(aws, document, {"orders": listed}, execution)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected(listed)


def test_an_inline_loop_over_a_small_list_does_not_ask_the_evaluator(aws: LocalAWS) -> None:
    listed = orders(20, 10)
    result = run(aws, summing(), {"orders": listed})
    assert result.status == "SUCCEEDED" and result.output == expected(listed)
    called = [
        e["lambdaFunctionScheduledEventDetails"]["resource"]
        for e in result.history
        if e["type"] == "LambdaFunctionScheduled"
    ]
    assert len(called) == 21  # 20 rows and the sum: the evaluator is never asked
    assert not any(name.endswith("-evaluate") for name in called)


def test_an_inline_loop_over_an_output_list_in_s3(aws: LocalAWS) -> None:
    # A 180 KB list made by a node: over its share of the variables (the loop's results and
    # the list share them), so it is stored in S3 and the loop reads it back.
    make = {
        "id": "make",
        "plugin": "transform",
        "parameters": {
            "fields": {
                "orders": "{{ $map([0..599], function($i) "
                "{ {'qty': $i % 5 + 1, 'price': 2, 'note': $pad('', 280, 'm')} }) }}"
            }
        },
    }
    document = summing(items="{{ nodes.make.orders }}")
    document["nodes"].insert(0, make)
    document["connections"].insert(0, link("make", "each"))
    document["nodes"][-1]["parameters"]["fields"]["first"] = "{{ $length(nodes.make.orders[0].note) }}"
    result = run(aws, document, {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    listed = [{"qty": i % 5 + 1, "price": 2} for i in range(600)]
    assert result.output == {"sum": {**expected(listed)["sum"], "first": 280}}


@pytest.mark.parametrize("on_error", ["fail", "route"])
def test_an_inline_loop_over_a_list_too_large_to_hold_says_what_to_do(aws: LocalAWS, on_error: str) -> None:
    listed = orders(1_500, 200)  # ~360 KB
    assert len(json.dumps(listed)) > LOOP_ITEMS_BYTES
    document = summing(onError=on_error)
    if on_error == "route":
        document["nodes"].append(
            {
                "id": "told",
                "plugin": "transform",
                "parameters": {"fields": {"why": "{{ nodes.each.error.message }}"}},
            }
        )
        document["connections"].append(link("each", "told", "error"))
    result = run(aws, document, {"orders": listed})
    if on_error == "fail":
        assert result.status == "FAILED"
        assert result.error == "Routines.UserError"
        message = message_of(result)
    else:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.nodes["sum"]["status"] == "skipped"
        message = result.output["told"]["why"]
    assert "at most 240 KiB of items" in message and '"mode": "distributed"' in message


def test_a_loop_over_an_object_in_s3_fails_as_a_loop_over_an_object(aws: LocalAWS) -> None:
    trigger = {"orders": {f"k{i}": "v" * 100 for i in range(800)}}  # an 85 KB object
    result = run(aws, summing(), trigger)
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    assert "loop items must be a list; got an object" in result.cause


@pytest.mark.parametrize("size", [(30, 10), (400, 700)], ids=["small list", "300 KB list"])
def test_a_distributed_loop_reads_its_list_from_s3_whatever_its_size(
    aws: LocalAWS, size: tuple[int, int]
) -> None:
    listed = orders(*size)
    document = summing("distributed")
    assert {"each (items to S3)", "each"} <= states_of(document)
    result = run(aws, document, {"orders": listed})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected(listed)


# --- an inline loop's iterations within a Standard execution's history -------------------------


def test_least_events_counts_the_cheapest_path() -> None:
    body = {
        "StartAt": "check",
        "States": {
            "check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% true %}", "Next": "work"}],
                "Default": "done",
            },
            "work": {"Type": "Task", "Resource": "arn:aws:lambda:::function:f", "Next": "done"},
            "done": {"Type": "Succeed"},
        },
    }
    assert least_events(body) == 2 + 2  # the Choice, then the Succeed: the Task may not run
    fan = {"StartAt": "p", "States": {"p": {"Type": "Parallel", "Branches": [body, body], "End": True}}}
    assert least_events(fan) == 4 + 2 * 4  # every branch runs
    assert most_iterations(body) == 25_000 // (2 + 4)


def test_an_inline_loop_over_more_items_than_the_history_holds_is_refused_up_front(aws: LocalAWS) -> None:
    # One transform per iteration: 2 + 5 events each, so 3,571 iterations fit in 25,000.
    document = summing()
    assert "<= 3571" in json.dumps(all_states(document)["each (items)"])
    result = run(aws, document, {"orders": orders(3_572, 0)})
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    assert "loop over 3572 items" in message_of(result) and "at most 3,571 iterations" in message_of(result)
    assert result.nodes["row"]["status"] == "skipped"  # refused before any iteration ran


def test_a_list_from_s3_over_the_history_is_refused_by_the_evaluator(aws: LocalAWS) -> None:
    listed = orders(4_000, 0)  # ~200 KB: in S3, and loaded by the evaluator
    assert len(json.dumps(listed)) > TRIGGER_INLINE_BYTES
    result = run(aws, summing(), {"orders": listed})
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    assert "loop over 4000 items" in message_of(result) and '"mode": "distributed"' in message_of(result)


def test_express_and_distributed_loops_have_no_history_bound() -> None:
    for document in (
        {**summing(), "execution": "express", "timeoutSeconds": 300},
        summing("distributed"),
    ):
        conditions = [rule["Condition"] for rule in all_states(document)["each (items)"]["Choices"]]
        # Only the bound of a read list of results (test_big_loop_results), none of a history.
        bounds = {int(bound) for c in conditions for bound in re.findall(r"<= (\d+)", c)}
        assert bounds <= {MOST_LOOP_RESULTS}, conditions


def _polling(max_iterations: int, execution: str = "standard") -> dict[str, Any]:
    return routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.previous.done }}", "op": "eq", "right": True},
                "maxIterations": max_iterations,
            },
        },
        {"id": "poll", "plugin": "transform", "parameters": {"fields": {"done": "{{ loop.index >= 2 }}"}}},
        connections=[link("again", "poll", "body")],
        execution=execution,
        timeoutSeconds=300,
    )


def _bound(document: dict[str, Any]) -> str:
    """The until check's rule that ends the loop at its limit: '… + 1 >= N'."""
    rules = all_states(document)["again (until)"]["Choices"]
    return str(next(r["Condition"] for r in rules if "_index_again + 1 >=" in r["Condition"]))


def test_an_until_loop_stops_within_a_standard_executions_history(aws: LocalAWS) -> None:
    # Each iteration: its Parallel (4 events), the transform (5) and the check (2): 2,272 fit.
    assert _bound(_polling(10_000)).endswith(">= 2272 %}")
    cause = all_states(_polling(10_000))["again (limit)"]["Cause"]
    assert "ran 2,272 iterations, the most its body runs within the 25,000 events" in cause
    # Express keeps no such history, and a smaller maxIterations is its own bound.
    assert _bound(_polling(10_000, "express")).endswith(">= 10000 %}")
    assert _bound(_polling(50)).endswith(">= 50 %}")
    result = run(aws, _polling(10_000), {})  # ends on its own after three iterations
    assert result.status == "SUCCEEDED", (result.error, result.cause)
