"""Property tests of the compiler on random DAGs: every valid routine compiles to a checked,
deterministic definition; executed on the local runtime, it does exactly what the
reference semantics say (which nodes run, which are skipped, what they read)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from functions.local import LocalAWS, run_routine
from statemachines.compiler import compile_routine
from statemachines.validator import validate_document
from tests.statemachines.random_dags import random_routines, reference_run

DATA = Path(__file__).resolve().parents[1] / "data"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_routines(max_nodes=14))
def test_every_valid_random_routine_compiles_deterministically(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    routine, _ = case
    if not validate_document(routine).valid:
        return
    first = compile_routine(routine)
    assert first.definition == compile_routine(routine).definition
    report = first.report
    assert report["transitions"]["min"] <= report["transitions"]["max"]
    mapped = set(report["stateNodes"].values())
    plugin_nodes = {n["id"] for n in routine["nodes"] if n["plugin"] == "transform"}
    # Every plugin node that can run has a Task; at most one per distinct situation.
    assert mapped <= {n["id"] for n in routine["nodes"]}
    assert report["lambdaTasks"] >= len(plugin_nodes & mapped)


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(random_routines(max_nodes=8))
def test_random_routines_run_as_the_reference_semantics_say(
    aws: LocalAWS, case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    check_against_the_reference(aws, *case)


def check_against_the_reference(aws: LocalAWS, routine: dict[str, Any], trigger: Any) -> None:
    if not validate_document(routine).valid:
        return
    expected = reference_run(routine, trigger)
    result = run_routine(aws, routine, trigger)
    where = (json.dumps(routine), trigger)
    got = {node_id: (node["status"], node["output"]) for node_id, node in result.nodes.items()}
    compared = [n for n in routine["nodes"] if expected.stop is None or n["id"] in expected.before_stop]
    for node in compared:
        if node["plugin"] in ("transform", "merge"):
            assert got[node["id"]] == expected.nodes[node["id"]], (node["id"], *where)
        else:  # control nodes: whether they ran
            assert got[node["id"]][0] == expected.nodes[node["id"]][0], (node["id"], *where)
    stop = expected.stop
    if stop is None:
        assert result.status == "SUCCEEDED", where
        assert result.output == expected.result, where
    elif stop["parameters"]["status"] == "fail":
        assert (result.status, result.error) == ("FAILED", stop["parameters"]["error"]), where
        assert result.cause == stop["parameters"]["cause"], where
    else:
        assert result.status == "SUCCEEDED", where


def test_a_merge_behind_an_untaken_port_is_not_in_the_result(aws: LocalAWS) -> None:
    # Found by the property above: the result is built from variables and the merge's own activity.
    routine = json.loads((DATA / "merge_behind_an_untaken_port.routine.json").read_text())
    trigger = {"n3": False}
    expected = reference_run(routine, trigger)
    result = run_routine(aws, routine, trigger)
    assert result.nodes["n5"]["status"] == expected.nodes["n5"][0] == "skipped"
    assert result.output == expected.result == {}
