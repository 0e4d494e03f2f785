"""Adversarial cases for loop results stored apart (issue #23, "big loops"): every read of a
loop's gathered list — through a merge, a Parallel branch, a nested loop, a code node, a
native condition, a second loop — and the values stored apart themselves (nulls, strings,
lists, user keys named like the marker), at the spill boundary and across outer iterations.
Every case is a valid routine with exact results computed here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.limits import SPILL_SHARE, TRIGGER_INLINE_BYTES
from contract.names import PARTIAL, STORED_RESULTS
from functions.local import LocalAWS, run_routine
from plugins.runtime.offload import wire_size
from statemachines.machine.values import VARIABLE_ROOM
from tests.conftest import link
from tests.functions.test_big_lists_adversarial import entered, message_of, valid
from tests.functions.test_big_loop_results import body_link, done_link, loop, ok, stored_results
from tests.functions.test_size_adversarial import statuses, transform

LONG = "n" * 700  # a row of ~720 bytes: over a 640-byte share (400 items)


def routine(*nodes: dict[str, Any], connections: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    document = {"name": "adversarial", "trigger": {"type": "manual"}, "nodes": list(nodes)}
    document["connections"] = connections
    document.update(extra)
    return valid(document)


def static(node_id: str, data: Any, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "static-data", "parameters": {"data": data}, **extra}


def rows(count: int, offset: int = 0) -> list[dict[str, Any]]:
    return [{"i": i + offset, "note": LONG} for i in range(count)]


def row(node_id: str = "row", offset: str = "") -> dict[str, Any]:
    item = "{{ loop.item" + (f" + {offset}" if offset else "") + " }}"
    return transform(node_id, {"i": item, "note": LONG})


# --- every way of reading the gathered list -----------------------------------------------------


def test_the_gathered_list_read_by_count_index_filter_map_and_whole(aws: LocalAWS) -> None:
    count = 400
    assert VARIABLE_ROOM // count < wire_size(rows(1)[0]) < SPILL_SHARE
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        transform(
            "sum",
            {
                "count": "{{ $count(nodes.each) }}",
                "last": "{{ nodes.each[-1].i }}",
                "over": "{{ $count(nodes.each[i > 10]) }}",
                "notes": "{{ $count(nodes.each.note) }}",
                "length": "{{ $sum($map(nodes.each, function($r) { $length($r.note) })) }}",
                "odd": "{{ nodes.each[i % 2 = 1][0].i }}",
            },
        ),
        transform("whole", {"all": "{{ nodes.each }}"}),
        connections=[body_link("each", "row"), done_link("each", "sum"), link("sum", "whole")],
    )
    result = ok(aws, document)
    assert result.nodes["sum"]["output"] == {
        "count": count,
        "last": count - 1,
        "over": count - 11,
        "notes": count,
        "length": count * len(LONG),
        "odd": 1,
    }
    assert result.output == {"whole": {"all": rows(count)}}
    assert len(stored_results(aws)) == count


def test_a_code_node_reads_the_gathered_list(aws: LocalAWS) -> None:
    count = 400
    code = (
        "return {'n': len(input), 's': sum(r['i'] for r in input), "
        "'nulls': sum(1 for r in input if r is None), 'l': len(input[-1]['note'])}"
    )
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        {"id": "py", "plugin": "code", "parameters": {"code": code, "input": "{{ nodes.each }}"}},
        connections=[body_link("each", "row"), done_link("each", "py")],
    )
    result = ok(aws, document)
    assert result.output == {"py": {"n": count, "s": count * (count - 1) // 2, "nulls": 0, "l": len(LONG)}}


def test_a_big_loop_in_a_parallel_branch_read_through_a_merge(aws: LocalAWS) -> None:
    count = 400
    document = routine(
        transform("src", {"k": 3}),
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        transform("row", {"i": "{{ loop.item * nodes.src.k }}", "note": LONG}),
        transform("small", {"n": 5}),
        {"id": "join", "plugin": "merge"},
        transform(
            "after",
            {
                "count": "{{ $count(nodes.join.each) }}",
                "sum": "{{ $sum(nodes.join.each.i) }}",
                "direct": "{{ nodes.each[-1].i }}",
                "n": "{{ nodes.join.small.n }}",
                "keys": "{{ $sort($keys(nodes.join)) }}",
            },
        ),
        connections=[
            link("src", "each"),
            link("src", "small"),
            body_link("each", "row"),
            done_link("each", "join"),
            link("small", "join"),
            link("join", "after"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {
        "after": {
            "count": count,
            "sum": 3 * count * (count - 1) // 2,
            "direct": 3 * (count - 1),
            "n": 5,
            "keys": ["each", "small"],
        }
    }


@pytest.mark.parametrize("execution", ["standard", "express"])
def test_two_big_loops_in_parallel_branches_merged(aws: LocalAWS, execution: str) -> None:
    a, b = 400, 380
    document = routine(
        transform("src", {"k": 1}),
        loop("la", f"{{{{ [0..{a - 1}] }}}}"),
        row("ra"),
        loop("lb", f"{{{{ [0..{b - 1}] }}}}", "inline" if execution == "express" else "distributed"),
        row("rb", "1000"),
        {"id": "join", "plugin": "merge"},
        transform(
            "after",
            {
                "na": "{{ $count(nodes.join.la) }}",
                "nb": "{{ $count(nodes.join.lb) }}",
                "sa": "{{ $sum(nodes.la.i) }}",
                "sb": "{{ $sum(nodes.lb.i) }}",
                "ordered": "{{ nodes.la.i = [0..399] and nodes.lb.i = [1000..1379] }}",
            },
        ),
        connections=[
            link("src", "la"),
            link("src", "lb"),
            body_link("la", "ra"),
            body_link("lb", "rb"),
            done_link("la", "join"),
            done_link("lb", "join"),
            link("join", "after"),
        ],
        **({"execution": "express", "timeoutSeconds": 300} if execution == "express" else {}),
    )
    result = ok(aws, document)
    assert result.output == {
        "after": {
            "na": a,
            "nb": b,
            "sa": a * (a - 1) // 2,
            "sb": sum(range(1000, 1000 + b)),
            "ordered": True,
        }
    }
    assert len(stored_results(aws)) == a + b


# --- nesting and running the same loop again ---------------------------------------------------


@pytest.mark.parametrize("outer_mode", ["inline", "distributed"])
def test_an_inner_big_loop_per_outer_iteration_keeps_its_own_results(aws: LocalAWS, outer_mode: str) -> None:
    """Three outer items, each an inner loop of 400 rows tagged with the outer item: the
    inner sums differ per outer iteration, so mixed keys would show."""
    inner = 400
    document = routine(
        loop("outer", "{{ [10, 20, 30] }}", outer_mode),
        transform("tag", {"k": "{{ loop.item }}"}),
        loop("inner", f"{{{{ [0..{inner - 1}] }}}}"),
        transform("row", {"i": "{{ loop.item + nodes.tag.k * 1000 }}", "note": LONG}),
        transform(
            "part",
            {
                "k": "{{ nodes.tag.k }}",
                "rows": "{{ $count(nodes.inner) }}",
                "sum": "{{ $sum(nodes.inner.i) }}",
                "first": "{{ nodes.inner[0].i }}",
            },
        ),
        transform("sum", {"parts": "{{ nodes.outer }}"}),
        connections=[
            body_link("outer", "tag"),
            link("tag", "inner"),
            body_link("inner", "row"),
            done_link("inner", "part"),
            done_link("outer", "sum"),
        ],
    )
    result = ok(aws, document)
    parts = [
        {"k": k, "rows": inner, "sum": sum(range(k * 1000, k * 1000 + inner)), "first": k * 1000}
        for k in (10, 20, 30)
    ]
    assert result.output == {"sum": {"parts": parts}}
    assert len(stored_results(aws)) == 3 * inner


@pytest.mark.parametrize("outer_mode", ["inline", "distributed"])
def test_a_big_outer_loop_whose_results_are_inner_loops_results(aws: LocalAWS, outer_mode: str) -> None:
    """The outer loop's own results are over their share (300 items: 853 bytes each) and are
    themselves read from inner loops; both levels stored apart."""
    outer = 300
    document = routine(
        loop("outer", f"{{{{ [0..{outer - 1}] }}}}", outer_mode),
        loop("inner", "{{ [0, 1] }}"),
        transform("cell", {"v": "{{ loop.item }}"}),
        transform(
            "part", {"o": "{{ loop.item }}", "cells": "{{ $count(nodes.inner) }}", "pad": LONG + "x" * 200}
        ),
        transform(
            "sum",
            {
                "n": "{{ $count(nodes.outer) }}",
                "s": "{{ $sum(nodes.outer.o) }}",
                "c": "{{ $sum(nodes.outer.cells) }}",
            },
        ),
        connections=[
            body_link("outer", "inner"),
            body_link("inner", "cell"),
            done_link("inner", "part"),
            done_link("outer", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"n": outer, "s": outer * (outer - 1) // 2, "c": 2 * outer}}
    assert len(stored_results(aws)) == outer


def test_the_same_big_loop_run_again_in_an_until_loop_does_not_reuse_stored_results(aws: LocalAWS) -> None:
    """An until loop runs a Map of 400 rows three times: pass 0 stores every row, pass 1
    hands back null for every even row, pass 2 for every row. A null from a later pass must
    stay null, never be read back from an earlier pass's key."""
    count = 400
    row_data = (
        "{{ (nodes.pass.k = 0 or (nodes.pass.k = 1 and loop.item % 2 = 1)) ? "
        f"{{'i': loop.item, 'k': nodes.pass.k, 'note': '{LONG}'}} : null }}}}"
    )
    document = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {"until": {"expression": "{{ loop.index >= 2 }}"}, "maxIterations": 10},
        },
        transform("pass", {"k": "{{ loop.index }}"}),
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        static("row", row_data),
        transform(
            "part",
            {
                "k": "{{ nodes.pass.k }}",
                "rows": "{{ $count(nodes.each[$exists(i)]) }}",
                "ks": "{{ $sum(nodes.each.k) }}",
                "nulls": "{{ $count(nodes.each[$ = null]) }}",
            },
        ),
        transform("sum", {"parts": "{{ nodes.again }}"}),
        connections=[
            body_link("again", "pass"),
            link("pass", "each"),
            body_link("each", "row"),
            done_link("each", "part"),
            done_link("again", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {
        "sum": {
            "parts": [
                {"k": 0, "rows": count, "ks": 0, "nulls": 0},
                {"k": 1, "rows": count // 2, "ks": count // 2, "nulls": count // 2},
                {"k": 2, "rows": 0, "ks": None, "nulls": count},
            ]
        }
    }


@pytest.mark.parametrize("reader_mode", ["inline", "distributed"])
def test_two_big_loops_in_sequence_and_a_loop_body_reading_the_first(aws: LocalAWS, reader_mode: str) -> None:
    """Loop b (over 3 indexes) reads loop a's stored results inside its body; loop c runs
    over the same items as a: their keys (node, iteration) must not mix."""
    count = 400
    document = routine(
        loop("a", f"{{{{ [0..{count - 1}] }}}}"),
        row("ra"),
        loop("b", "{{ [0, 199, 399] }}", reader_mode),
        transform("rb", {"seen": "{{ ($at := loop.item; nodes.a[$at].i) }}", "n": "{{ $count(nodes.a) }}"}),
        loop("c", f"{{{{ [0..{count - 1}] }}}}"),
        row("rc", "5000"),
        transform(
            "sum",
            {"b": "{{ nodes.b }}", "sa": "{{ $sum(nodes.a.i) }}", "sc": "{{ $sum(nodes.c.i) }}"},
        ),
        connections=[
            body_link("a", "ra"),
            done_link("a", "b"),
            body_link("b", "rb"),
            done_link("b", "c"),
            body_link("c", "rc"),
            done_link("c", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {
        "sum": {
            "b": [{"seen": i, "n": count} for i in (0, 199, 399)],
            "sa": count * (count - 1) // 2,
            "sc": sum(range(5000, 5000 + count)),
        }
    }
    assert len(stored_results(aws)) == 2 * count


# --- what a result may be ---------------------------------------------------------------------


def mixed(i: int) -> Any:
    """Item i's result: a long string, a number, null, a long list, or an object (unicode)."""
    kind = i % 5
    if kind == 0:
        return f"s{i}" + "é" * 400
    if kind == 1:
        return i
    if kind == 2:
        return None
    if kind == 3:
        return [i, "x" * 700]
    return {"i": i, "ü": "☃" * 300}


def test_results_of_every_kind_stored_apart_or_not_are_gathered_in_order(aws: LocalAWS) -> None:
    count = 400
    data = (
        "{{ ($k := loop.item % 5; $i := loop.item; "
        "$k = 0 ? 's' & $string($i) & $pad('', 400, 'é') : "
        "$k = 1 ? $i : $k = 2 ? null : "
        "$k = 3 ? [$i, $pad('', 700, 'x')] : {'i': $i, 'ü': $pad('', 300, '☃')}) }}"
    )
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        static("row", data),
        transform(
            "sum",
            {
                "count": "{{ $count(nodes.each) }}",
                "nulls": "{{ $count(nodes.each[$ = null]) }}",
                "third": "{{ nodes.each[3] }}",
                "numbers": "{{ $sum(nodes.each[$type($) = 'number']) }}",
            },
        ),
        transform("whole", {"all": "{{ nodes.each }}"}),
        connections=[body_link("each", "row"), done_link("each", "sum"), link("sum", "whole")],
    )
    result = ok(aws, document)
    want = [mixed(i) for i in range(count)]
    assert result.nodes["sum"]["output"] == {
        "count": count,
        "nulls": count // 5,
        "third": want[3],
        "numbers": sum(i for i in range(count) if i % 5 == 1),
    }
    assert result.output["whole"]["all"] == want
    stored = sum(1 for v in want if wire_size(v) > VARIABLE_ROOM // count)
    assert len(stored_results(aws)) == stored


def marked_rows(extra: dict[str, Any]) -> dict[str, Any]:
    count = 400
    return routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        transform("row", {"i": "{{ loop.item }}", **extra, "note": LONG}),
        transform(
            "sum",
            {
                "count": "{{ $count(nodes.each) }}",
                "marks": "{{ $count(nodes.each.*[$type($) = 'object']) }}",
                "total": "{{ $sum(nodes.each.i) }}",
                "first": "{{ nodes.each[0] }}",
            },
        ),
        connections=[body_link("each", "row"), done_link("each", "sum")],
    )


def test_rows_stored_apart_holding_a_partial_key_of_their_own(aws: LocalAWS) -> None:
    """A user field named "__partial" (as a reference's marker is) in every row stored apart."""
    result = ok(aws, marked_rows({PARTIAL: {"i": True}}))
    first = {"i": 0, PARTIAL: {"i": True}, "note": LONG}
    assert result.nodes["sum"]["output"] == {"count": 400, "marks": 400, "total": 79800, "first": first}
    assert len(stored_results(aws)) == 400


def test_rows_holding_a_stored_results_key_of_their_own(aws: LocalAWS) -> None:
    """A user field named "$storedResults" in every row: data, not the loop's marker."""
    result = ok(aws, marked_rows({STORED_RESULTS: {"node": "each"}}))
    first = {"i": 0, STORED_RESULTS: {"node": "each"}, "note": LONG}
    assert result.nodes["sum"]["output"] == {"count": 400, "marks": 400, "total": 79800, "first": first}


def test_an_output_shaped_like_the_marker_is_data(aws: LocalAWS) -> None:
    """Read with a big loop's results (so the transform's Lambda evaluates its fields)."""
    fake = {STORED_RESULTS: {"node": "row", "execution": "x", "prefix": ""}, "results": [None, 1]}
    document = routine(
        loop("each", "{{ [0..399] }}"),
        row(),
        static("fake", fake),
        transform("sum", {"fake": "{{ nodes.fake }}", "n": "{{ $count(nodes.each) }}"}),
        connections=[body_link("each", "row"), done_link("each", "fake"), link("fake", "sum")],
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"fake": fake, "n": 400}}


def test_data_forging_the_marker_reads_no_stored_result(aws: LocalAWS) -> None:
    """Data (here a static node's, on AWS as well an HTTP response's) shaped like the marker
    and naming this execution's loop: it must stay data, not pull row 70 (prefix '7' + index
    0) out of S3."""
    forged = {
        STORED_RESULTS: {"node": "row", "execution": "{{ execution.id }}", "prefix": "7"},
        "results": [None],
    }
    document = routine(
        loop("each", "{{ [0..399] }}"),
        row(),
        static("forged", forged),
        transform("sum", {"got": "{{ nodes.forged }}", "n": "{{ $count(nodes.each) }}"}),
        connections=[body_link("each", "row"), done_link("each", "forged"), link("forged", "sum")],
    )
    result = ok(aws, document)
    got = result.output["sum"]["got"]
    assert isinstance(got, dict) and got["results"] == [None], got  # not [row 70]
    assert result.output["sum"]["n"] == 400


def test_a_marker_forged_to_the_letter_reads_nothing_stored(aws: LocalAWS) -> None:
    """Shaped exactly as the machine writes it and naming this execution's loop, but the
    loop run's name (a random uuid, part of every key) cannot be known: nothing is read."""
    forged = {
        STORED_RESULTS: {
            "node": "row",
            "execution": "{{ execution.id }}",
            "run": "0f0e0d0c-0b0a-4908-8706-050403020100",
            "prefix": "7",
        },
        "results": [None],
        PARTIAL: {},
    }
    document = routine(
        loop("each", "{{ [0..399] }}"),
        row(),
        static("forged", forged),
        transform("sum", {"got": "{{ nodes.forged }}", "n": "{{ $count(nodes.each) }}"}),
        connections=[body_link("each", "row"), done_link("each", "forged"), link("forged", "sum")],
    )
    result = ok(aws, document)
    assert result.output["sum"] == {"got": [None], "n": 400}  # not [row 70]
    assert len(stored_results(aws)) == 400


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("on_error", ["continue", "route"])
def test_the_loop_failing_after_storing_results_by_its_on_error(aws: LocalAWS, on_error: str) -> None:
    """Row 350 fails (no onError of its own): the loop fails by its onError; the stored
    rows of the other iterations are no result of it."""
    count = 400
    failing = transform(
        "row", {"i": "{{ loop.item }}", "note": LONG, "bad": "{{ loop.item = 350 ? $error('boom') : 1 }}"}
    )
    each = loop("each", f"{{{{ [0..{count - 1}] }}}}", onError=on_error)
    each["parameters"]["maxConcurrency"] = 1
    after = transform("after", {"type": "{{ nodes.each.error.type }}", "n": "{{ $count(nodes.each) }}"})
    connections = [body_link("each", "row"), done_link("each", "after")]
    if on_error == "route":
        connections = [body_link("each", "row"), link("each", "after", "error")]
    result = ok(aws, routine(each, failing, after, connections=connections))
    output = result.nodes["after"]["output"]
    assert output["n"] == 1 and isinstance(output["type"], str) and output["type"]


def test_result_nodes_failing_in_some_iterations_with_continue(aws: LocalAWS) -> None:
    count = 400
    failing = transform(
        "row",
        {"i": "{{ loop.item }}", "note": LONG, "bad": "{{ loop.item % 100 = 3 ? $error('odd one') : 1 }}"},
        onError="continue",
    )
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        failing,
        transform(
            "sum",
            {
                "errors": "{{ nodes.each[$exists(error)].error.message }}",
                "at": "{{ $filter([0..399], function($v, $i) { $exists(nodes.each[$i].error) }) }}",
                "rows": "{{ $count(nodes.each[$exists(i)]) }}",
                "total": "{{ $sum(nodes.each.i) }}",
            },
        ),
        connections=[body_link("each", "row"), done_link("each", "sum")],
    )
    result = ok(aws, document)
    bad = [3, 103, 203, 303]
    output = result.nodes["sum"]["output"]
    assert output["at"] == bad and output["rows"] == count - 4
    assert output["total"] == count * (count - 1) // 2 - sum(bad)
    assert len(output["errors"]) == 4 and all("odd one" in m for m in output["errors"])


# --- native conditions -----------------------------------------------------------------------


def test_if_and_switch_read_the_gathered_list(aws: LocalAWS) -> None:
    count = 400
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        {
            "id": "all",
            "plugin": "if",
            "parameters": {"condition": {"expression": f"{{{{ $count(nodes.each) = {count} }}}}"}},
        },
        {
            "id": "by",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {
                        "port": "low",
                        "condition": {"left": "{{ nodes.each[-1].i }}", "op": "lt", "right": 399},
                    },
                    {
                        "port": "exact",
                        "condition": {"left": "{{ nodes.each[-1].i }}", "op": "eq", "right": 399},
                    },
                ]
            },
        },
        transform("exact", {"n": "{{ $count(nodes.each[i >= 0]) }}"}),
        transform("low", {"n": 0}),
        transform("no", {"n": -1}),
        connections=[
            body_link("each", "row"),
            done_link("each", "all"),
            link("all", "by", "true"),
            link("all", "no", "false"),
            link("by", "exact", "exact"),
            link("by", "low", "low"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {"exact": {"n": count}}
    assert statuses(result)["low"] == "skipped" and statuses(result)["no"] == "skipped"


# --- a second loop over the gathered list ----------------------------------------------------


def test_an_inline_loop_over_a_gathered_list_that_fits(aws: LocalAWS) -> None:
    """Half the rows stored apart, half tiny: the gathered list is ~150 KB, under the 240 KiB
    an inline loop's items may hold."""
    count = 400
    data = f"{{{{ loop.item % 2 = 0 ? {{'i': loop.item, 'note': '{LONG}'}} : {{'i': loop.item}} }}}}"
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        static("row", data),
        loop("again", "{{ nodes.each }}"),
        transform("twice", {"j": "{{ loop.item.i * 2 }}", "long": "{{ $exists(loop.item.note) }}"}),
        transform("sum", {"total": "{{ $sum(nodes.again.j) }}", "long": "{{ $count(nodes.again[long]) }}"}),
        connections=[
            body_link("each", "row"),
            done_link("each", "again"),
            body_link("again", "twice"),
            done_link("again", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"total": count * (count - 1), "long": count // 2}}
    assert len(stored_results(aws)) == count // 2


def test_an_inline_loop_over_a_gathered_list_too_big_says_to_distribute(aws: LocalAWS) -> None:
    count = 400
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        loop("again", "{{ nodes.each }}"),
        transform("twice", {"j": "{{ loop.item.i * 2 }}"}),
        connections=[body_link("each", "row"), done_link("each", "again"), body_link("again", "twice")],
    )
    result = run_routine(aws, document, {})
    assert result.status == "FAILED" and result.error == "Routines.UserError", (result.error, result.cause)
    assert '"mode": "distributed"' in message_of(result.cause)


# --- Express, until loops -----------------------------------------------------------------------


def test_an_express_routine_hands_its_leaf_loops_results_on(aws: LocalAWS) -> None:
    count = 600
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        connections=[body_link("each", "row")],
        execution="express",
        timeoutSeconds=300,
    )
    result = ok(aws, document)
    assert result.output == {"each": rows(count)}
    assert len(stored_results(aws)) == count


def test_a_distributed_leaf_loops_results_are_the_executions_result(aws: LocalAWS) -> None:
    count = 400
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}", "distributed"),
        row(),
        connections=[body_link("each", "row")],
    )
    result = ok(aws, document)
    assert result.output == {"each": rows(count)}
    assert result.nodes["each"]["output"] == rows(count)


def test_an_until_loop_collecting_the_last_of_many_pages(aws: LocalAWS) -> None:
    document = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"expression": "{{ loop.previous.page >= 30 }}"},
                "maxIterations": 5_000,
                "collect": "last",
            },
        },
        transform("page", {"page": "{{ loop.index }}", "note": LONG, "before": "{{ loop.previous.page }}"}),
        transform("sum", {"last": "{{ nodes.again }}"}),
        connections=[body_link("again", "page"), done_link("again", "sum")],
        execution="express",
        timeoutSeconds=300,
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"last": {"page": 30, "note": LONG, "before": 29}}}


def test_an_until_loop_of_mixed_pages_gathers_them_in_order(aws: LocalAWS) -> None:
    """maxIterations 1,000 (a share of 256 bytes): even pages long (stored apart), odd pages
    short (inline), read back in order, and loop.previous of either kind."""
    last = 60
    data = (
        "{{ loop.index % 2 = 0 ? {'page': loop.index, 'before': loop.previous.page, "
        f"'note': '{LONG}'}} : {{'page': loop.index, 'before': loop.previous.page}} }}}}"
    )
    document = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"expression": f"{{{{ loop.previous.page >= {last} }}}}"},
                "maxIterations": 1_000,
            },
        },
        static("page", data),
        transform(
            "sum",
            {
                "pages": "{{ nodes.again.page }}",
                "chained": "{{ $count(nodes.again[before = page - 1]) }}",
                "long": "{{ $count(nodes.again.note) }}",
            },
        ),
        connections=[body_link("again", "page"), done_link("again", "sum")],
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"pages": list(range(last + 1)), "chained": last, "long": last // 2 + 1}}
    assert len(stored_results(aws)) == last // 2 + 1


# --- at the spill boundary ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [250, 251, 252])
def test_results_at_the_spill_boundary(aws: LocalAWS, count: int) -> None:
    """Strings of exactly their share and one byte over it: over SPILL_SHARE (250 items,
    1,024 bytes) none is stored apart; under it, exactly those over their share."""
    share = VARIABLE_ROOM // count
    data = f"{{{{ $pad($string(loop.item), loop.item % 2 = 0 ? {share - 2} : {share - 1}, '.') }}}}"
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        static("row", data),
        transform("sum", {"all": "{{ nodes.each }}"}),
        connections=[body_link("each", "row"), done_link("each", "sum")],
    )
    result = ok(aws, document)
    want = [str(i).ljust(share - 2 if i % 2 == 0 else share - 1, ".") for i in range(count)]
    assert [wire_size(w) - share for w in want[:2]] == [0, 1]
    assert result.output == {"sum": {"all": want}}
    stored = count // 2 if share < SPILL_SHARE else 0
    assert len(stored_results(aws)) == stored


def test_the_maps_variable_is_the_marker_only_under_the_spill_share(aws: LocalAWS) -> None:
    """The Map's assignment (the history) holds the marker with nulls where rows were
    stored and the short rows themselves."""
    count = 400
    data = f"{{{{ loop.item < 3 ? {{'i': loop.item}} : {{'i': loop.item, 'note': '{LONG}'}} }}}}"
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        static("row", data),
        transform("sum", {"n": "{{ $count(nodes.each) }}"}),
        connections=[body_link("each", "row"), done_link("each", "sum")],
    )
    result = ok(aws, document)
    assigned = [
        json.loads(e["stateExitedEventDetails"]["assignedVariables"]["node_each"])
        for e in result.history
        if e.get("stateExitedEventDetails", {}).get("name") == "each"
    ][-1]
    assert assigned["results"] == [{"i": 0}, {"i": 1}, {"i": 2}] + [None] * (count - 3)
    assert result.output == {"sum": {"n": count}}
    assert result.nodes["each"]["output"][:4] == [{"i": 0}, {"i": 1}, {"i": 2}, {"i": 3, "note": LONG}]


# --- until loops inside a Map; a body ending in a merge ------------------------------------------


@pytest.mark.parametrize("outer_mode", ["inline", "distributed"])
def test_until_loops_inside_a_map_keep_their_pages_apart(aws: LocalAWS, outer_mode: str) -> None:
    """Each outer item pages until page 4 + the item (maxIterations 2,000: a 128-byte share,
    every page stored apart): the pages of outer iterations must not mix."""
    outer = [0, 3, 6]
    document = routine(
        loop("outer", f"{{{{ {outer} }}}}", outer_mode),
        transform("tag", {"k": "{{ loop.item }}"}),
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"expression": "{{ loop.previous.page >= 4 + nodes.tag.k }}"},
                "maxIterations": 2_000,
            },
        },
        transform("page", {"page": "{{ loop.index }}", "k": "{{ nodes.tag.k }}", "note": LONG}),
        transform(
            "part",
            {
                "pages": "{{ nodes.again.page }}",
                "ks": "{{ $distinct(nodes.again.k) }}",
                "notes": "{{ $count(nodes.again.note) }}",
            },
        ),
        transform("sum", {"parts": "{{ nodes.outer }}"}),
        connections=[
            body_link("outer", "tag"),
            link("tag", "again"),
            body_link("again", "page"),
            done_link("again", "part"),
            done_link("outer", "sum"),
        ],
    )
    result = ok(aws, document)
    parts = [{"pages": list(range(5 + k)), "ks": k, "notes": 5 + k} for k in outer]
    assert result.output == {"sum": {"parts": parts}}
    assert len(stored_results(aws)) == sum(5 + k for k in outer)


def test_a_body_ending_in_a_merge_hands_on_its_results(aws: LocalAWS) -> None:
    """The iteration's result is a merge's (no Task's): not stored apart, each branch's
    output over its 640-byte share goes to S3 as a reference the readers load."""
    count = 400
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        {
            "id": "even",
            "plugin": "if",
            "parameters": {"condition": {"expression": "{{ loop.item % 2 = 0 }}"}},
        },
        transform("a", {"i": "{{ loop.item }}", "note": LONG}),
        transform("b", {"i": "{{ loop.item }}", "odd": True}),
        {"id": "join", "plugin": "merge"},
        transform(
            "sum",
            {
                "count": "{{ $count(nodes.each) }}",
                "a": "{{ $sum(nodes.each.a.i) }}",
                "b": "{{ $sum(nodes.each.b.i) }}",
                "notes": "{{ $count(nodes.each.a.note) }}",
            },
        ),
        connections=[
            body_link("each", "even"),
            link("even", "a", "true"),
            link("even", "b", "false"),
            link("a", "join"),
            link("b", "join"),
            done_link("each", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {
        "sum": {
            "count": count,
            "a": sum(range(0, count, 2)),
            "b": sum(range(1, count, 2)),
            "notes": count // 2,
        }
    }


def test_big_loops_in_parallel_branches_inside_an_outer_loop(aws: LocalAWS) -> None:
    """Each outer iteration fans out to two big inner loops joined by a merge: four runs of
    300 rows (a 853-byte share, rows of ~930 bytes), every key distinct."""
    inner = 300
    wide = LONG + "w" * 200
    document = routine(
        loop("outer", "{{ [10, 20] }}"),
        transform("tag", {"k": "{{ loop.item }}"}),
        loop("x", f"{{{{ [0..{inner - 1}] }}}}"),
        transform("rx", {"i": "{{ loop.item + nodes.tag.k * 1000 }}", "note": wide}),
        loop("y", f"{{{{ [0..{inner - 1}] }}}}"),
        transform("ry", {"i": "{{ loop.item + nodes.tag.k * 2000 }}", "note": wide}),
        {"id": "join", "plugin": "merge"},
        transform("part", {"x": "{{ $sum(nodes.join.x.i) }}", "y": "{{ $sum(nodes.y.i) }}"}),
        transform("sum", {"parts": "{{ nodes.outer }}"}),
        connections=[
            body_link("outer", "tag"),
            link("tag", "x"),
            link("tag", "y"),
            body_link("x", "rx"),
            body_link("y", "ry"),
            done_link("x", "join"),
            done_link("y", "join"),
            link("join", "part"),
            done_link("outer", "sum"),
        ],
    )
    result = ok(aws, document)
    parts = [
        {"x": sum(range(k * 1000, k * 1000 + inner)), "y": sum(range(k * 2000, k * 2000 + inner))}
        for k in (10, 20)
    ]
    assert result.output == {"sum": {"parts": parts}}
    assert len(stored_results(aws)) == 4 * inner


def test_a_loop_over_an_until_loops_stored_pages(aws: LocalAWS) -> None:
    """30 pages stored apart (maxIterations 2,000), then an inline loop over them."""
    last = 29
    document = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"expression": f"{{{{ loop.previous.page >= {last} }}}}"},
                "maxIterations": 2_000,
            },
        },
        transform("page", {"page": "{{ loop.index }}", "note": LONG}),
        loop("each", "{{ nodes.again }}"),
        transform("twice", {"p": "{{ loop.item.page * 2 }}", "l": "{{ $length(loop.item.note) }}"}),
        transform("sum", {"p": "{{ nodes.each.p }}", "l": "{{ $sum(nodes.each.l) }}"}),
        connections=[
            body_link("again", "page"),
            done_link("again", "each"),
            body_link("each", "twice"),
            done_link("each", "sum"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {"sum": {"p": [2 * p for p in range(last + 1)], "l": (last + 1) * len(LONG)}}
    assert len(stored_results(aws)) == last + 1


# --- other readers: a wait, a filter, the execution's result beside another leaf -----------------


def test_a_wait_and_a_filter_read_the_gathered_list(aws: LocalAWS) -> None:
    count = 400
    document = routine(
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        {
            "id": "pause",
            "plugin": "wait",
            "parameters": {"seconds": f"{{{{ $count(nodes.each) - {count} }}}}"},
        },
        {
            "id": "keep",
            "plugin": "filter",
            "parameters": {
                "items": "{{ nodes.each }}",
                "condition": {"left": "{{ item.i }}", "op": "gte", "right": 395},
            },
        },
        transform(
            "after", {"is": "{{ nodes.keep.items.i }}", "notes": "{{ $count(nodes.keep.items.note) }}"}
        ),
        connections=[
            body_link("each", "row"),
            done_link("each", "pause"),
            link("pause", "keep"),
            link("keep", "after"),
        ],
    )
    result = ok(aws, document)
    assert result.output == {"after": {"is": [395, 396, 397, 398, 399], "notes": 5}}


@pytest.mark.parametrize("execution", ["standard", "express"])
def test_a_leaf_loop_beside_another_leaf_is_gathered_into_the_result(aws: LocalAWS, execution: str) -> None:
    count = 400
    document = routine(
        transform("src", {"k": 2}),
        loop("each", f"{{{{ [0..{count - 1}] }}}}"),
        row(),
        transform("small", {"n": "{{ nodes.src.k }}"}),
        connections=[link("src", "each"), link("src", "small"), body_link("each", "row")],
        **({"execution": "express", "timeoutSeconds": 300} if execution == "express" else {}),
    )
    result = ok(aws, document)
    assert result.output == {"each": rows(count), "small": {"n": 2}}
    assert result.nodes["each"]["output"] == rows(count)


# --- items that come from S3, results stored apart --------------------------------------------


def test_a_loop_over_a_trigger_list_in_s3_stores_its_results_apart(aws: LocalAWS) -> None:
    """The items (an 88 KB trigger list, over the trigger's inline room) are loaded by the
    evaluator, which counts them: the share and the marker follow from its count."""
    count = 400
    items = [{"i": i, "pad": "p" * 200} for i in range(count)]
    assert wire_size({"items": items}) > TRIGGER_INLINE_BYTES
    document = routine(
        loop("each", "{{ trigger.items }}"),
        transform("row", {"i": "{{ loop.item.i }}", "note": LONG}),
        transform("sum", {"count": "{{ $count(nodes.each) }}", "total": "{{ $sum(nodes.each.i) }}"}),
        connections=[body_link("each", "row"), done_link("each", "sum")],
    )
    result = ok(aws, document, {"items": items})
    assert result.output == {"sum": {"count": count, "total": count * (count - 1) // 2}}
    assert "each (items from S3)" in entered(result)
    assert len(stored_results(aws)) == count


def test_a_distributed_loop_over_gathered_rows_stores_its_own_apart(aws: LocalAWS) -> None:
    """Loop b iterates over loop a's 290 KB of gathered rows and makes rows as long: both
    lists stored apart, under their own node's keys."""
    count = 400
    document = routine(
        loop("a", f"{{{{ [0..{count - 1}] }}}}"),
        row("ra"),
        loop("b", "{{ nodes.a }}", "distributed"),
        transform("rb", {"i": "{{ loop.item.i + 1000 }}", "note": "{{ loop.item.note }}"}),
        transform(
            "sum", {"a": "{{ $sum(nodes.a.i) }}", "b": "{{ $sum(nodes.b.i) }}", "n": "{{ $count(nodes.b) }}"}
        ),
        connections=[body_link("a", "ra"), done_link("a", "b"), body_link("b", "rb"), done_link("b", "sum")],
    )
    result = ok(aws, document)
    assert result.output == {
        "sum": {"a": count * (count - 1) // 2, "b": sum(range(1000, 1000 + count)), "n": count}
    }
    assert len(stored_results(aws)) == 2 * count
