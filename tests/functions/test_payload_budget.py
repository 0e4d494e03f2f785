"""Real-world payload sizes (issue #8): no valid routine takes a wrong branch or dies of
States.DataLimitExceeded. Large bodies come from a local HTTP server or static-data."""

from __future__ import annotations

from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from functions.local.map_runs import exceeded
from statemachines.machine import walk
from tests.conftest import link, routine
from tests.functions.conftest import Recorder

KB = 1024


def chain(length: int) -> dict[str, Any]:
    nodes = [transform("n0", {"v": 0})] + [
        transform(f"n{i}", {"v": f"{{{{ nodes.n{i - 1}.v }}}}", "i": i}) for i in range(1, length)
    ]
    return routine(*nodes, connections=[link(f"n{i}", f"n{i + 1}") for i in range(length - 1)])


def fetch_node(node_id: str, url: str) -> dict[str, Any]:
    return {"id": node_id, "plugin": "http-request", "parameters": {"url": url}}


def transform(node_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def if_node(node_id: str, left: str, op: str, right: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "plugin": "if",
        "parameters": {"condition": {"left": left, "op": op, "right": right}},
    }


def statuses(result: Any) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


def offloaded(aws: LocalAWS) -> int:
    return len(aws.client("s3").list_objects_v2(Bucket="payloads").get("Contents", []))


def test_a_choice_on_a_field_of_an_offloaded_output_takes_the_right_branch(
    aws: LocalAWS, http: Recorder
) -> None:
    url = http.respond("/status", (200, {"status": "ready", "pad": "x" * 300_000}))
    doc = routine(
        fetch_node("fetch", url),
        if_node("ready", "{{ nodes.fetch.body.status }}", "eq", "ready"),
        transform("yes", {"r": "yes"}),
        transform("no", {"r": "no"}),
        connections=[link("fetch", "ready"), link("ready", "yes", "true"), link("ready", "no", "false")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert statuses(result)["yes"] == "succeeded" and statuses(result)["no"] == "skipped"
    assert offloaded(aws) == 1
    # Native Choice, no evaluator: the reference kept the field the Choice reads.
    assert not any("large value" in str(e.get("stateEnteredEventDetails", {})) for e in result.history)


def test_a_choice_on_a_large_value_asks_the_evaluator(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/big", (200, {"text": "ab" * 150_000, "n": 1}))
    doc = routine(
        fetch_node("fetch", url),
        if_node("starts", "{{ nodes.fetch.body.text }}", "startsWith", "abab"),
        transform("yes", {"r": "yes"}),
        transform("no", {"r": "no"}),
        connections=[link("fetch", "starts"), link("starts", "yes", "true"), link("starts", "no", "false")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert statuses(result)["yes"] == "succeeded" and statuses(result)["no"] == "skipped"
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e
    ]
    assert "starts (offloaded)" in entered, "a value too large to keep inline is decided by the evaluator"


def test_ten_outputs_of_30_kb_accumulate_without_exceeding_the_limit(aws: LocalAWS, http: Recorder) -> None:
    nodes = []
    for i in range(10):
        url = http.respond(f"/part{i}", (200, {"i": i, "pad": "y" * 30_000}))
        nodes.append(fetch_node(f"f{i}", url))
    reads = {f"v{i}": f"{{{{ nodes.f{i}.body.i }}}}" for i in range(10)}
    reads["pad"] = "{{ nodes.f9.body.pad }}"
    nodes.append(transform("all", reads))
    chain = [link(f"f{i}", f"f{i + 1}") for i in range(9)] + [link("f9", "all")]
    result = run_routine(aws, routine(*nodes, connections=chain))
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["all"]["output"] == {**{f"v{i}": i for i in range(10)}, "pad": "y" * 30_000}


def test_a_loop_of_100_results_of_20_kb(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 10},
        },
        transform("row", {"i": "{{ loop.item }}", "pad": "{{ trigger.pad }}"}),
        transform("after", {"first": "{{ nodes.each[0].i }}", "last": "{{ nodes.each[99].i }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = run_routine(aws, doc, {"items": list(range(100)), "pad": "z" * 20_000})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["after"]["output"] == {"first": 0, "last": 99}
    rows = result.nodes["row"]["output"]  # each iteration's result, loaded from S3
    assert [row["i"] for row in rows] == list(range(100))
    assert all(row["pad"] == "z" * 20_000 for row in rows)


def test_a_5_mb_response_read_field_by_field(aws: LocalAWS, http: Recorder) -> None:
    rows = [{"id": i, "text": "t" * 500} for i in range(10_000)]  # ~5 MB
    url = http.respond("/rows", (200, {"rows": rows, "count": len(rows)}))
    doc = routine(
        fetch_node("fetch", url),
        transform("first", {"id": "{{ nodes.fetch.body.rows[0].id }}"}),
        transform(
            "last", {"id": "{{ nodes.fetch.body.rows[9999].id }}", "n": "{{ nodes.fetch.body.count }}"}
        ),
        connections=[link("fetch", "first"), link("first", "last")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["first"]["output"] == {"id": 0}
    assert result.nodes["last"]["output"] == {"id": 9999, "n": 10_000}


def test_a_switch_on_a_field_of_a_300_kb_output(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/order", (200, {"state": "shipped", "items": ["w" * 1000] * 300}))
    doc = routine(
        fetch_node("fetch", url),
        {
            "id": "route",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {
                        "port": "open",
                        "condition": {"left": "{{ nodes.fetch.body.state }}", "op": "eq", "right": "open"},
                    },
                    {
                        "port": "shipped",
                        "condition": {"left": "{{ nodes.fetch.body.state }}", "op": "eq", "right": "shipped"},
                    },
                ]
            },
        },
        transform("o", {"r": "open"}),
        transform("s", {"r": "shipped"}),
        transform("d", {"r": "default"}),
        connections=[
            link("fetch", "route"),
            link("route", "o", "open"),
            link("route", "s", "shipped"),
            link("route", "d", "default"),
        ],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert {n: s for n, s in statuses(result).items() if n in "osd"} == {
        "o": "skipped",
        "s": "succeeded",
        "d": "skipped",
    }


def test_a_loop_over_2000_small_items(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 40},
        },
        transform("double", {"v": "{{ loop.item }}"}),
        transform("after", {"first": "{{ nodes.each[0].v }}", "last": "{{ nodes.each[1999].v }}"}),
        connections=[link("each", "double", "body"), link("each", "after", "done")],
    )
    result = run_routine(aws, doc, {"items": list(range(2000))})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["after"]["output"] == {"first": 0, "last": 1999}
    assert result.nodes["double"]["runs"] == 2000


def test_a_long_loop_inside_a_loop_sees_the_outer_data_and_numbers_its_iterations(aws: LocalAWS) -> None:
    doc = routine(
        transform("pre", {"tag": "T"}),
        {"id": "rows", "plugin": "loop", "parameters": {"items": "{{ trigger.rows }}", "maxConcurrency": 2}},
        {"id": "cells", "plugin": "loop", "parameters": {"items": "{{ loop.item }}", "maxConcurrency": 40}},
        transform(
            "cell",
            {"v": "{{ loop.item }}", "at": "{{ loop.index }}", "tag": "{{ nodes.pre.tag }}", "p": "p" * 150},
        ),
        transform("count", {"last": "{{ nodes.cells[999].v }}", "n": "{{ nodes.cells[0].tag }}"}),
        transform("after", {"rows": "{{ nodes.rows }}"}),
        connections=[
            link("pre", "rows"),
            link("rows", "cells", "body"),
            link("cells", "cell", "body"),
            link("cells", "count", "done"),
            link("rows", "after", "done"),
        ],
    )
    rows = [list(range(1000)), list(range(1000, 2000))]  # a trigger kept inline (< 64 KiB)
    result = run_routine(aws, doc, {"rows": rows})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["after"]["output"] == {"rows": [{"last": 999, "n": "T"}, {"last": 1999, "n": "T"}]}
    cells = result.nodes["cell"]
    assert cells["runs"] == 2000
    assert [c["v"] for c in cells["output"]] == rows[0] + rows[1]  # ordered by iteration "row.cell"
    assert [c["at"] for c in cells["output"]] == list(range(1000)) * 2


def test_a_failing_iteration_fails_a_distributed_loop_as_on_aws(aws: LocalAWS) -> None:
    # moto reported a distributed Map run with failed children as succeeded (the loop went
    # on, or its results' collection failed on a missing chunk); functions/local/map_runs
    # fails it with States.ExceedToleratedFailureThreshold, as AWS does.
    doc = routine(
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}", "mode": "distributed"},
        },
        if_node("bad", "{{ loop.item }}", "eq", 3),
        {"id": "f", "plugin": "http-request", "parameters": {"url": "http://127.0.0.1:1/{{ loop.item }}"}},
        transform("ok", {"v": "{{ loop.item }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("each", "bad", "body"),
            link("bad", "f", "true"),
            link("bad", "ok", "false"),
            link("each", "after", "done"),
        ],
    )
    result = run_routine(aws, doc, {"items": list(range(500))})
    assert result.status == "FAILED"
    assert result.error == "States.ExceedToleratedFailureThreshold"
    assert statuses(result)["after"] == "skipped"


def test_the_tolerated_failure_threshold() -> None:
    assert not exceeded(0, 10, 0, 0.0)
    assert exceeded(1, 10, 0, 0.0)
    assert not exceeded(2, 10, 2, 0.0) and exceeded(3, 10, 2, 0.0)
    assert not exceeded(3, 10, 0, 30.0) and exceeded(4, 10, 0, 30.0)


def test_a_choice_on_a_loop_result_stored_in_s3_takes_the_right_branch(aws: LocalAWS) -> None:
    # Each result over 256 bytes is a reference inside the loop's list: a native Choice
    # compared the reference (found by the adversarial pass); the evaluator loads it.
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        {"id": "row", "plugin": "static-data", "parameters": {"data": "{{ loop.item }}"}},
        if_node("chk", "{{ nodes.each[1] }}", "eq", "s" * 299 + "1"),
        transform("yes", {"r": "yes"}),
        transform("no", {"r": "no"}),
        connections=[
            link("each", "row", "body"),
            link("each", "chk", "done"),
            link("chk", "yes", "true"),
            link("chk", "no", "false"),
        ],
    )
    result = run_routine(aws, doc, {"items": ["s" * 299 + str(i) for i in range(3)]})
    assert result.status == "SUCCEEDED", result.cause
    assert statuses(result)["yes"] == "succeeded" and statuses(result)["no"] == "skipped"


def test_an_index_followed_by_a_field_is_read_as_on_aws(aws: LocalAWS) -> None:
    # moto answers $.a[1].x with [5] where AWS gives 5: such paths go to the evaluator.
    doc = routine(
        {"id": "src", "plugin": "static-data", "parameters": {"data": {"list": [{"x": 0}, {"x": 5}]}}},
        if_node("chk", "{{ nodes.src.list[1].x }}", "eq", 5),
        transform("yes", {"r": "yes"}),
        transform("no", {"r": "no"}),
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.groups[0].items }}"}},
        transform("row", {"v": "{{ loop.item }}"}),
        connections=[
            link("src", "chk"),
            link("chk", "yes", "true"),
            link("chk", "no", "false"),
            link("yes", "each"),
            link("each", "row", "body"),
        ],
    )
    result = run_routine(aws, doc, {"groups": [{"items": [1, 2, 3]}]})
    assert result.status == "SUCCEEDED", result.cause
    assert statuses(result)["yes"] == "succeeded"
    assert result.nodes["each"]["output"] == [{"v": 1}, {"v": 2}, {"v": 3}]


def test_a_short_list_whose_results_are_read_on(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        transform("row", {"i": "{{ loop.item }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = run_routine(aws, doc, {"items": [1, 2, 3]})
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["after"]["output"] == {"all": [{"i": 1}, {"i": 2}, {"i": 3}]}


def test_a_1_mb_trigger_is_read_transparently(aws: LocalAWS) -> None:
    trigger = {"kind": "bulk", "blob": "q" * 1_000_000}
    doc = routine(
        if_node("bulk", "{{ trigger.kind }}", "eq", "bulk"),
        transform("size", {"blob": "{{ trigger.blob }}", "kind": "{{ trigger.kind }}"}),
        connections=[link("bulk", "size", "true")],
    )
    result = run_routine(aws, doc, trigger)
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["size"]["output"] == trigger


def test_a_wait_on_a_value_of_a_large_trigger_asks_the_evaluator(aws: LocalAWS) -> None:
    # The stored trigger keeps its smallest top-level fields inline: 'config' is too large,
    # so the Wait could not read config.delay from the document; the evaluator does.
    doc = routine(
        {"id": "nap", "plugin": "wait", "parameters": {"seconds": "{{ trigger.config.delay }}"}},
        transform("after", {"done": True}),
        connections=[link("nap", "after")],
    )
    for trigger in ({"config": {"delay": 0, "blob": "q" * 100_000}}, {"config": {"delay": 0}}):
        result = run_routine(aws, doc, trigger)
        assert result.status == "SUCCEEDED", result.cause
        assert statuses(result) == {"nap": "succeeded", "after": "succeeded"}
        entered = {
            e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e
        }
        assert "nap (value)" in entered


@pytest.mark.parametrize(
    ("parameters", "trigger", "message"),
    [
        ({"seconds": "{{ trigger.secs }}"}, {}, "'seconds' must be a non-negative number, got None"),
        (
            {"seconds": "{{ trigger.secs }}"},
            {"secs": "5"},
            "'seconds' must be a non-negative number, got '5'",
        ),
        ({"until": "{{ trigger.at }}"}, {"at": "tomorrow"}, "'until' must be an ISO 8601 timestamp"),
        ({"until": "{{ trigger.at }}"}, {"at": "2026-01-01T00:00:00"}, "with a time zone"),
    ],
)
def test_a_wait_on_a_missing_or_wrong_value_fails_with_a_typed_error(
    aws: LocalAWS, parameters: dict[str, Any], trigger: dict[str, Any], message: str
) -> None:
    # A Wait state on such a value fails with States.Runtime, which no Catch can route.
    doc = routine({"id": "nap", "plugin": "wait", "parameters": parameters})
    result = run_routine(aws, doc, trigger)
    assert result.status == "FAILED"
    assert result.error == "Routines.UserError" and message in (result.cause or "")


def test_a_parallel_of_three_200_kb_branches(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", {"pad": "{{ trigger.pad }}", "k": "a"}),
        transform("b", {"pad": "{{ trigger.pad }}", "k": "b"}),
        transform("c", {"pad": "{{ trigger.pad }}", "k": "c"}),
        {"id": "join", "plugin": "merge"},
        transform(
            "after",
            {
                "k": ["{{ nodes.a.k }}", "{{ nodes.b.k }}", "{{ nodes.c.k }}"],
                "pads": "{{ nodes.join }}",
            },
        ),
        connections=[link("a", "join"), link("b", "join"), link("c", "join"), link("join", "after")],
    )
    result = run_routine(aws, doc, {"pad": "p" * 200_000})
    assert result.status == "SUCCEEDED", result.cause
    assert any(e["type"] == "ParallelStateEntered" for e in result.history)
    output = result.nodes["after"]["output"]
    assert output["k"] == ["a", "b", "c"]
    assert output["pads"] == {n: {"pad": "p" * 200_000, "k": n} for n in "abc"}


@pytest.mark.parametrize(
    "execution",
    [
        "standard",  # what the previous (JSONPath) compiler built: the same test, unchanged
        # Inside the Express record-writing wrapper's Parallel, moto re-raised it as
        # States.Runtime with its own ValueError as the cause (functions.local.states_errors).
        "express",
    ],
)
def test_a_data_limit_exceeded_is_reported_plainly(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], execution: str
) -> None:
    # Without the room (a limit far above AWS's), a 300 KB output stays inline and the
    # local runtime fails as AWS would: by name, with a one-line cause, no moto internals.
    monkeypatch.setattr(walk, "VARIABLE_ROOM", 100 * 1024 * 1024)
    doc = {**routine(transform("big", {"pad": "{{ trigger.pad }}"})), "execution": execution}
    result = run_routine(aws, doc, {"pad": "b" * 300_000})
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert result.cause is not None and "size exceeding" in result.cause and len(result.cause) < 300
    assert "Exception=" not in capfd.readouterr().err, "moto's log of the failure stays off stderr"


def test_a_long_chain_runs_with_every_value_passed_on(aws: LocalAWS) -> None:
    result = run_routine(aws, chain(450))  # the previous compiler refused ~430 outputs before it shared slots
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"n449": {"v": 0, "i": 449}}
    assert result.nodes["n300"]["output"] == {"v": 0, "i": 300}


def test_a_node_at_top_level_on_one_path_and_in_a_branch_on_another_keeps_its_own_key(
    aws: LocalAWS,
) -> None:
    # Found by the random-routine property test: on the false path n2 runs in a Parallel
    # branch beside n3, whose copy of the document would have merged n0's value over n2's.
    doc = routine(
        transform("n0", {"id": "n0"}),
        {
            "id": "n1",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.n1 }}", "op": "eq", "right": True}},
        },
        transform("n2", {"id": "n2"}),
        {**transform("n3", {"id": "n3", "saw_n0": "{{ nodes.n0.id }}"}), "disabled": True},
        connections=[link("n0", "n1"), link("n0", "n2"), link("n1", "n2", "true"), link("n1", "n3", "false")],
    )
    for flag in (False, True):
        result = run_routine(aws, doc, {"n1": flag})
        assert result.status == "SUCCEEDED", result.cause
        assert result.output == {"n2": {"id": "n2"}}, flag


def test_sixty_outputs_of_200_kb_fit_the_10_mib_of_variables_in_scope(aws: LocalAWS) -> None:
    # Each output fits a variable (256 KiB), but 60 of them kept at once would be 12 MB:
    # over the 10 MiB all variables in scope may hold (AWS; the local seam checks it). The
    # rooms are cut so that all fit: the larger outputs go to S3 and still read back whole.
    big = "{{ $pad('', 200000, 'x') }}"
    nodes = [transform("n0", {"pad": big})]
    nodes += [
        transform(f"n{i}", {"pad": big, "before": f"{{{{ $length(nodes.n{i - 1}.pad) }}}}"})
        for i in range(1, 60)
    ]
    nodes.append(transform("last", {"first": "{{ $length(nodes.n0.pad) }}", "n58": "{{ nodes.n59.before }}"}))
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(59)] + [link("n59", "last")]
    result = run_routine(aws, routine(*nodes, connections=connections))
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["last"]["output"] == {"first": 200_000, "n58": 200_000}
    assert offloaded(aws) == 60
