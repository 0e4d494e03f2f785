"""ASL building blocks, state naming and liveness: the compiler's pure parts."""

from __future__ import annotations

import pytest

from contract.errors import CompileError
from statemachines.asl import State, StateMachine, render
from statemachines.liveness import reads
from statemachines.naming import Namer
from statemachines.validator import analyse
from tests.conftest import link, node, routine


def machine(**states: State) -> StateMachine:
    return StateMachine(next(iter(states)), dict(states))


def test_fields_are_checked_against_the_state_type() -> None:
    with pytest.raises(CompileError, match="no field"):
        State("Choice", {"Next": "x"})
    with pytest.raises(CompileError, match="unknown state type"):
        State("Loop")


def test_valid_machine_renders_deterministically() -> None:
    m = machine(A=State("Pass", {"Next": "B"}), B=State("Succeed"))
    assert render(m) == render(machine(A=State("Pass", {"Next": "B"}), B=State("Succeed")))
    assert render(m) == '{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}'


@pytest.mark.parametrize(
    "states,message",
    [
        ({"A": State("Pass", {"Next": "Nowhere"})}, "does not exist"),
        ({"A": State("Pass", {"End": True}), "B": State("Succeed")}, "unreachable"),
        ({"A": State("Pass", {})}, "neither Next nor End"),
        ({"A" * 81: State("Succeed")}, "1-80 characters"),
        (
            {
                "A": State(
                    "Parallel",
                    {
                        "End": True,
                        "Branches": [
                            {"StartAt": "X", "States": {"X": State("Pass", {"Next": "Y"}).to_json()}}
                        ],
                    },
                )
            },
            r"Branches\[0\]",
        ),
    ],
)
def test_final_check_refuses_broken_machines(states: dict[str, State], message: str) -> None:
    with pytest.raises(CompileError, match=message):
        render(StateMachine(next(iter(states)), states))


def test_definition_size_is_limited() -> None:
    big = machine(A=State("Pass", {"Output": "x" * (1024 * 1024), "End": True}))
    with pytest.raises(CompileError, match="bytes"):
        render(big)


def test_state_names_are_unique_ignoring_case_and_short() -> None:
    ids = ["fetch", "Fetch", "FETCH", "x" * 64, "Done"]
    namer = Namer(ids)
    assert namer.take("Done") == "Done (2)", "a helper state never takes a node's name"
    names = [namer.take(node_id, node_id) for node_id in ids]
    assert names[0] == "fetch" and names[1] == "Fetch (2)" and names[4] == "Done"
    assert len({n.casefold() for n in names}) == 5
    assert namer.take("fetch", "fetch") == "fetch (4)", "a node compiled twice gets a second name"
    long = Namer(["a" * 64, "A" * 64])
    helpers = [long.take("a" * 90), long.take("a" * 90)]
    assert all(len(n) <= 80 for n in helpers) and len(set(helpers)) == 2


def test_liveness_selects_only_referenced_slices() -> None:
    doc = routine(
        node("a"),
        node("b"),
        {
            "id": "c",
            "plugin": "transform",
            "parameters": {
                "fields": {"x": "{{ nodes.a.v }}", "t": "id {{ trigger.body.id }}", "e": "{{ execution.id }}"}
            },
        },
        connections=[link("a", "b"), link("b", "c")],
    )
    result = analyse(doc)
    assert result.topology is not None
    got = reads(result.topology.infos["c"])
    assert got.nodes == {"a"}
    assert got.roots == {"nodes", "trigger", "execution"}
