"""Property test of the payload budget (issue #8): random routines whose nodes produce
random output sizes, 0 B to 2 MB, never end in States.DataLimitExceeded and take the
branches the reference semantics take — also when the trigger itself is stored in S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.local import LocalAWS, run_routine
from statemachines.validator import validate_document
from tests.statemachines.random_dags import random_routines, reference_run

SIZES = [0, 5_000, 100_000, 2_000_000]


@st.composite
def sized_routines(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A random routine whose transforms each add a pad of a random size to their output."""
    routine, trigger = draw(random_routines(max_nodes=6))
    for node in routine["nodes"]:
        if node["plugin"] == "transform":
            trigger[f"pad_{node['id']}"] = "p" * draw(st.sampled_from(SIZES))
            node["parameters"]["fields"]["pad"] = f"{{{{ trigger.pad_{node['id']} }}}}"
    return routine, trigger


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sized_routines())
def test_random_sizes_never_exceed_the_limit_nor_change_a_branch(
    aws: LocalAWS, case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    routine, trigger = case
    if not validate_document(routine).valid:
        return
    expected = reference_run(routine, trigger)
    result = run_routine(aws, routine, trigger)
    where = (result.error, result.cause, json.dumps(routine))
    assert result.error != "States.DataLimitExceeded", where
    stop = expected.stop
    if stop is None or stop["parameters"]["status"] == "succeed":
        assert result.status == "SUCCEEDED", where
    else:  # a stop with fail ends the run FAILED with its own error, whatever the sizes
        assert (result.status, result.error) == ("FAILED", stop["parameters"]["error"]), where
    # What ran beside a stop is a race; everything decided before it must match.
    compared = [n for n in routine["nodes"] if stop is None or n["id"] in expected.before_stop]
    for node in compared:
        want_status, want_output = expected.nodes[node["id"]]
        status, output = result.nodes[node["id"]]["status"], result.nodes[node["id"]]["output"]
        assert status == want_status, (node["id"], *where)
        if node["plugin"] == "transform" and isinstance(output, dict) and "pad" in output:
            pad = output.pop("pad")  # node logs truncate large inline outputs: compare what is whole
            assert output == {k: v for k, v in want_output.items() if k != "pad"}, (node["id"], *where)
            assert pad == trigger[f"pad_{node['id']}"]
