"""Adversarial tests of loops over lists that are in S3 (issue #23, "big loops"): a trigger
over its 64 KiB inline room, or a node output over its share of the variables, keeps only a
reference, and a loop over it reads the list back (``L (items from S3)``, inline loops, up to
contract.limits.LOOP_ITEMS_BYTES) or has it written to S3 for an ItemReader
(``L (items to S3)``, distributed loops). Every case is a valid routine with exact results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.limits import LOOP_ITEMS_BYTES, TRIGGER_INLINE_BYTES
from functions.local import LocalAWS, run_routine
from plugins.runtime.offload import encode, wire_size
from statemachines.validator import validate_document
from tests.conftest import link, routine
from tests.functions.test_size_adversarial import statuses, transform

MODES = ["inline", "distributed"]


def loop(node_id: str, items: Any, mode: str = "inline", **extra: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {"items": items, "maxConcurrency": 10}
    if mode == "distributed":
        parameters["mode"] = "distributed"
    return {"id": node_id, "plugin": "loop", "parameters": parameters, **extra}


def rows(count: int, note: int, start: int = 0) -> list[dict[str, Any]]:
    """``count`` rows of about ``note`` + 30 bytes each."""
    return [{"i": i, "v": i % 7 + 1, "note": "n" * note} for i in range(start, start + count)]


def valid(document: dict[str, Any]) -> dict[str, Any]:
    report = validate_document(document)
    assert not report.errors, [(p.code, p.path, p.message) for p in report.errors]
    return document


def run(aws: LocalAWS, document: dict[str, Any], trigger: Any, execution: str = "standard") -> Any:
    if execution != "standard":
        document = {**document, "execution": execution, "timeoutSeconds": 300}
    return run_routine(aws, valid(document), trigger)


def ok(aws: LocalAWS, document: dict[str, Any], trigger: Any, execution: str = "standard") -> Any:
    result = run(aws, document, trigger, execution)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def message_of(cause: str | None) -> str:
    assert cause is not None
    if cause.startswith("{"):
        return str(json.loads(cause).get("errorMessage", cause))
    return cause


def entered(result: Any) -> set[str]:
    """The names of the states the execution (not its child executions) entered."""
    return {e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e}


def called(result: Any) -> list[str]:
    return [
        e["lambdaFunctionScheduledEventDetails"]["resource"]
        for e in result.history
        if e["type"] == "LambdaFunctionScheduled"
    ]


LOADER = {"inline": "each (items from S3)", "distributed": "each (items to S3)"}
TOO_LARGE = ("at most 240 KiB of items", '"mode": "distributed"')


# --- fan-outs and merges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("execution", "second"), [("standard", "distributed"), ("standard", "inline"), ("express", "inline")]
)
def test_loops_over_s3_lists_in_parallel_branches_joined_by_a_merge(
    aws: LocalAWS, execution: str, second: str
) -> None:
    # Two trigger lists of ~90 KB each: the trigger (180 KB) is over its inline room, and
    # neither list fits what is left of it. One branch loops inline, the other ``second``.
    a, b = rows(800, 80), rows(700, 100, start=1000)
    assert len(encode(a)) > TRIGGER_INLINE_BYTES
    doc = routine(
        transform("src", {"k": 1}),
        loop("la", "{{ trigger.a }}"),
        transform("ra", {"i": "{{ loop.item.i }}", "x": "{{ loop.item.v * 2 }}", "at": "{{ loop.index }}"}),
        loop("lb", "{{ trigger.b }}", second),
        transform("rb", {"i": "{{ loop.item.i }}", "x": "{{ loop.item.v * 3 }}", "at": "{{ loop.index }}"}),
        {"id": "join", "plugin": "merge"},
        transform(
            "after",
            {
                "na": "{{ $count(nodes.la) }}",
                "nb": "{{ $count(nodes.lb) }}",
                "sa": "{{ $sum(nodes.la.x) }}",
                "sb": "{{ $sum(nodes.lb.x) }}",
                "ia": "{{ nodes.la[-1].i }}",
                "ib": "{{ nodes.lb[-1].i }}",
                "ordered": "{{ nodes.la.at = [0..799] and nodes.lb.i = [1000..1699] }}",
                "keys": "{{ $sort($keys(nodes.join)) }}",
            },
        ),
        connections=[
            link("src", "la"),
            link("src", "lb"),
            link("la", "ra", "body"),
            link("lb", "rb", "body"),
            link("la", "join", "done"),
            link("lb", "join", "done"),
            link("join", "after"),
        ],
    )
    result = ok(aws, doc, {"a": a, "b": b}, execution)
    assert result.output == {
        "after": {
            "na": 800,
            "nb": 700,
            "sa": sum(r["v"] * 2 for r in a),
            "sb": sum(r["v"] * 3 for r in b),
            "ia": 799,
            "ib": 1699,
            "ordered": True,
            "keys": ["la", "lb"],
        }
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_a_large_list_that_came_through_a_merge(aws: LocalAWS, mode: str) -> None:
    # Branch 'big' makes a 180 KB list (stored in S3), branch 'small' a small value; the loop
    # after the merge reads the list through the merge's output.
    doc = routine(
        transform("src", {"k": 1}),
        transform(
            "big",
            {"rows": "{{ $map([0..599], function($i) { {'i': $i, 'pad': $pad('', 280, 'm')} }) }}"},
        ),
        transform("small", {"n": 3}),
        {"id": "join", "plugin": "merge"},
        loop("each", "{{ nodes.join.big.rows }}", mode),
        transform("row", {"i": "{{ loop.item.i * nodes.join.small.n }}", "at": "{{ loop.index }}"}),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "s": "{{ $sum(nodes.each.i) }}",
                "ordered": "{{ nodes.each.at = [0..599] }}",
                "l": "{{ $length(nodes.big.rows[599].pad) }}",
            },
        ),
        connections=[
            link("src", "big"),
            link("src", "small"),
            link("big", "join"),
            link("small", "join"),
            link("join", "each"),
            link("each", "row", "body"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {})
    assert result.output == {"after": {"n": 600, "s": 3 * sum(range(600)), "ordered": True, "l": 280}}


# --- onError over lists in S3 ---------------------------------------------------------------------


def erring(mode: str, on_error: str, items: str = "{{ trigger.orders }}") -> dict[str, Any]:
    """A loop by ``on_error``; 'after' on its done port, 'told' on its error port (route)."""
    nodes = [
        loop("each", items, mode, onError=on_error),
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform(
            "after",
            {"n": "{{ $count(nodes.each) }}", "type": "{{ nodes.each.error.type }}"},
        ),
    ]
    connections = [link("each", "row", "body"), link("each", "after", "done")]
    if on_error == "route":
        nodes.append(
            transform(
                "told", {"type": "{{ nodes.each.error.type }}", "why": "{{ nodes.each.error.message }}"}
            )
        )
        connections.append(link("each", "told", "error"))
    return routine(*nodes, connections=connections)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("on_error", ["fail", "continue", "route"])
def test_a_loop_over_a_string_in_s3_fails_by_its_on_error(aws: LocalAWS, mode: str, on_error: str) -> None:
    result = run(aws, erring(mode, on_error), {"orders": "s" * 100_000})
    why = "loop items must be a list; got a string"
    if on_error == "fail":
        assert (result.status, result.error) == ("FAILED", "Routines.UserError")
        assert message_of(result.cause) == why
        return
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.nodes["each"]["status"] == "failed"
    if on_error == "continue":
        assert result.output == {"after": {"n": 1, "type": "Routines.UserError"}}
    else:
        assert statuses(result)["after"] == "skipped"
        assert result.output == {"told": {"type": "Routines.UserError", "why": why}}


@pytest.mark.parametrize("on_error", ["continue", "route"])
def test_an_inline_loop_over_a_list_too_large_to_hold_by_its_on_error(aws: LocalAWS, on_error: str) -> None:
    listed = rows(1_500, 200)
    assert len(encode(listed)) > LOOP_ITEMS_BYTES
    result = ok(aws, erring("inline", on_error), {"orders": listed})
    assert result.nodes["each"]["status"] == "failed"
    if on_error == "continue":
        assert result.output == {"after": {"n": 1, "type": "Routines.UserError"}}
    else:
        why = result.output["told"]["why"]
        assert result.output["told"]["type"] == "Routines.UserError"
        assert all(part in why for part in TOO_LARGE), why
        assert f"{wire_size({'items': listed}):,} bytes" in why  # measured as the answer is sent


# --- the 240 KiB boundary ---------------------------------------------------------------------------


def exactly(size: int) -> list[str]:
    """A list of strings whose compact JSON is exactly ``size`` bytes."""
    count = 100
    # '["…","…",…]': 2 brackets, count-1 commas, 2 quotes per item.
    room = size - 2 - (count - 1) - 2 * count
    each, extra = divmod(room, count)
    listed = [f"{i:04d}" + "b" * (each - 4 + (1 if i < extra else 0)) for i in range(count)]
    assert len(encode(listed)) == size
    return listed


@pytest.mark.parametrize("delta", [0, -1, 1], ids=["at", "under", "over"])
def test_an_inline_loop_at_the_240_kib_boundary(aws: LocalAWS, delta: int) -> None:
    # The room is the evaluator's answer as the Lambda runtime sends it ({"items": […]}, with
    # json.dumps' spaces): 110 bytes more than the list's compact JSON here.
    listed = exactly(LOOP_ITEMS_BYTES + delta - 110)
    assert wire_size({"items": listed}) == LOOP_ITEMS_BYTES + delta
    doc = routine(
        loop("each", "{{ trigger.items }}", onError="route"),
        transform("row", {"h": "{{ $substring(loop.item, 0, 4) }}", "l": "{{ $length(loop.item) }}"}),
        transform("after", {"h": "{{ nodes.each.h }}", "l": "{{ $sum(nodes.each.l) }}"}),
        transform("told", {"why": "{{ nodes.each.error.message }}"}),
        connections=[
            link("each", "row", "body"),
            link("each", "after", "done"),
            link("each", "told", "error"),
        ],
    )
    result = ok(aws, doc, {"items": listed})
    if delta <= 0:
        assert result.output == {
            "after": {"h": [f"{i:04d}" for i in range(100)], "l": sum(len(x) for x in listed)}
        }
    else:
        why = result.output["told"]["why"]
        assert all(part in why for part in TOO_LARGE), why
        assert f"loop over a list of {LOOP_ITEMS_BYTES + 1:,} bytes" in why


# --- empty, null, nested paths ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_list_read_from_s3(aws: LocalAWS, mode: str) -> None:
    # 'big' is over the trigger's inline room, so its empty 'rows' is in S3 with it.
    trigger = {"big": {"pad": "p" * 100_000, "rows": []}}
    doc = routine(
        loop("each", "{{ trigger.big.rows }}", mode),
        transform("row", {"i": "{{ loop.item }}"}),
        transform("after", {"n": "{{ $count(nodes.each) }}", "all": "{{ nodes.each }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, trigger)
    assert result.output == {"after": {"n": 0, "all": []}}


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_list_read_from_s3_is_null(aws: LocalAWS, mode: str) -> None:
    trigger = {"big": {"pad": "p" * 100_000}}
    doc = routine(
        loop("each", "{{ trigger.big.rows }}", mode, onError="route"),
        transform("row", {"i": "{{ loop.item }}"}),
        transform("told", {"why": "{{ nodes.each.error.message }}"}),
        connections=[link("each", "row", "body"), link("each", "told", "error")],
    )
    result = ok(aws, doc, trigger)
    error = {"type": "Routines.UserError", "message": "loop items must be a list; got null"}
    # 'each' has no node on 'done': its error record is an end of the routine too.
    assert result.output == {"each": {"error": error}, "told": {"why": error["message"]}}


@pytest.mark.parametrize(
    ("mode", "execution"), [("inline", "standard"), ("inline", "express"), ("distributed", "standard")]
)
def test_a_large_list_under_a_nested_trigger_path(aws: LocalAWS, mode: str, execution: str) -> None:
    listed = rows(900, 100)
    trigger = {"body": {"data": {"rows": listed, "tag": "T"}}, "small": 7}
    doc = routine(
        loop("each", "{{ trigger.body.data.rows }}", mode),
        transform(
            "row",
            {
                "i": "{{ loop.item.i }}",
                "t": "{{ trigger.body.data.tag & trigger.small }}",
                "at": "{{ loop.index }}",
            },
        ),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "t": "{{ $distinct(nodes.each.t) }}",
                "ordered": "{{ nodes.each.at = [0..899] and nodes.each.i = [0..899] }}",
            },
        ),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, trigger, execution)
    assert result.output == {"after": {"n": 900, "t": "T7", "ordered": True}}


# --- order and index of many items -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_index_and_order_of_1500_items_from_s3(aws: LocalAWS, mode: str) -> None:
    listed = rows(1_500, 60)
    assert TRIGGER_INLINE_BYTES < len(encode(listed)) < LOOP_ITEMS_BYTES
    doc = routine(
        loop("each", "{{ trigger.items }}", mode),
        transform("row", {"i": "{{ loop.item.i }}", "at": "{{ loop.index }}"}),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "same": "{{ $count(nodes.each[i = at]) }}",
                "ordered": "{{ nodes.each.i = [0..1499] }}",
                "last": "{{ nodes.each[-1] }}",
            },
        ),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, {"items": listed})
    assert result.output == {
        "after": {"n": 1500, "same": 1500, "ordered": True, "last": {"i": 1499, "at": 1499}}
    }


def test_express_refuses_a_distributed_loop(aws: LocalAWS) -> None:
    doc = {
        **routine(
            loop("each", "{{ trigger.items }}", "distributed"),
            transform("row", {"i": 1}),
            connections=[link("each", "row", "body")],
        ),
        "execution": "express",
        "timeoutSeconds": 300,
    }
    report = validate_document(doc)
    assert [(p.code, p.path, p.message) for p in report.errors] == [
        (
            "limit_exceeded",
            "nodes[each].parameters.mode",
            "execution 'express' is not possible: a distributed loop is for item lists too large "
            "to run within 5 minutes",
        )
    ]


# --- nested loops -------------------------------------------------------------------------------------


def big_rows(node_id: str = "big", count: int = 600) -> dict[str, Any]:
    """A node whose 'rows' (``count`` x ~300 bytes: 180 KB for 600) is over its share."""
    return transform(
        node_id,
        {
            "rows": "{{ $map([0.."
            + str(count - 1)
            + "], function($i) { {'i': $i, 'pad': $pad('', 280, 'm')} }) }}",
            "tag": "G",
        },
    )


@pytest.mark.parametrize(
    ("outer", "inner"), [("inline", "inline"), ("distributed", "inline"), ("inline", "distributed")]
)
def test_an_inner_loop_over_a_large_outer_output(aws: LocalAWS, outer: str, inner: str) -> None:
    doc = routine(
        big_rows(),
        loop("groups", "{{ trigger.groups }}", outer),
        loop("cells", "{{ nodes.big.rows }}", inner),
        transform("cell", {"x": "{{ loop.item.i % 3 }}"}),
        transform(
            "count",
            {"n": "{{ $count(nodes.cells) }}", "s": "{{ $sum(nodes.cells.x) }}", "g": "{{ loop.item }}"},
        ),
        transform("after", {"all": "{{ nodes.groups }}", "tag": "{{ nodes.big.tag }}"}),
        connections=[
            link("big", "groups"),
            link("groups", "cells", "body"),
            link("cells", "cell", "body"),
            link("cells", "count", "done"),
            link("groups", "after", "done"),
        ],
    )
    result = ok(aws, doc, {"groups": ["a", "b", "c"]})
    s = sum(i % 3 for i in range(600))
    assert result.output == {"after": {"all": [{"n": 600, "s": s, "g": g} for g in "abc"], "tag": "G"}}


def test_an_inner_loop_over_a_trigger_list_in_s3(aws: LocalAWS) -> None:
    listed = rows(800, 100)
    doc = routine(
        loop("groups", "{{ trigger.groups }}"),
        loop("cells", "{{ trigger.items }}"),
        transform("cell", {"x": "{{ loop.item.v }}"}),
        transform("count", {"n": "{{ $count(nodes.cells) }}", "s": "{{ $sum(nodes.cells.x) }}"}),
        connections=[
            link("groups", "cells", "body"),
            link("cells", "cell", "body"),
            link("cells", "count", "done"),
        ],
    )
    result = ok(aws, doc, {"groups": [1, 2], "items": listed})
    assert result.output == {"groups": [{"n": 800, "s": sum(r["v"] for r in listed)}] * 2}


def test_an_inner_loop_too_large_to_hold_says_what_to_do(aws: LocalAWS) -> None:
    # The inner loop's list (360 KB) is over an inline loop's room: the run fails with the
    # message of the inner loop, wherever it runs.
    listed = rows(1_500, 200)
    doc = routine(
        loop("groups", "{{ trigger.groups }}"),
        loop("cells", "{{ trigger.items }}"),
        transform("cell", {"x": "{{ loop.item.v }}"}),
        connections=[link("groups", "cells", "body"), link("cells", "cell", "body")],
    )
    result = run(aws, doc, {"groups": [1], "items": listed})
    assert (result.status, result.error) == ("FAILED", "Routines.UserError")
    why = message_of(result.cause)
    assert all(part in why for part in TOO_LARGE), why


# --- a distributed loop reading large values from outside -----------------------------------------------


def test_a_distributed_loop_body_reads_a_large_outer_output_and_the_trigger(aws: LocalAWS) -> None:
    listed = rows(500, 400)  # ~215 KB: the trigger (with 'blob') is far over its room
    trigger = {"items": listed, "blob": "t" * 50_000, "tag": "T"}
    doc = routine(
        transform("outer", {"pad": "{{ $pad('', 200000, 'o') }}", "k": "K"}),
        loop("each", "{{ trigger.items }}", "distributed"),
        transform(
            "row",
            {
                "i": "{{ loop.item.i }}",
                "l": "{{ $length(nodes.outer.pad) + $length(trigger.blob) }}",
                "t": "{{ trigger.tag & nodes.outer.k & $substring(nodes.outer.pad, 0, 2) }}",
            },
        ),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "ls": "{{ $distinct(nodes.each.l) }}",
                "ts": "{{ $distinct(nodes.each.t) }}",
                "is": "{{ nodes.each.i = [0..499] }}",
            },
        ),
        connections=[link("outer", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, trigger)
    assert result.output == {"after": {"n": 500, "ls": 250_000, "ts": "TKoo", "is": True}}


# --- what comes after, and before ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_if_and_a_switch_on_the_results_of_a_loop_over_a_large_list(aws: LocalAWS, mode: str) -> None:
    listed = rows(1_200, 100)
    total = sum(r["v"] for r in listed)
    doc = routine(
        loop("each", "{{ trigger.items }}", mode),
        transform("row", {"v": "{{ loop.item.v }}"}),
        {
            "id": "all",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ $count(nodes.each) }}", "op": "eq", "right": 1200}},
        },
        {
            "id": "by",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {
                        "port": "low",
                        "condition": {"left": "{{ $sum(nodes.each.v) }}", "op": "lt", "right": total},
                    },
                    {
                        "port": "exact",
                        "condition": {"left": "{{ $sum(nodes.each.v) }}", "op": "eq", "right": total},
                    },
                ]
            },
        },
        transform("exact", {"s": "{{ $sum(nodes.each.v) }}"}),
        transform("low", {"s": 0}),
        transform("no", {"s": -1}),
        connections=[
            link("each", "row", "body"),
            link("each", "all", "done"),
            link("all", "by", "true"),
            link("all", "no", "false"),
            link("by", "exact", "exact"),
            link("by", "low", "low"),
        ],
    )
    result = ok(aws, doc, {"items": listed})
    assert result.output == {"exact": {"s": total}}
    assert statuses(result)["low"] == "skipped" and statuses(result)["no"] == "skipped"


@pytest.mark.parametrize("mode", MODES)
def test_a_disabled_node_between_the_list_and_the_loop(aws: LocalAWS, mode: str) -> None:
    doc = routine(
        big_rows(),
        transform("off", {"x": 1}, disabled=True),
        loop("each", "{{ nodes.big.rows }}", mode),
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "s": "{{ $sum(nodes.each.i) }}",
                "l": "{{ $length(nodes.big.rows[599].pad) }}",
            },
        ),
        connections=[
            link("big", "off"),
            link("off", "each"),
            link("each", "row", "body"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {})
    assert result.output == {"after": {"n": 600, "s": sum(range(600)), "l": 280}}
    assert statuses(result)["off"] == "skipped" or "off" not in result.nodes
    assert LOADER[mode] in entered(result)


# --- items that are an expression over lists in S3 ---------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_items_filtered_and_joined_from_two_lists_in_s3(aws: LocalAWS, mode: str) -> None:
    listed = rows(800, 100)
    doc = routine(
        big_rows(),
        loop("each", "{{ $append(trigger.items[v > 5], $reverse(nodes.big.rows)[[0..9]]) }}", mode),
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform("after", {"is": "{{ nodes.each.i }}"}),
        connections=[link("big", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, {"items": listed})
    expected = [r["i"] for r in listed if r["v"] > 5] + list(range(599, 589, -1))
    assert result.output == {"after": {"is": expected}}


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_the_whole_trigger_that_is_a_large_list(aws: LocalAWS, mode: str) -> None:
    listed = rows(800, 100)
    doc = routine(
        loop("each", "{{ trigger }}", mode),
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform("after", {"n": "{{ $count(nodes.each) }}", "s": "{{ $sum(nodes.each.i) }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, listed)
    assert result.output == {"after": {"n": 800, "s": sum(range(800))}}


@pytest.mark.parametrize("delta", [0, 1], ids=["at", "over"])
def test_a_trigger_at_its_inline_room(aws: LocalAWS, delta: int) -> None:
    # A trigger of exactly 64 KiB stays inline; one byte more and its list is in S3.
    base = {"items": [], "pad": ""}
    room = TRIGGER_INLINE_BYTES + delta - len(encode(base))
    items = exactly(room - 40)
    trigger = {"items": items, "pad": ""}
    trigger["pad"] = "p" * (TRIGGER_INLINE_BYTES + delta - len(encode(trigger)))
    assert len(encode(trigger)) == TRIGGER_INLINE_BYTES + delta
    doc = routine(
        loop("each", "{{ trigger.items }}"),
        transform("row", {"h": "{{ $substring(loop.item, 0, 4) }}"}),
        transform("after", {"h": "{{ nodes.each.h }}", "p": "{{ $length(trigger.pad) }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, trigger)
    assert result.output == {"after": {"h": [f"{i:04d}" for i in range(100)], "p": len(trigger["pad"])}}
    evaluated = [name for name in called(result) if name.endswith("-evaluate")]
    assert len(evaluated) == delta  # the evaluator loads the list only when it is in S3


# --- until loops -------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_error", ["fail", "continue", "route"])
def test_an_until_loop_on_a_large_field_that_hits_its_limit(aws: LocalAWS, on_error: str) -> None:
    nodes = [
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.previous.pad }}", "op": "eq", "right": "never"},
                "maxIterations": 3,
            },
            "onError": on_error,
        },
        transform("grow", {"pad": "{{ $pad('', 100000, 'g') }}", "n": "{{ loop.index }}"}),
        transform("after", {"r": "{{ nodes.again }}"}),
    ]
    connections = [link("again", "grow", "body"), link("again", "after", "done")]
    if on_error == "route":
        nodes.append(transform("told", {"e": "{{ nodes.again.error }}"}))
        connections.append(link("again", "told", "error"))
    result = run(aws, routine(*nodes, connections=connections), {})
    message = "loop 'again' ran 3 iterations (its maxIterations) and its 'until' never held"
    error = {"type": "Routines.LoopLimit", "message": message}
    if on_error == "fail":
        assert (result.status, result.error, result.cause) == ("FAILED", "Routines.LoopLimit", message)
        return
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.nodes["again"]["status"] == "failed"
    if on_error == "continue":
        assert result.output == {"after": {"r": {"error": error}}}
    else:
        assert statuses(result)["after"] == "skipped"
        assert result.output == {"told": {"e": error}}
    assert any(
        e.get("stateEnteredEventDetails", {}).get("name") == "again (until offloaded)" for e in result.history
    )


def test_an_until_loop_ending_on_a_large_field_then_a_loop_over_its_results(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ $length(loop.previous.pad) }}", "op": "gte", "right": 120_000},
                "maxIterations": 10,
            },
        },
        transform("grow", {"pad": "{{ $pad('', 40000 * (loop.index + 1), 'g') }}", "n": "{{ loop.index }}"}),
        loop("each", "{{ nodes.again }}"),
        transform("row", {"n": "{{ loop.item.n }}", "l": "{{ $length(loop.item.pad) }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("again", "grow", "body"),
            link("again", "each", "done"),
            link("each", "row", "body"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {})
    assert result.output == {"after": {"all": [{"n": n, "l": 40_000 * (n + 1)} for n in range(3)]}}


@pytest.mark.parametrize("items", ["a string", "an object"])
def test_a_distributed_loop_over_a_value_in_s3_that_is_not_a_list_continues(
    aws: LocalAWS, items: str
) -> None:
    value: Any = "s" * 100_000 if items == "a string" else {f"k{i}": "v" * 100 for i in range(800)}
    result = ok(aws, erring("distributed", "continue"), {"orders": value})
    assert result.nodes["each"]["status"] == "failed"
    assert result.output == {"after": {"n": 1, "type": "Routines.UserError"}}
    assert LOADER["distributed"] in entered(result)


# --- loops in loops, in branches, in until bodies --------------------------------------------------


def test_a_loop_in_an_until_body_over_the_previous_iterations_large_list(aws: LocalAWS) -> None:
    # Each iteration makes a 180 KB list (in S3: over its share of the results); the next
    # iteration's inner loop runs over it, read through loop.previous.
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.index }}", "op": "gte", "right": 2},
                "maxIterations": 5,
            },
        },
        loop("each", "{{ loop.previous ? loop.previous.rows : [1, 2, 3] }}"),
        transform("row", {"x": 1}),
        {
            **big_rows("make"),
            "parameters": {"fields": {**big_rows()["parameters"]["fields"], "n": "{{ $count(nodes.each) }}"}},
        },
        transform("after", {"ns": "{{ nodes.again.n }}"}),
        connections=[
            link("again", "each", "body"),
            link("each", "row", "body"),
            link("each", "make", "done"),
            link("again", "after", "done"),
        ],
    )
    result = ok(aws, doc, {})
    assert result.output == {"after": {"ns": [3, 600, 600]}}
    assert "each (items from S3)" in entered(result)


def test_a_loop_in_an_until_body_over_a_large_outer_output(aws: LocalAWS) -> None:
    doc = routine(
        big_rows(),
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.index }}", "op": "gte", "right": 1},
                "maxIterations": 3,
            },
        },
        loop("each", "{{ nodes.big.rows }}"),
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform("sum", {"s": "{{ $sum(nodes.each.i) }}"}),
        transform("after", {"ss": "{{ nodes.again.s }}", "l": "{{ $length(nodes.big.rows[0].pad) }}"}),
        connections=[
            link("big", "again"),
            link("again", "each", "body"),
            link("each", "row", "body"),
            link("each", "sum", "done"),
            link("again", "after", "done"),
        ],
    )
    result = ok(aws, doc, {})
    assert result.output == {"after": {"ss": [sum(range(600))] * 2, "l": 280}}
    assert "each (items from S3)" in entered(result)


def test_a_loop_in_a_branch_routes_a_list_too_large_to_hold(aws: LocalAWS) -> None:
    # The loop and 'side' run as a Parallel; the loop's loader fails in its branch and the
    # error port is taken there, the other branch and the join go on.
    listed = rows(1_500, 200)
    doc = routine(
        transform("src", {"k": 1}),
        loop("each", "{{ trigger.items }}", onError="route"),
        transform("row", {"i": 1}),
        transform("told", {"why": "{{ $substring(nodes.each.error.message, 0, 16) }}"}),
        transform("fine", {"n": "{{ $count(nodes.each) }}"}),
        transform("side", {"s": "{{ $count(trigger.items) }}"}),
        {"id": "join", "plugin": "merge"},
        transform(
            "after",
            {
                "keys": "{{ $sort($keys(nodes.join)) }}",
                "why": "{{ nodes.join.told.why }}",
                "s": "{{ nodes.join.side.s }}",
            },
        ),
        connections=[
            link("src", "each"),
            link("src", "side"),
            link("each", "row", "body"),
            link("each", "told", "error"),
            link("each", "fine", "done"),
            link("told", "join"),
            link("fine", "join"),
            link("side", "join"),
            link("join", "after"),
        ],
    )
    result = ok(aws, doc, {"items": listed})
    assert result.output == {"after": {"keys": ["side", "told"], "why": "loop over a list", "s": 1500}}
    assert statuses(result)["each"] == "failed" and statuses(result)["fine"] == "skipped"


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_the_large_results_of_a_loop(aws: LocalAWS, mode: str) -> None:
    # 60 results of 5 KB: each over its share (256 KiB / 60), so each is a reference; the
    # list they make (300 KB) is over an inline loop's room, and a distributed one runs it.
    doc = routine(
        {"id": "first", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        transform("make", {"i": "{{ loop.item }}", "pad": "{{ $pad('', 5000, 'p') }}"}),
        loop("second", "{{ nodes.first }}", mode),
        transform("use", {"i": "{{ loop.item.i }}", "l": "{{ $length(loop.item.pad) }}"}),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.second) }}",
                "s": "{{ $sum(nodes.second.i) }}",
                "l": "{{ $distinct(nodes.second.l) }}",
            },
        ),
        connections=[
            link("first", "make", "body"),
            link("first", "second", "done"),
            link("second", "use", "body"),
            link("second", "after", "done"),
        ],
    )
    result = run(aws, doc, {"items": list(range(60))})
    if mode == "inline":
        assert (result.status, result.error) == ("FAILED", "Routines.UserError")
        why = message_of(result.cause)
        assert why.startswith("loop over a list of ") and all(part in why for part in TOO_LARGE), why
    else:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.output == {"after": {"n": 60, "s": sum(range(60)), "l": 5000}}


# --- bugs ------------------------------------------------------------------------------------------


def literal_items(mode: str) -> dict[str, Any]:
    return routine(
        loop("each", ["{{ trigger.tag }}", "{{ $length(trigger.blob) }}"], mode),
        transform("row", {"v": "{{ loop.item }}"}),
        transform("after", {"all": "{{ nodes.each.v }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )


@pytest.mark.parametrize(
    ("mode", "blob"),
    [
        pytest.param("inline", 0, id="inline"),
        pytest.param("inline", 100_000, id="inline, a template reads a field in S3"),
        pytest.param("distributed", 0, id="distributed"),
    ],
)
def test_a_literal_list_of_templates_means_the_same_whatever_the_trigger_size(
    aws: LocalAWS, mode: str, blob: int
) -> None:
    # When a template reads a field left out of the trigger (in S3), the list goes through
    # the evaluator, which evaluates the templates: a small trigger must not change that.
    trigger = {"tag": "T", "blob": "b" * blob}
    result = ok(aws, literal_items(mode), trigger)
    assert result.output == {"after": {"all": ["T", blob]}}


SPACED_LISTS = [
    # Under LOOP_ITEMS_BYTES as compact UTF-8 JSON, over it as the Lambda runtime writes the
    # evaluator's answer (json.dumps: ', ' and ': ', \\u escapes; plugins.runtime.offload.wire_size).
    pytest.param([{f"k{j}": j for j in range(20)} for _ in range(1_500)], id="1,500 small objects"),
    pytest.param(["é" * 1_200 for _ in range(100)], id="non-ASCII strings"),
]


@pytest.mark.parametrize("listed", SPACED_LISTS)
def test_a_list_measured_as_the_lambda_sends_it_is_refused_clearly(aws: LocalAWS, listed: list[Any]) -> None:
    # Measured compactly it fits; as the answer is sent it does not: the loop takes its error
    # port with the clear message, never States.DataLimitExceeded at the loader.
    assert TRIGGER_INLINE_BYTES < len(encode(listed)) <= LOOP_ITEMS_BYTES < len(json.dumps({"items": listed}))
    doc = routine(
        loop("each", "{{ trigger.items }}", onError="route"),
        transform("row", {"at": "{{ loop.index }}"}),
        transform("after", {"n": "{{ $count(nodes.each) }}", "s": "{{ $sum(nodes.each.at) }}"}),
        transform("told", {"e": "{{ nodes.each.error }}"}),
        connections=[
            link("each", "row", "body"),
            link("each", "after", "done"),
            link("each", "told", "error"),
        ],
    )
    result = ok(aws, doc, {"items": listed})
    error = result.output["told"]["e"]
    assert error["type"] == "Routines.UserError", error
    assert all(part in error["message"] for part in TOO_LARGE), error


def test_a_distributed_loop_over_an_item_larger_than_an_execution_input(aws: LocalAWS) -> None:
    doc = routine(
        loop("each", "{{ trigger.rows }}", "distributed", onError="route"),
        transform("row", {"l": "{{ $length(loop.item) }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        transform("told", {"type": "{{ nodes.each.error.type }}"}),
        connections=[
            link("each", "row", "body"),
            link("each", "after", "done"),
            link("each", "told", "error"),
        ],
    )
    result = ok(aws, doc, {"rows": ["h" * 300_000, "x"]})
    assert result.nodes["each"]["status"] == "failed"
    assert result.output == {"told": {"type": "Routines.UserError"}}


@pytest.mark.parametrize("mode", ["inline", "distributed"])
@pytest.mark.parametrize("status", ["succeed", "fail"])
def test_a_stop_inside_a_loop_over_a_list_in_s3(aws: LocalAWS, mode: str, status: str) -> None:
    stop: dict[str, Any] = {"status": status}
    if status == "fail":
        stop |= {"error": "Found", "cause": "item 450"}
    doc = routine(
        loop("each", "{{ trigger.items }}", mode),
        {
            "id": "hit",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item.i }}", "op": "eq", "right": 450}},
        },
        {"id": "halt", "plugin": "stop", "parameters": stop},
        transform("row", {"i": "{{ loop.item.i }}"}),
        transform("after", {"n": "{{ $count(nodes.each) }}"}),
        connections=[
            link("each", "hit", "body"),
            link("hit", "halt", "true"),
            link("hit", "row", "false"),
            link("each", "after", "done"),
        ],
    )
    if mode == "distributed":
        # A stop cannot end the execution from a distributed loop's child executions: refused
        # when the routine is saved, at the stop.
        errors = validate_document(doc).errors
        assert [(e.code, e.path) for e in errors] == [("invalid_parameter", "nodes[halt]")], errors
        assert "distributed loop" in errors[0].message
        return
    result = run(aws, doc, {"items": rows(900, 100)})
    assert LOADER[mode] in entered(result)
    if status == "succeed":
        assert (result.status, result.output) == ("SUCCEEDED", {})
    else:
        assert (result.status, result.error, result.cause) == ("FAILED", "Found", "item 450")
