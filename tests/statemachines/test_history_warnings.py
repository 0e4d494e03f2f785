"""Saving says what a Standard execution's history (25,000 events) will bound (issue #23):
an inline loop whose body is heavy, or whose literal list is longer than fits, and an until
loop whose maxIterations outlasts it. The compiler refuses or stops such loops at run time
with a clear error (statemachines/machine/history.py); the warning says it first."""

from __future__ import annotations

from typing import Any

import pytest

from contract.problems import Warn
from statemachines.compiler import compile_routine, validate_for_save
from tests.api.conftest import Api, api, aws
from tests.conftest import link
from tests.functions.test_big_loop_results import body_link, done_link, loop, pages
from tests.functions.test_size_adversarial import transform

__all__ = ["api", "aws"]  # pytest fixtures, imported to be used here


def history_warnings(document: dict[str, Any]) -> list[tuple[str, str]]:
    report = validate_for_save(document)
    assert report.valid, report.errors
    return [(w.path, w.message) for w in report.warnings if w.code == Warn.HISTORY_BOUND.value]


def chained_body(length: int, items: Any = "{{ trigger.rows }}", mode: str = "inline") -> dict[str, Any]:
    """A loop whose body is a chain of ``length`` transforms, its results read after it."""
    steps = [transform(f"s{i}", {"i": "{{ loop.item }}"}) for i in range(length)]
    return {
        "name": "heavy body",
        "trigger": {"type": "manual"},
        "nodes": [loop("each", items, mode), *steps, transform("sum", {"n": "{{ $count(nodes.each) }}"})],
        "connections": [
            body_link("each", "s0"),
            *(link(f"s{i}", f"s{i + 1}") for i in range(length - 1)),
            done_link("each", "sum"),
        ],
    }


def test_an_until_loop_whose_max_iterations_outlast_the_history_is_warned_of() -> None:
    warnings = history_warnings(pages(10_000, 3))
    assert len(warnings) == 1
    path, message = warnings[0]
    assert path == "nodes[again].parameters.maxIterations"
    # 25,000 ÷ (the Parallel's 4 + the Task's 5 + the Choice's 2) events per iteration.
    assert "at most 2,272 iterations" in message and "fewer than its maxIterations (10,000)" in message


@pytest.mark.parametrize("max_iterations", [2_000, 2_272])
def test_an_until_loop_within_the_history_is_not(max_iterations: int) -> None:
    assert history_warnings(pages(max_iterations, 3)) == []


def test_an_express_until_loop_is_not() -> None:
    assert history_warnings(pages(10_000, 3, "express")) == []


def test_an_inline_loop_of_a_heavy_body_is_warned_of() -> None:
    """Eight Tasks an iteration: 25,000 ÷ (2 + 8 * 5) = 595 items at most."""
    warnings = history_warnings(chained_body(8))
    assert [path for path, _ in warnings] == ["nodes[each].parameters.items"]
    assert "at most 595 iterations" in warnings[0][1] and '"mode": "distributed"' in warnings[0][1]


def test_the_warning_names_the_bound_the_machine_enforces() -> None:
    """The figure warned of is the one the items guard checks (not a second estimate)."""
    document = chained_body(8)
    message = history_warnings(document)[0][1]
    asl = compile_routine(document).definition
    assert "<= 595 " in asl and "at most 595 iterations" in message


def test_a_light_inline_loop_over_data_is_not() -> None:
    """One Task an iteration: 3,571 items at most, above WARN_BELOW (1,000): lists of a few thousand
    are refused plainly at run time, and no warning for every loop."""
    document = chained_body(1)
    assert history_warnings(document) == []
    assert "<= 3571 " in compile_routine(document).definition  # bounded all the same


def test_a_literal_list_longer_than_the_bound_is_warned_of() -> None:
    warnings = history_warnings(chained_body(1, items=list(range(4_000))))
    assert len(warnings) == 1 and "at most 3,571 iterations" in warnings[0][1]
    assert history_warnings(chained_body(1, items=list(range(3_571)))) == []


@pytest.mark.parametrize("shape", ["distributed", "express"])
def test_distributed_and_express_loops_are_not(shape: str) -> None:
    document = chained_body(8, mode="distributed" if shape == "distributed" else "inline")
    if shape == "express":
        document.update(execution="express", timeoutSeconds=300)
    assert history_warnings(document) == []


def test_saving_through_the_api_answers_the_warning(api: Api) -> None:
    status, body, _ = api("POST", "/routines", chained_body(8))
    assert status == 201, body
    codes = {(w["code"], w["path"]) for w in body["warnings"]}
    assert (Warn.HISTORY_BOUND.value, "nodes[each].parameters.items") in codes
