"""``merge`` with ``mode: "first"`` (issue #27, statemachines/machine/race.py): parallel branches
race, the first to arrive wins and the others are cancelled — a Parallel whose branches end
by raising ``Routines.First.<merge>``, caught by the Parallel. No Lambda. On the local
runtime (JSONata machines)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.local import LocalAWS
from functions.local.runner import run_routine
from statemachines.compiler import compile_routine, validate_for_save
from statemachines.options import CompileOptions
from tests.asl_validator import Validate

JSONATA = CompileOptions()
SLOW_SECONDS = 5


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def transform(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def race(mode: str | None = "first") -> dict[str, Any]:
    """``ask`` splits into a quick answer (``quick`` → ``checked``) and a slow one (a wait
    of 5 s, then ``late``); ``first`` takes whichever arrives first, ``use`` reads it."""
    merge: dict[str, Any] = {"id": "first", "plugin": "merge"}
    if mode is not None:
        merge["parameters"] = {"mode": mode}
    return {
        "name": "race",
        "trigger": {"type": "manual"},
        "nodes": [
            transform("ask", q="{{ trigger.q }}"),
            transform("quick", answer="{{ nodes.ask.q & '!' }}"),
            transform("checked", ok=True, answer="{{ nodes.quick.answer }}"),
            {"id": "slow", "plugin": "wait", "parameters": {"seconds": SLOW_SECONDS}},
            transform("late", answer="too late"),
            merge,
            transform("use", got="{{ nodes.first }}"),
        ],
        "connections": [
            {"sourceNodeId": "ask", "targetNodeId": "quick"},
            {"sourceNodeId": "ask", "targetNodeId": "slow"},
            {"sourceNodeId": "quick", "targetNodeId": "checked"},
            {"sourceNodeId": "slow", "targetNodeId": "late"},
            {"sourceNodeId": "checked", "targetNodeId": "first"},
            {"sourceNodeId": "late", "targetNodeId": "first"},
            {"sourceNodeId": "first", "targetNodeId": "use"},
        ],
    }


def history_seconds(result: Any) -> float:
    """From the execution's start to its end, as its history says."""
    events = result.history
    return float((events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds())


def test_the_first_branch_wins_and_the_loser_is_cancelled_within_a_second(aws: LocalAWS) -> None:
    began = time.monotonic()
    result = run_routine(aws, race(), {"q": "why"}, timeout=60)
    elapsed = time.monotonic() - began
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    # The wait of 5 s was cancelled: the execution ended well within a second of starting.
    assert history_seconds(result) < 1.0
    assert elapsed < SLOW_SECONDS - 1
    nodes = result.nodes
    assert nodes["slow"]["status"] == "cancelled"
    assert nodes["late"]["status"] == "cancelled"  # never started: its branch lost
    assert nodes["quick"]["status"] == nodes["checked"]["status"] == "succeeded"
    winner = {"checked": {"ok": True, "answer": "why!"}}
    assert nodes["first"] == {**nodes["first"], "status": "succeeded", "output": winner}
    assert result.output == {"use": {"got": winner}}
    # No Lambda for the race: only the transforms that ran were invoked ('late' never did).
    lambdas = [
        e["lambdaFunctionScheduledEventDetails"]["resource"]
        for e in result.history
        if e["type"] == "LambdaFunctionScheduled"
    ]
    assert sum(r.endswith(":routines-transform") for r in lambdas) == 4  # ask, quick, checked, use
    assert nodes["use"]["status"] == "succeeded"


def test_the_winner_is_whichever_arrives_first(aws: LocalAWS) -> None:
    """The same race, the quick branch slowed down past the other: now the wait wins."""
    document = race()
    # slow now waits 1 s: 'quick' (one Lambda) has surely finished by then, however loaded the
    # machine (with 0 s, 'late' could arrive before 'quick' had answered: cancelled).
    document["nodes"][3]["parameters"]["seconds"] = 1
    document["nodes"].append({"id": "hold", "plugin": "wait", "parameters": {"seconds": SLOW_SECONDS}})
    document["connections"] = [c for c in document["connections"] if c["targetNodeId"] != "checked"]
    document["connections"] += [
        {"sourceNodeId": "quick", "targetNodeId": "hold"},
        {"sourceNodeId": "hold", "targetNodeId": "checked"},
    ]
    result = run_routine(aws, document, {"q": "x"}, timeout=60)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert history_seconds(result) < SLOW_SECONDS - 2  # not after the 5 s hold
    assert result.nodes["hold"]["status"] == "cancelled"
    assert result.nodes["checked"]["status"] == "cancelled"
    assert result.nodes["quick"]["status"] == "succeeded"  # it had finished before the end
    assert result.output == {"use": {"got": {"late": {"answer": "too late"}}}}


def test_a_merge_waits_for_every_branch_by_default(aws: LocalAWS) -> None:
    document = race(mode=None)
    document["nodes"][3]["parameters"]["seconds"] = 1
    result = run_routine(aws, document, {"q": "q"}, timeout=60)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert history_seconds(result) >= 1.0
    assert set(result.output["use"]["got"]) == {"checked", "late"}
    assert "Routines.First" not in json.dumps(compile_routine(race(mode="all"), options=JSONATA).asl)


def test_a_race_is_a_parallel_catching_the_winners_error(asl_validator: Validate) -> None:
    compiled = compile_routine(race())  # JSONPath asked: only the JSONata compiler has it
    asl = compiled.asl
    assert asl["QueryLanguage"] == "JSONata"
    [parallel] = [
        s for s in _states(asl) if s["Type"] == "Parallel" and "Routines.First" in json.dumps(s["Catch"])
    ]
    catch = parallel["Catch"][-1]
    assert catch["ErrorEquals"] == ["Routines.First.first"]
    assert set(catch["Assign"]) == {"quick", "checked", "late"}  # what each branch assigned
    ends = [
        state
        for branch in parallel["Branches"]
        for state in branch["States"].values()
        if state["Type"] == "Fail"
    ]
    assert [e["Error"] for e in ends] == ["Routines.First.first"] * 2
    assert ends[0]["Cause"] == "{% $string({'quick': $quick, 'checked': $checked}) %}"
    # The outputs a branch hands back travel in a Cause (≤ 32,768 characters): their share.
    args = parallel["Branches"][0]["States"]["checked"]["Arguments"]
    assert args["inlineBytes"] <= 30_000
    assert compiled.report["lambdaTasks"] == 5  # the five transforms, nothing for the race
    [checked] = asl_validator([asl])
    assert checked.ok and not checked.warnings, checked.describe()


def _states(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """Every state, in branches too (an Express machine's records wrap the routine)."""
    out = []
    for state in machine["States"].values():
        out.append(state)
        for branch in state.get("Branches", []):
            out += _states(branch)
    return out


def _with(
    document: dict[str, Any], *nodes: dict[str, Any], connections: list[tuple[str, str, str]]
) -> dict[str, Any]:
    document["nodes"] += list(nodes)
    document["connections"] += [
        {"sourceNodeId": s, "sourcePort": p, "targetNodeId": t} for s, p, t in connections
    ]
    return document


def _errors(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e.code, e.path) for e in validate_for_save(document).errors]


def test_mode_is_all_or_first() -> None:
    assert ("invalid_parameter", "nodes[first].parameters.mode") in _errors(race(mode="any"))


def test_a_first_merge_needs_two_branches() -> None:
    document = race()
    document["connections"] = [c for c in document["connections"] if c["sourceNodeId"] != "late"]
    assert ("invalid_parameter", "nodes[first].parameters.mode") in _errors(document)


def test_a_branch_through_an_if_port_is_not_in_a_race() -> None:
    document = race()
    document["connections"] = [c for c in document["connections"] if c["targetNodeId"] != "first"]
    _with(
        document,
        {"id": "gate", "plugin": "if", "parameters": {"condition": {"left": 1, "op": "eq", "right": 1}}},
        connections=[("checked", "out", "first"), ("late", "out", "gate"), ("gate", "true", "first")],
    )
    assert _errors(document) == [("invalid_parameter", "nodes[first].parameters.mode")]


def test_a_branch_that_may_not_arrive_races_on(aws: LocalAWS) -> None:
    """An if inside a branch (WCP-16, tests/statemachines/test_deferred_choice.py): its
    false port, left unconnected, ends the branch without arriving; the other branch wins
    however late it comes."""
    document = race()
    document["nodes"][3]["parameters"]["seconds"] = 1
    document["connections"] = [c for c in document["connections"] if c["targetNodeId"] != "checked"]
    _with(
        document,
        {
            "id": "gate",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.fast }}", "op": "eq", "right": True}},
        },
        connections=[("quick", "out", "gate"), ("gate", "true", "checked")],
    )
    assert _errors(document) == []
    result = run_routine(aws, document, {"q": "q", "fast": False}, timeout=60)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert history_seconds(result) >= 1.0  # the quick branch ended at once, not arriving
    assert result.output == {"use": {"got": {"late": {"answer": "too late"}}}}
    assert result.nodes["gate"]["status"] == "succeeded"
    assert result.nodes["checked"]["status"] != "succeeded"


def test_branches_that_lead_elsewhere_too_are_refused() -> None:
    document = race()
    _with(document, connections=[("late", "out", "use")])
    report = validate_for_save(document)
    assert [(e.code, e.path) for e in report.errors] == [
        ("invalid_parameter", "nodes[first].parameters.mode")
    ]
    assert "lead only to the merge" in report.errors[0].message
