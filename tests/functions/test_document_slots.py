"""Document slots (statemachines/slots.py): outputs never live together share a document
key, so a long routine keeps a few outputs, not one per node — and no read ever sees an
output other than the one it names."""

from __future__ import annotations

from functools import partial
from typing import Any

from functions.local import LocalAWS
from functions.local import run_routine as run_any
from statemachines import budget, compiler
from statemachines.options import CompileOptions
from statemachines.slots import Slots
from tests.conftest import link, routine

# The JSONPath emitter's own tests (statemachines/emitter, slots and budget): its machines,
# still selectable with --jsonpath while the JSONata machines replace them (issue #23).
JSONPATH = CompileOptions(query_language="JSONPath")
run_routine = partial(run_any, query_language="JSONPath")
compile_routine = partial(compiler.compile_routine, options=JSONPATH)
validate_for_save = partial(compiler.validate_for_save, options=JSONPATH)


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def chain(length: int) -> dict[str, Any]:
    nodes = [transform("n0", v=0)] + [
        transform(f"n{i}", v=f"{{{{ nodes.n{i - 1}.v }}}}", i=i) for i in range(1, length)
    ]
    return routine(*nodes, connections=[link(f"n{i}", f"n{i + 1}") for i in range(length - 1)])


def keys_written(asl: dict[str, Any]) -> dict[str, str]:
    """Task state → the document key its output goes to (top-level states)."""
    return {
        name: state["ResultPath"]
        for name, state in asl["States"].items()
        if state["Type"] == "Task" and state.get("ResultPath") not in (None, "$")
    }


def test_a_chain_of_1000_nodes_keeps_two_outputs_and_is_not_refused() -> None:
    asl = compile_routine(chain(1000)).asl
    written = keys_written(asl)
    assert len(written) == 999  # the last node's output is the execution's result, built in place
    assert set(written.values()) == {"$.slot_0", "$.slot_1"}
    # Each node reads the slot its predecessor wrote, never the one it writes itself.
    for i in range(1, 999):
        reads = asl["States"][f"n{i}"]["Parameters"]["nodes"]
        assert reads == {f"n{i - 1}.$": written[f"n{i - 1}"]}
        assert written[f"n{i}"] != written[f"n{i - 1}"]
    # Two slots share the budget: far more inline than the 512-byte floor.
    inline = asl["States"]["n500"]["Parameters"]["inlineBytes"]
    assert inline == budget.inline_bytes(2, 1) > 100 * 1024


def test_an_output_read_later_is_not_overwritten() -> None:
    # a is read by d, after b and c ran: b and c may share, a keeps its own key.
    doc = routine(
        transform("a", v="a"),
        transform("b", v="{{ nodes.a.v }}"),
        transform("c", v="{{ nodes.b.v }}"),
        transform("d", v="{{ nodes.c.v }}", first="{{ nodes.a.v }}"),
        transform("e", v="{{ nodes.d.v }}"),
        connections=[link("a", "b"), link("b", "c"), link("c", "d"), link("d", "e")],
    )
    written = keys_written(compile_routine(doc).asl)
    assert written["a"] not in (written["b"], written["c"], written["d"])
    assert written["b"] != written["c"]
    assert written["d"] == written["b"]  # b is dead once c ran


def test_an_output_of_the_execution_result_never_gives_its_slot_up() -> None:
    # Bits: a=1, side=2, b=4, c=8. 'side' is read at the very end (the execution's result).
    slots = Slots(live={"a": 1 | 4, "side": 2, "b": 4 | 8, "c": 8}, forever=frozenset({"side"}))
    assert slots.claim("a", pending=1 | 2 | 4 | 8) == "node_a"
    assert slots.claim("side", pending=2 | 4 | 8) == "node_side"  # a is still read by b
    assert slots.claim("b", pending=4 | 8) == "node_b"  # b reads a: a is live while b runs
    assert slots.claim("c", pending=8) == "node_a"  # a is dead now; side never is
    assert slots.conflicts == set()


def test_a_node_that_cannot_keep_its_slot_on_another_path_is_a_conflict() -> None:
    slots = Slots(live={"x": 1 | 2, "y": 2 | 4}, forever=frozenset())
    assert slots.claim("x", pending=1 | 2) == "node_x"
    assert slots.claim("y", pending=2 | 4) == "node_y"  # x is still read by the node of bit 2
    assert slots.claim("x", pending=1 | 2 | 4) == "node_x"  # x again, on another path: still free
    assert slots.conflicts == set()
    slots.live["z"] = 8
    assert slots.claim("z", pending=8) == "node_x"  # x is dead where z runs: z shares its slot
    slots.claim("x", pending=1 | 8)  # but on another path x runs before z: z would overwrite it
    assert slots.conflicts == {"x"}
    slots.forbid("y")  # y also runs inside a Parallel branch, after taking a slot
    assert slots.conflicts == {"x", "y"}


def test_a_long_chain_runs_with_every_value_passed_on(aws: LocalAWS) -> None:
    result = run_routine(aws, chain(450))  # over the ~430 outputs refused before slots
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"n449": {"v": 0, "i": 449}}
    assert result.nodes["n300"]["output"] == {"v": 0, "i": 300}


def test_a_node_at_top_level_on_one_path_and_in_a_branch_on_another_keeps_its_own_key(
    aws: LocalAWS,
) -> None:
    # Found by the random-routine property test: on the false path n2 runs in a Parallel
    # branch beside n3, whose copy of the document would have merged n0's value over n2's.
    doc = routine(
        transform("n0", id="n0"),
        {
            "id": "n1",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.n1 }}", "op": "eq", "right": True}},
        },
        transform("n2", id="n2"),
        {**transform("n3", id="n3", saw_n0="{{ nodes.n0.id }}"), "disabled": True},
        connections=[link("n0", "n1"), link("n0", "n2"), link("n1", "n2", "true"), link("n1", "n3", "false")],
    )
    for flag in (False, True):
        result = run_routine(aws, doc, {"n1": flag})
        assert result.status == "SUCCEEDED", result.cause
        assert result.output == {"n2": {"id": "n2"}}, flag


def test_a_routine_keeping_too_many_outputs_at_once_is_refused_at_save_time() -> None:
    # Every output of a 500-node chain is read by the last node: all are live together.
    doc = chain(500)
    doc["nodes"][-1]["parameters"]["fields"].update({f"f{i}": f"{{{{ nodes.n{i}.v }}}}" for i in range(499)})
    report = validate_for_save(doc)
    assert [(p.code, p.path) for p in report.errors] == [("limit_exceeded", "")]
    assert "keeps 500 node outputs in its state document at once" in report.errors[0].message
