"""Data-driven: each invalid routine reports exactly the expected (code, path) pairs, and
every example validates with no errors."""

from __future__ import annotations

import json

import pytest

from statemachines.validator import validate_document
from tests.conftest import DATA, EXAMPLES, load, problems

EXPECTED = json.loads((DATA / "invalid" / "expected.json").read_text())


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_invalid_routine_reports_expected_codes_at_paths(case: str) -> None:
    report = validate_document(load(DATA / "invalid" / f"{case}.json"))
    assert not report.valid
    assert problems(report) == {tuple(pair) for pair in EXPECTED[case]}
    assert all(p.message for p in report.errors)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_without_warnings(path) -> None:  # type: ignore[no-untyped-def]
    report = validate_document(load(path))
    assert report.errors == []
    assert report.warnings == []


def test_there_are_at_least_six_examples() -> None:
    assert len(EXAMPLES) >= 6
