"""DESIGN §3-4 in the corners (issue #9): errors inside loops, merge outputs, disabled
nodes, ``stop`` anywhere, failed loops, and the execution's result — executed on the local
runtime, so what is asserted is what a user sees."""

from __future__ import annotations

import json
from typing import Any

from functions.local import LocalAWS, run_routine
from statemachines.compiler import compile_routine
from tests.conftest import ROOT, link, routine
from tests.functions.conftest import Recorder


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def if_node(node_id: str, flag: str) -> dict[str, Any]:
    condition = {"left": f"{{{{ trigger.{flag} }}}}", "op": "eq", "right": True}
    return {"id": node_id, "plugin": "if", "parameters": {"condition": condition}}


def stop(node_id: str, status: str, **parameters: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "stop", "parameters": {"status": status, **parameters}}


def statuses(result: Any) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


# --- #9.1: onError continue inside a loop body ---------------------------------------------


def test_continue_inside_a_loop_gives_error_records_without_stack_traces(
    aws: LocalAWS, http: Recorder
) -> None:
    http.respond("/item/1", (200, {"ok": 1}))
    http.respond("/item/2", (404, {"error": "gone"}))
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.ids }}"}},
        {
            "id": "call",
            "plugin": "http-request",
            "parameters": {"url": http.base + "/item/{{ loop.item }}"},
            "onError": "continue",
        },
        transform("after", {"message": "{{ nodes.each[1].error.message }}", "all": "{{ nodes.each }}"}),
        connections=[link("each", "call", "body"), link("each", "after", "done")],
    )
    result = run_routine(aws, doc, {"ids": [1, 2]})
    assert result.status == "SUCCEEDED"
    message = f"GET {http.base}/item/2 answered 404"
    failed = {"error": {"type": "Routines.HttpClientError", "message": message}}
    iterations = result.nodes["each"]["output"]
    assert iterations[0]["status"] == 200 and iterations[1] == failed
    after = result.nodes["after"]["output"]
    assert after["message"] == failed["error"]["message"]
    assert after["all"][1] == failed
    user_data = json.dumps([result.nodes, result.output])
    assert "stackTrace" not in user_data and "Traceback" not in user_data and ".py" not in user_data


def test_continue_at_the_end_of_a_routine_gives_an_error_record_as_result(
    aws: LocalAWS, http: Recorder
) -> None:
    url = http.respond("/down", (400, "bad"))
    doc = routine({"id": "call", "plugin": "http-request", "parameters": {"url": url}, "onError": "continue"})
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert result.output == {
        "call": {"error": {"type": "Routines.HttpClientError", "message": f"GET {url} answered 400"}}
    }


# --- #9.3: merge output ----------------------------------------------------------------------


def _merge_after_if() -> dict[str, Any]:
    return routine(
        if_node("check", "yes"),
        transform("yes", {"side": "yes"}),
        transform("no", {"side": "no"}),
        {"id": "m", "plugin": "merge"},
        transform("use", {"seen": "{{ nodes.m }}", "no": "{{ nodes.m.no.side }}"}),
        connections=[
            link("check", "yes", "true"),
            link("check", "no", "false"),
            link("yes", "m"),
            link("no", "m"),
            link("m", "use"),
        ],
    )


def test_merge_outputs_only_the_branches_that_ran(aws: LocalAWS) -> None:
    result = run_routine(aws, _merge_after_if(), {"yes": False})
    assert result.status == "SUCCEEDED"
    assert result.nodes["m"]["output"] == {"no": {"side": "no"}}
    assert result.nodes["use"]["output"] == {"seen": {"no": {"side": "no"}}, "no": "no"}


def test_merge_after_parallel_branches_outputs_both(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", {"v": 1}),
        transform("b", {"v": 2}),
        {"id": "m", "plugin": "merge"},
        transform("use", {"seen": "{{ nodes.m }}"}),
        connections=[link("a", "m"), link("b", "m"), link("m", "use")],
    )
    result = run_routine(aws, doc)
    assert result.nodes["m"]["output"] == {"a": {"v": 1}, "b": {"v": 2}}
    assert result.nodes["use"]["output"] == {"seen": {"a": {"v": 1}, "b": {"v": 2}}}


# --- #10: a merge as the last node of a loop body ---------------------------------------------


def test_a_merge_can_end_a_loop_body(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item }}", "op": "gt", "right": 5}},
        },
        transform("large", {"n": "{{ loop.item }}"}),
        transform("small", {"n": "{{ loop.item }}"}),
        {"id": "row", "plugin": "merge"},
        connections=[
            link("each", "big", "body"),
            link("big", "large", "true"),
            link("big", "small", "false"),
            link("large", "row"),
            link("small", "row"),
        ],
    )
    result = run_routine(aws, doc, {"items": [3, 9]})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.nodes["each"]["output"] == [{"small": {"n": 3}}, {"large": {"n": 9}}]


def test_the_loop_over_items_example_runs(aws: LocalAWS) -> None:
    doc = json.loads((ROOT / "examples" / "loop-over-items.json").read_text())
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.nodes["row"]["status"] == "succeeded"
    rows = result.nodes["each"]["output"]
    assert [next(iter(row)) for row in rows] == ["reduced", "reduced", "standard"]


# --- #9.4: disabled nodes ----------------------------------------------------------------------


def test_a_disabled_node_reads_as_null_and_passes_activation_on(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", {"v": 1}),
        transform("off", {"v": 2}, disabled=True),
        transform("b", {"from": "{{ nodes.off }}", "before": "{{ nodes.a.v }}"}),
        connections=[link("a", "off"), link("off", "b")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert statuses(result) == {"a": "succeeded", "off": "skipped", "b": "succeeded"}
    assert result.nodes["b"]["output"] == {"from": None, "before": 1}


def test_a_merge_after_a_disabled_node_runs_in_the_trace(aws: LocalAWS) -> None:
    # The merge compiles to no state: the trace infers it ran from the disabled node's
    # passed-on activation (found by the random-payload property test).
    doc = routine(
        transform("a", {"v": 1}),
        transform("off", {"v": 2}, disabled=True),
        {"id": "joined", "plugin": "merge"},
        connections=[link("a", "off"), link("off", "joined")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert statuses(result) == {"a": "succeeded", "off": "skipped", "joined": "succeeded"}
    assert result.nodes["joined"]["output"] == {}


def test_a_merge_behind_a_disabled_nodes_other_port_in_a_branch_is_not_in_the_result(aws: LocalAWS) -> None:
    # A disabled if passes activation on through 'false' only: the merge behind its 'true'
    # port cannot run, also after the Parallel joining its branch (found by the random test).
    doc = routine(
        transform("a", {"v": 1}),
        {
            "id": "off",
            "plugin": "if",
            "parameters": {"condition": {"left": 1, "op": "eq", "right": 1}},
            "disabled": True,
        },
        transform("side", {"v": 2}),
        {"id": "joined", "plugin": "merge"},
        connections=[link("a", "off"), link("a", "side"), link("off", "joined", "true")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert statuses(result)["joined"] == "skipped"
    assert result.output == {"side": {"v": 2}}


def test_a_merge_behind_an_if_in_a_branch_runs_in_parallel_and_the_result_is_right(aws: LocalAWS) -> None:
    # Whether 'joined' (behind the if's true port only) ran is the if's port, which its
    # Choice records in a variable: the two branches run in one Parallel.
    doc = routine(
        transform("a", {"v": 1}),
        {
            "id": "check",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.go }}", "op": "eq", "right": True}},
        },
        transform("side", {"v": 2}),
        {"id": "joined", "plugin": "merge"},
        connections=[link("a", "check"), link("a", "side"), link("check", "joined", "true")],
    )
    for go, expected in ((False, {"side": {"v": 2}}), (True, {"side": {"v": 2}, "joined": {}})):
        result = run_routine(aws, doc, {"go": go})
        assert result.status == "SUCCEEDED"
        assert result.output == expected, go
    compiled = compile_routine(doc)
    assert compiled.report["warnings"] == []
    assert any(state["Type"] == "Parallel" for state in compiled.asl["States"].values())


# --- #9.5: stop ends the whole execution ------------------------------------------------------


def _stop_in_a_branch(status: str) -> dict[str, Any]:
    params = {"error": "Halted", "cause": "branch said so"} if status == "fail" else {}
    return routine(
        transform("start", {"v": 1}),
        transform("left", {"v": 2}),
        stop("halt", status, **params),
        {"id": "nap", "plugin": "wait", "parameters": {"seconds": 1}},
        transform("right", {"v": 3}),
        transform("after", {"v": 4}),
        connections=[
            link("start", "left"),
            link("left", "halt"),
            link("start", "nap"),
            link("nap", "right"),
            link("right", "after"),
        ],
    )


def test_stop_succeed_in_a_parallel_branch_ends_the_execution(aws: LocalAWS) -> None:
    result = run_routine(aws, _stop_in_a_branch("succeed"))
    assert result.status == "SUCCEEDED"
    assert result.nodes["halt"]["status"] == "succeeded"
    assert result.nodes["after"]["status"] == "skipped", "the sibling branch must be cancelled"


def test_stop_fail_in_a_parallel_branch_fails_the_execution(aws: LocalAWS) -> None:
    result = run_routine(aws, _stop_in_a_branch("fail"))
    assert (result.status, result.error, result.cause) == ("FAILED", "Halted", "branch said so")
    assert result.nodes["halt"]["status"] == "failed"
    assert result.nodes["after"]["status"] == "skipped"


def test_stop_inside_a_loop_body_ends_the_execution(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        {
            "id": "bad",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item }}", "op": "lt", "right": 0}},
        },
        stop("halt", "fail", error="Negative", cause="an item was negative"),
        transform("ok", {"n": "{{ loop.item }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("each", "bad", "body"),
            link("bad", "halt", "true"),
            link("bad", "ok", "false"),
            link("each", "after", "done"),
        ],
    )
    result = run_routine(aws, doc, {"items": [1, -1, 2]})
    assert (result.status, result.error, result.cause) == ("FAILED", "Negative", "an item was negative")
    assert result.nodes["after"]["status"] == "skipped"
    succeeded = run_routine(aws, doc, {"items": [1, 2]})
    assert succeeded.status == "SUCCEEDED"
    assert succeeded.output == {"after": {"all": [{"n": 1}, {"n": 2}]}}


# --- #9.8: a failed loop -------------------------------------------------------------------------


def test_a_loop_over_a_string_fails_with_an_error_a_user_understands(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        transform("body", {"n": "{{ loop.item }}"}),
        connections=[link("each", "body", "body")],
    )
    result = run_routine(aws, doc, {"items": "abc"})
    assert result.status == "FAILED"
    each = result.nodes["each"]
    assert each["status"] == "failed"
    message = "loop items must be a list; got a string"
    assert each["error"] == {"type": "Routines.UserError", "message": message}
    assert "class" not in json.dumps(result.nodes)
    empty = run_routine(aws, doc, {"items": []})
    assert empty.status == "SUCCEEDED" and empty.nodes["each"]["output"] == []


def test_a_failed_loop_under_continue_reads_as_an_error_record(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}"},
            "onError": "continue",
        },
        transform("body", {"n": "{{ loop.item }}"}),
        transform("after", {"e": "{{ nodes.each.error.message }}"}),
        connections=[link("each", "body", "body"), link("each", "after", "done")],
    )
    result = run_routine(aws, doc, {"items": {"not": "a list"}})
    assert result.status == "SUCCEEDED"
    assert result.nodes["after"]["output"] == {"e": "loop items must be a list; got an object"}


# --- DESIGN §3: the execution's result --------------------------------------------------------


def test_the_result_is_the_outputs_of_the_last_nodes_that_ran(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", {"v": 1}),
        if_node("check", "yes"),
        transform("yes", {"side": "yes"}),
        transform("also", {"w": "{{ nodes.a.v }}"}),
        connections=[link("a", "check"), link("check", "yes", "true"), link("a", "also")],
    )
    result = run_routine(aws, doc, {"yes": True})
    assert result.output == {"yes": {"side": "yes"}, "also": {"w": 1}}
    result = run_routine(aws, doc, {"yes": False})
    assert result.output == {"also": {"w": 1}}


def test_the_result_of_a_chain_costs_no_extra_transition(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", {"v": 1}),
        transform("b", {"v": "{{ nodes.a.v }}"}),
        connections=[link("a", "b")],
    )
    result = run_routine(aws, doc)
    assert result.output == {"b": {"v": 1}}
    assert result.transitions == 2
