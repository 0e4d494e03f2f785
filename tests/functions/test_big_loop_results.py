"""Loops whose results outgrow their list's one variable (issue #23, "big loops"): each
iteration's result gets a share of 256 KiB ÷ the count, and below contract.limits.SPILL_SHARE
an iteration stores a result over its share in S3 under its own key and hands back null; the
Map assigns the loop's variable where they are (contract.names.STORED_RESULTS), and whoever
reads it — a Lambda, the trace, the records — gathers them. No state more. Every case is a
valid routine with exact results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.limits import MOST_LOOP_RESULTS, SPILL_SHARE
from contract.names import PARTIAL, STORED_RESULTS
from functions.local import LocalAWS, run_routine
from statemachines.compiler import compile_routine
from tests.conftest import link
from tests.functions.test_big_lists_adversarial import entered, message_of, valid
from tests.functions.test_size_adversarial import statuses, transform

NOTE = "n" * 400  # a result of about 430 bytes: 3,000 of them are 1.3 MB


def body_link(loop_id: str, target: str) -> dict[str, Any]:
    return link(loop_id, target, "body")


def done_link(loop_id: str, target: str) -> dict[str, Any]:
    return link(loop_id, target, "done")


def loop(node_id: str, items: Any, mode: str = "inline", **extra: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {"items": items, "maxConcurrency": 40}
    if mode == "distributed":
        parameters["mode"] = "distributed"
    return {"id": node_id, "plugin": "loop", "parameters": parameters, **extra}


def summary(loop_id: str, count: int) -> dict[str, Any]:
    return transform(
        "sum",
        {
            "count": f"{{{{ $count(nodes.{loop_id}) }}}}",
            "first": f"{{{{ nodes.{loop_id}[0].i }}}}",
            "last": f"{{{{ nodes.{loop_id}[{count - 1}].i }}}}",
            "total": f"{{{{ $sum(nodes.{loop_id}.i) }}}}",
            "notes": f"{{{{ $count($distinct(nodes.{loop_id}.note)) }}}}",
        },
    )


def big(count: int, mode: str = "inline", execution: str = "standard") -> dict[str, Any]:
    """A loop over ``count`` numbers whose body makes a 430-byte row each, read by a summary."""
    document: dict[str, Any] = {
        "name": "big results",
        "trigger": {"type": "manual"},
        "nodes": [
            loop("each", f"{{{{ [0..{count - 1}] }}}}", mode),
            transform("row", {"i": "{{ loop.item }}", "note": NOTE}),
            summary("each", count),
        ],
        "connections": [body_link("each", "row"), done_link("each", "sum")],
    }
    if execution != "standard":
        document.update(execution=execution, timeoutSeconds=300)
    return valid(document)


def ok(aws: LocalAWS, document: dict[str, Any], trigger: Any = None) -> Any:
    result = run_routine(aws, document, trigger if trigger is not None else {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def stored_results(aws: LocalAWS) -> list[str]:
    listed = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket="payloads")
    return [o["Key"] for page in listed for o in page.get("Contents", []) if "/results/" in o["Key"]]


def assigned_by_the_map(result: Any, loop_id: str = "each") -> Any:
    """What the loop's Map state assigned to the loop's variable (its last run)."""
    values = [
        e["stateExitedEventDetails"]["assignedVariables"][f"node_{loop_id}"]
        for e in result.history
        if e.get("stateExitedEventDetails", {}).get("name") == loop_id
    ]
    return json.loads(values[-1])


def expected(count: int) -> dict[str, Any]:
    return {"count": count, "first": 0, "last": count - 1, "total": count * (count - 1) // 2, "notes": 1}


@pytest.mark.parametrize(
    ("count", "mode", "execution"),
    [(3_000, "inline", "standard"), (3_000, "distributed", "standard"), (4_000, "inline", "express")],
)
def test_a_loop_of_thousands_of_results_hands_them_all_on(
    aws: LocalAWS, count: int, mode: str, execution: str
) -> None:
    """Before: "the output is 431 bytes and its share of the loop's results is 85 bytes, too
    little even for a reference to it in S3" (Routines.UserError)."""
    result = ok(aws, big(count, mode, execution))
    assert result.nodes["sum"]["output"] == expected(count)
    where = assigned_by_the_map(result)
    assert set(where) == {STORED_RESULTS, "results", PARTIAL}
    assert where["results"] == [None] * count and where[PARTIAL] == {"i": True, "note": True}
    assert len(stored_results(aws)) == count  # each result over its share, stored apart
    assert {"each", "each (items)", "sum"} <= entered(result)


def test_a_loop_under_the_spill_share_keeps_its_results_inline(aws: LocalAWS) -> None:
    """200 results of 430 bytes: a share of 1,280 bytes, no Choice taken, nothing stored apart."""
    count = 200
    assert 256_000 // count >= SPILL_SHARE
    result = ok(aws, big(count))
    assert result.nodes["sum"]["output"] == expected(count)
    assert assigned_by_the_map(result)[-1] == {"i": count - 1, "note": NOTE}  # the list itself
    assert stored_results(aws) == []


def test_small_results_of_a_big_loop_stay_inline_and_are_gathered_as_they_are(aws: LocalAWS) -> None:
    """3,000 results of a few bytes fit their 85-byte shares: none is stored apart, and the
    Map's list is the results themselves, under the marker that says where any others are."""
    document = big(3_000)
    document["nodes"][1] = transform("row", {"i": "{{ loop.item }}", "note": "x"})
    result = ok(aws, document)
    assert result.nodes["sum"]["output"] == expected(3_000)
    assert stored_results(aws) == []
    assert assigned_by_the_map(result)["results"][2999] == {"i": 2999, "note": "x"}


def test_iterations_that_skip_the_result_node_keep_their_null(aws: LocalAWS) -> None:
    """Odd items take the if's false port, which goes nowhere: their result is null, and
    the evaluator finds nothing stored under their keys."""
    count = 3_000
    document = {
        "name": "some rows",
        "trigger": {"type": "manual"},
        "nodes": [
            loop("each", f"{{{{ [0..{count - 1}] }}}}"),
            {
                "id": "even",
                "plugin": "if",
                "parameters": {"condition": {"expression": "{{ loop.item % 2 = 0 }}"}},
            },
            transform("row", {"i": "{{ loop.item }}", "note": NOTE}),
            transform(
                "sum",
                {
                    "count": "{{ $count(nodes.each) }}",
                    "rows": "{{ $count(nodes.each[i >= 0]) }}",
                    "nulls": "{{ $count(nodes.each[$ = null]) }}",
                    "total": "{{ $sum(nodes.each.i) }}",
                },
            ),
        ],
        "connections": [
            body_link("each", "even"),
            link("even", "row", "true"),
            done_link("each", "sum"),
        ],
    }
    result = ok(aws, valid(document))
    half = count // 2
    assert result.nodes["sum"]["output"] == {
        "count": count,
        "rows": half,
        "nulls": half,
        "total": sum(range(0, count, 2)),
    }
    assert len(stored_results(aws)) == half


def test_failed_iterations_keep_their_error_records(aws: LocalAWS) -> None:
    """With onError continue on the result node, an iteration that fails hands back its
    error record inline; the others' rows are gathered around it, in order."""
    count = 3_000
    row = transform(
        "row",
        {"i": "{{ loop.item }}", "note": NOTE, "bad": "{{ loop.item = 7 ? $error('seven') : 1 }}"},
    )
    row["onError"] = "continue"
    document = big(count)
    document["nodes"][1] = row
    document["nodes"][2] = transform(
        "sum",
        {
            "errors": "{{ $count(nodes.each[$exists(error)]) }}",
            "seventh": "{{ nodes.each[7].error.type }}",
            "eighth": "{{ nodes.each[8].i }}",
            "total": "{{ $sum(nodes.each.i) }}",
        },
    )
    result = ok(aws, valid(document))
    output = result.nodes["sum"]["output"]
    assert output["errors"] == 1 and output["eighth"] == 8
    assert output["total"] == count * (count - 1) // 2 - 7
    assert isinstance(output["seventh"], str) and output["seventh"]


def test_a_native_condition_on_the_gathered_list_asks_the_evaluator(aws: LocalAWS) -> None:
    """The list is in S3 (1.3 MB): an if reading it cannot read it natively; its reference
    says every read is left out, so the evaluator decides, on the whole list."""
    count = 3_000
    document = big(count)
    document["nodes"] = [
        *document["nodes"][:2],
        {
            "id": "many",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.each[2999].i }}", "op": "eq", "right": 2999}},
        },
        transform("yes", {"n": "{{ $count(nodes.each) }}"}),
        transform("no", {"n": 0}),
    ]
    document["connections"] = [
        body_link("each", "row"),
        done_link("each", "many"),
        link("many", "yes", "true"),
        link("many", "no", "false"),
    ]
    result = ok(aws, valid(document))
    assert statuses(result)["no"] == "skipped"
    assert result.nodes["yes"]["output"] == {"n": count}


def test_a_distributed_loop_over_the_gathered_list(aws: LocalAWS) -> None:
    """A second loop reads the first's 1.3 MB of results: the evaluator writes that list to
    S3 for its ItemReader, and each iteration gets its row."""
    count = 2_000
    document = big(count)
    document["nodes"] = [
        *document["nodes"][:2],
        loop("again", "{{ nodes.each }}", "distributed"),
        transform("twice", {"j": "{{ loop.item.i * 2 }}"}),
        transform("sum", {"total": "{{ $sum(nodes.again.j) }}", "count": "{{ $count(nodes.again) }}"}),
    ]
    document["connections"] = [
        body_link("each", "row"),
        done_link("each", "again"),
        body_link("again", "twice"),
        done_link("again", "sum"),
    ]
    result = ok(aws, valid(document))
    assert result.nodes["sum"]["output"] == {"total": count * (count - 1), "count": count}


def test_an_inner_loop_gathers_its_own_iterations_results(aws: LocalAWS) -> None:
    """Two outer iterations, each an inner loop of 1,500 rows read within the outer
    iteration: the keys of the inner results begin with the outer iteration ("1.1499")."""
    inner = 1_500
    document = {
        "name": "nested",
        "trigger": {"type": "manual"},
        "nodes": [
            loop("outer", "{{ [10, 20] }}"),
            loop("inner", f"{{{{ [0..{inner - 1}] }}}}"),
            transform("row", {"i": "{{ loop.item }}", "note": NOTE}),
            transform("part", {"rows": "{{ $count(nodes.inner) }}", "sum": "{{ $sum(nodes.inner.i) }}"}),
            transform("sum", {"parts": "{{ nodes.outer }}"}),
        ],
        "connections": [
            body_link("outer", "inner"),
            body_link("inner", "row"),
            done_link("inner", "part"),
            done_link("outer", "sum"),
        ],
    }
    result = ok(aws, valid(document))
    part = {"rows": inner, "sum": inner * (inner - 1) // 2}
    assert result.nodes["sum"]["output"] == {"parts": [part, part]}
    keys = stored_results(aws)
    assert len(keys) == 2 * inner
    assert {key.rsplit("/", 1)[-1].split(".")[0] for key in keys} == {"0", "1"}


def test_the_gathered_list_is_the_loops_output_in_the_trace(aws: LocalAWS) -> None:
    """What a person reads of the loop node: its results, not the iterations' nulls."""
    count = 3_000
    result = ok(aws, big(count))
    assert result.nodes["each"]["output"] == [{"i": i, "note": NOTE} for i in range(count)]
    assert result.nodes["row"]["status"] == "succeeded"


def test_a_leaf_loops_results_are_the_executions_result(aws: LocalAWS) -> None:
    """The loop ends the routine: the execution's result holds where its results are, and
    the result users read has them gathered."""
    count = 3_000
    document = big(count)
    document["nodes"] = document["nodes"][:2]
    document["connections"] = document["connections"][:1]
    result = ok(aws, valid(document))
    assert result.output == {"each": [{"i": i, "note": NOTE} for i in range(count)]}


@pytest.mark.parametrize("mode", ["inline", "distributed"])
def test_more_results_than_their_list_holds_are_refused_plainly(aws: LocalAWS, mode: str) -> None:
    """Past MOST_LOOP_RESULTS even the nulls would not fit a state's result: refused before
    the first iteration, saying what to do (Express, where no history bound is lower)."""
    document = big(MOST_LOOP_RESULTS + 1, mode, "express" if mode == "inline" else "standard")
    result = run_routine(aws, document, {})
    assert result.status == "FAILED" and result.error == "Routines.UserError"
    assert "hands on at most 40,000 results" in message_of(result.cause)
    assert stored_results(aws) == []


def test_a_loop_whose_results_nobody_reads_neither_counts_nor_gathers() -> None:
    document = big(3_000)
    document["nodes"][2] = transform("sum", {"done": True})  # after the loop, reading none of it
    states = json.dumps(compile_routine(valid(document)).definition)
    assert STORED_RESULTS not in states and "loopResult" not in states


# --- until loops: a share of room ÷ maxIterations -------------------------------------------


def pages(max_iterations: int, last_page: int, execution: str = "standard") -> dict[str, Any]:
    """Pagination: a 430-byte page per iteration until page ``last_page``, read by a summary."""
    document: dict[str, Any] = {
        "name": "pages",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "again",
                "plugin": "loop",
                "parameters": {
                    "until": {"expression": f"{{{{ loop.previous.page >= {last_page} }}}}"},
                    "maxIterations": max_iterations,
                },
            },
            transform(
                "page", {"page": "{{ loop.index }}", "note": NOTE, "before": "{{ loop.previous.page }}"}
            ),
            transform(
                "sum",
                {
                    "count": "{{ $count(nodes.again) }}",
                    "last": "{{ nodes.again[-1].page }}",
                    "total": "{{ $sum(nodes.again.page) }}",
                    "chained": "{{ $count(nodes.again[before = page - 1]) }}",
                },
            ),
        ],
        "connections": [body_link("again", "page"), done_link("again", "sum")],
    }
    if execution != "standard":
        document.update(execution=execution, timeoutSeconds=300)
    return valid(document)


@pytest.mark.parametrize(
    ("max_iterations", "last_page", "execution"),
    [(2_000, 4, "standard"), (2_000, 1_200, "standard"), (10_000, 2, "express")],
)
def test_an_until_loop_with_many_possible_iterations_hands_on_its_pages(
    aws: LocalAWS, max_iterations: int, last_page: int, execution: str
) -> None:
    """Before: a share of 256,000 ÷ 2,000 = 128 bytes failed the first 430-byte page ("too
    little even for a reference"), however few pages the loop would have run. Now each page
    over its share is stored apart; loop.previous reads its reference (the page kept inline)."""
    result = ok(aws, pages(max_iterations, last_page, execution))
    count = last_page + 1
    assert result.nodes["sum"]["output"] == {
        "count": count,
        "last": last_page,
        "total": last_page * count // 2,
        "chained": last_page,  # every page but the first saw the one before it
    }
    assert len(stored_results(aws)) == count
    assert result.nodes["again"]["output"][-1] == {"page": last_page, "note": NOTE, "before": last_page - 1}


def test_an_until_loop_with_a_roomy_share_keeps_its_pages_inline(aws: LocalAWS) -> None:
    """maxIterations 100: a share of 2,560 bytes, over SPILL_SHARE: nothing stored apart."""
    result = ok(aws, pages(100, 3))
    assert result.nodes["sum"]["output"]["count"] == 4
    assert stored_results(aws) == []
