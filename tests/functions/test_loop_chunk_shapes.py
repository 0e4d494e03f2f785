"""Adversarial shapes of long loops (issue #8): lists around the size the previous compiler
ran in chunks, loops over another loop's results, bodies ending in a merge, onError
continue inside the body, two loops in Parallel branches reading an outer output. Results
keep their order and their ``loop.index``."""

from __future__ import annotations

from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from tests.conftest import link, routine


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def loop(node_id: str, items: str) -> dict[str, Any]:
    return {"id": node_id, "plugin": "loop", "parameters": {"items": items}}


# The chunk the previous (JSONPath) compiler chose for each loop below, whose lists ran
# in chunks through a distributed Map: the same lengths, now one Map each.
CHUNK = {"plain": 172, "nested": 122, "merge": 143, "errors": 172}


def test_lists_around_the_chunk_size_keep_order_and_indexes(aws: LocalAWS) -> None:
    doc = routine(
        loop("each", "{{ trigger.items }}"),
        transform("row", v="{{ loop.item }}", i="{{ loop.index }}"),
        transform("after", all="{{ nodes.each }}", fifth="{{ nodes.each[5] }}"),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    chunk = CHUNK["plain"]
    for count in (0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 1):
        items = [f"v{i}" for i in range(count)]
        result = run_routine(aws, doc, {"items": items})
        assert result.status == "SUCCEEDED", (count, result.cause)
        rows = [{"v": f"v{i}", "i": i} for i in range(count)]
        fifth = rows[5] if count > 5 else None
        assert result.output == {"after": {"all": rows, "fifth": fifth}}, count


def test_a_loop_over_a_chunked_loops_results(aws: LocalAWS) -> None:
    doc = routine(
        loop("a", "{{ trigger.items }}"),
        transform("ra", x="{{ loop.item }}", i="{{ loop.index }}"),
        loop("b", "{{ nodes.a }}"),
        transform("rb", x="{{ loop.item.x }}", i="{{ loop.index }}", j="{{ loop.item.i }}"),
        transform("after", rows="{{ nodes.b }}"),
        connections=[
            link("a", "ra", "body"),
            link("a", "b", "done"),
            link("b", "rb", "body"),
            link("b", "after", "done"),
        ],
    )
    count = CHUNK["nested"] * 2 + 7
    result = run_routine(aws, doc, {"items": list(range(count))})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["after"]["output"] == {"rows": [{"x": i, "i": i, "j": i} for i in range(count)]}


def test_a_chunked_body_ending_in_a_merge_after_an_if(aws: LocalAWS) -> None:
    doc = routine(
        loop("each", "{{ trigger.items }}"),
        {
            "id": "odd",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item.odd }}", "op": "eq", "right": True}},
        },
        transform("o", k="odd", v="{{ loop.item.v }}"),
        transform("e", k="even", v="{{ loop.item.v }}"),
        {"id": "m", "plugin": "merge"},
        transform("after", rows="{{ nodes.each }}"),
        connections=[
            link("each", "odd", "body"),
            link("odd", "o", "true"),
            link("odd", "e", "false"),
            link("o", "m"),
            link("e", "m"),
            link("each", "after", "done"),
        ],
    )
    count = CHUNK["merge"] + 3
    items = [{"odd": i % 2 == 1, "v": i} for i in range(count)]
    result = run_routine(aws, doc, {"items": items})
    assert result.status == "SUCCEEDED", result.cause
    expected = [{"o": {"k": "odd", "v": i}} if i % 2 else {"e": {"k": "even", "v": i}} for i in range(count)]
    assert result.nodes["after"]["output"] == {"rows": expected}


def test_errors_continued_inside_a_chunked_body_are_records_in_order(aws: LocalAWS) -> None:
    doc = routine(
        loop("each", "{{ trigger.items }}"),
        {
            "id": "call",
            "plugin": "http-request",
            "parameters": {"url": "http://127.0.0.1:1/{{ loop.item }}"},
            "onError": "continue",
        },
        transform("after", types="{{ nodes.each[*].error.type }}", last="{{ nodes.each }}"),
        connections=[link("each", "call", "body"), link("each", "after", "done")],
    )
    count = CHUNK["errors"] + 2
    result = run_routine(aws, doc, {"items": list(range(count))})
    assert result.status == "SUCCEEDED", result.cause
    out = result.output["after"]  # the node log truncates an output this large
    assert out["types"] == ["Routines.OperationalError"] * count
    assert [row["error"]["message"].split(" failed")[0] for row in out["last"]] == [
        f"GET http://127.0.0.1:1/{i}" for i in range(count)
    ]


@pytest.mark.parametrize("count", [3, 401])
def test_two_chunked_loops_in_parallel_branches_read_an_outer_output(aws: LocalAWS, count: int) -> None:
    doc = routine(
        transform("s", a="outer"),
        loop("l1", "{{ trigger.items }}"),
        transform("r1", v="{{ loop.item }}"),
        loop("l2", "{{ trigger.items }}"),
        transform("r2", v="{{ loop.item }}", s="{{ nodes.s.a }}"),
        transform("j", one="{{ nodes.l1 }}", two="{{ nodes.l2 }}"),
        connections=[
            link("s", "l1"),
            link("s", "l2"),
            link("l1", "r1", "body"),
            link("l2", "r2", "body"),
            link("l1", "j", "done"),
            link("l2", "j", "done"),
        ],
    )
    result = run_routine(aws, doc, {"items": list(range(count))})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["j"]["output"] == {
        "one": [{"v": i} for i in range(count)],
        "two": [{"v": i, "s": "outer"} for i in range(count)],
    }
