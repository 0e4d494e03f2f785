"""Liveness (issue #23): a node's variable is set to null by its last reader, so the history
and the 10 MiB of variables in scope hold only outputs someone still reads — and clearing
never takes a value from a node that reads it later, on any path."""

from __future__ import annotations

from typing import Any

from functions.local import LocalAWS, run_routine
from statemachines.compiler import compile_routine
from tests.conftest import link, routine


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields or {"at": node_id}}}


def states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a machine, nested ones too, by name."""
    out: dict[str, dict[str, Any]] = {}
    for name, state in asl["States"].items():
        out[name] = state
        for branch in state.get("Branches", []):
            out.update(states(branch))
        if "ItemProcessor" in state:
            out.update(states(state["ItemProcessor"]))
    return out


def starts(asl: dict[str, Any]) -> set[str]:
    out = {asl["StartAt"]}
    for state in asl["States"].values():
        for scope in [
            *state.get("Branches", []),
            *([state["ItemProcessor"]] if "ItemProcessor" in state else []),
        ]:
            out |= starts(scope)
    return out


def cleared(asl: dict[str, Any]) -> dict[str, set[str]]:
    """State → the node outputs its Assign sets to null, but for every scope's first state
    (its nulls are for nodes that may not run, before anything ran). The compiler's own
    variables (``_…``: a loop's list read back from S3, counts) are left out."""
    out: dict[str, set[str]] = {}
    first = starts(asl)
    for name, state in states(asl).items():
        nulls = {k for k, v in (state.get("Assign") or {}).items() if v is None and not k.startswith("_")}
        if nulls and name not in first:
            out[name] = nulls
    return out


def first_nulls(asl: dict[str, Any], first: str) -> set[str]:
    """The variables the routine's first state sets to null before anything ran."""
    assign = states(asl)[first].get("Assign") or {}
    return {k for k, v in assign.items() if v is None}


def exit_assignments(history: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    return [
        e["stateExitedEventDetails"].get("assignedVariables") or {}
        for e in history
        if e.get("stateExitedEventDetails", {}).get("name") == state
    ]


def test_in_a_chain_each_output_is_cleared_by_the_node_that_reads_it(aws: LocalAWS) -> None:
    doc = routine(
        transform("a", v=1),
        transform("b", v="{{ nodes.a.v + 1 }}"),
        transform("c", v="{{ nodes.b.v + 1 }}", first="{{ nodes.a.v }}"),
        transform("d", v="{{ nodes.c.v + 1 }}"),
        connections=[link("a", "b"), link("b", "c"), link("c", "d")],
    )
    asl = compile_routine(doc).asl
    # a is read by b and c: c reads it last; d, the result, is never cleared.
    assert {k: v for k, v in cleared(asl).items() if k in "abcd"} == {"c": {"a", "b"}, "d": {"c"}}
    # Each node runs before its readers on every path: only the result is set to null first.
    assert first_nulls(asl, "a") == {"d"}
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"d": {"v": 4}}
    assert result.nodes["c"]["output"] == {"v": 3, "first": 1}
    assert result.nodes["a"]["output"] == {"v": 1}, "the trace reads a node's output where it was assigned"
    (assigned,) = exit_assignments(result.history, "c")
    assert assigned["a"] == "null" and assigned["b"] == "null"


def test_exclusive_readers_do_not_clear_what_the_other_branch_reads(aws: LocalAWS) -> None:
    doc = routine(
        transform("src", v=7),
        {
            "id": "which",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.left }}", "op": "eq", "right": True}},
        },
        transform("left", saw="{{ nodes.src.v }}"),
        transform("right", saw="{{ nodes.src.v * 2 }}"),
        {"id": "join", "plugin": "merge"},
        transform("after", x="{{ nodes.src.v }}", picked="{{ nodes.join }}"),
        connections=[
            link("src", "which"),
            link("which", "left", "true"),
            link("which", "right", "false"),
            link("left", "join"),
            link("right", "join"),
            link("join", "after"),
        ],
    )
    asl = compile_routine(doc).asl
    clears = cleared(asl)
    assert "left" not in clears and "right" not in clears
    assert clears["after"] == {"src", "left", "right"}
    # left and right may not run before after reads them; src always has.
    assert first_nulls(asl, "src") == {"left", "right", "after"}
    for flag, picked in ((True, {"left": {"saw": 7}}), (False, {"right": {"saw": 14}})):
        result = run_routine(aws, doc, {"left": flag})
        assert result.status == "SUCCEEDED", result.cause
        assert result.output == {"after": {"x": 7, "picked": picked}}


def test_what_a_loop_reads_is_cleared_by_the_loop_and_an_until_loop_clears_nothing(aws: LocalAWS) -> None:
    doc = routine(
        transform("rows", items=[1, 2, 3], factor=10),
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.rows.items }}"}},
        transform("line", v="{{ loop.item * nodes.rows.factor }}"),
        transform("sum", total="{{ $sum(nodes.each.v) }}"),
        connections=[link("rows", "each"), link("each", "line", "body"), link("each", "sum", "done")],
    )
    asl = compile_routine(doc).asl
    assert cleared(asl)["each"] == {"rows"}
    assert "line" not in cleared(asl), "an iteration cannot assign an outer variable"
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"sum": {"total": 60}}

    repeat = routine(
        transform("start", step=2),
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.previous.n }}", "op": "gte", "right": 6},
                "maxIterations": 10,
            },
        },
        transform("grow", n="{{ (loop.previous.n ? loop.previous.n : 0) + nodes.start.step }}"),
        transform("end", n="{{ nodes.again[-1].n }}"),
        connections=[link("start", "again"), link("again", "grow", "body"), link("again", "end", "done")],
    )
    asl = compile_routine(repeat).asl
    assert not any("start" in names for names in cleared(asl).values())
    result = run_routine(aws, repeat)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"end": {"n": 6}}


def test_the_outputs_a_merge_in_the_result_joins_are_kept_to_the_end(aws: LocalAWS) -> None:
    # Found by the random-routine property test: n1 reads n0 last, but the execution's
    # result is the merge n2, which joins n0's output with n1's.
    doc = routine(
        transform("n0", id="n0"),
        transform("n1", id="n1", saw_n0="{{ nodes.n0.id }}"),
        {"id": "n2", "plugin": "merge"},
        connections=[link("n0", "n1"), link("n0", "n2"), link("n1", "n2")],
    )
    assert not cleared(compile_routine(doc).asl)
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"n2": {"n0": {"id": "n0"}, "n1": {"id": "n1", "saw_n0": "n0"}}}
