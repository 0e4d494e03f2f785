"""Run routine test cases on a local AWS and judge them against their expectations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.errors import CompileError, InvalidRoutineError
from functions.local import LocalAWS
from functions.local.runner import PinError, start_routine
from functions.testing.approvals import ApprovalAnswers
from functions.testing.compare import mismatches, show
from functions.testing.spec import SUFFIX, Case, Expectation, LoadedTests, TestFileError, load_tests


@dataclass(slots=True)
class CaseResult:
    """One case's verdict: ``problems`` is empty when it passed."""

    file: Path
    case: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    result: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


def find_test_files(paths: list[str]) -> list[Path]:
    """``*.test.json`` files: those named, and those under the directories named."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{SUFFIX}") if ".venv" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise TestFileError(f"cannot read {name}: no such file or directory")
    return found


def check(expect: Expectation, result: dict[str, Any]) -> list[str]:
    """Every way the execution report misses the expectation, one readable line each."""
    problems: list[str] = []
    if expect.status is not None and result["status"] != expect.status:
        problems.append(f"status: expected {expect.status}, got {result['status']}{_why(result)}")
    if expect.error is not None:
        problems += mismatches(expect.error, result["error"], "error")
    if "output" in expect.model_fields_set:
        problems += mismatches(expect.output, result["output"], "output")
    for node_id, want in expect.nodes.items():
        got = result["nodes"].get(node_id)
        if got is None:
            problems.append(f"nodes.{node_id}: no such node in the routine")
            continue
        if want.status is not None and got["status"] != want.status:
            problems.append(f"nodes.{node_id}.status: expected {want.status}, got {got['status']}")
        if "output" in want.model_fields_set:
            problems += mismatches(want.output, got.get("output"), f"nodes.{node_id}.output")
        if want.error is not None:
            problems += mismatches(want.error, got.get("error"), f"nodes.{node_id}.error")
    if expect.max_transitions is not None and result["transitions"] > expect.max_transitions:
        problems.append(
            f"transitions: expected at most {expect.max_transitions}, got {result['transitions']}"
        )
    return problems


def _why(result: dict[str, Any]) -> str:
    error = result.get("error")
    return f" ({error.get('type')}: {error.get('message')})" if isinstance(error, dict) else ""


def run_case(aws: LocalAWS, tests: LoadedTests, case: Case) -> CaseResult:
    outcome = CaseResult(tests.path, case.name)
    started = time.perf_counter()
    try:
        for name, value in {**tests.spec.secrets, **case.secrets}.items():
            aws.put_secret(name, value)
        unknown = _not_approvals(tests.routine, case)
        if unknown:
            raise PinError(f"approvals: '{unknown}' is not an approval node of the routine")
        # The routine's file is where execute-routine nodes' paths are read from.
        execution = start_routine(
            aws,
            tests.routine,
            case.input,
            pins=case.pins(),
            base=tests.routine_path.parent,
        )
        with ApprovalAnswers(aws, execution.arn, case.answers()):
            result = execution.wait(None, case.timeout_seconds).to_json()
    except InvalidRoutineError as exc:
        outcome.problems = [
            f"routine {tests.routine_path.name} is invalid: {p.code} {p.path}: {p.message}"
            for p in exc.problems
        ]
    except (CompileError, PinError) as exc:
        outcome.problems = [str(exc)]
    else:
        outcome.result = result
        outcome.problems = check(case.expect, result)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _not_approvals(routine: Any, case: Case) -> str | None:
    """The first node ``approvals`` names that is not an approval node of the routine."""
    nodes = routine.get("nodes") if isinstance(routine, dict) else None
    plugins = {n.get("id"): n.get("plugin") for n in nodes or [] if isinstance(n, dict)}
    return next((node for node in sorted(case.approvals) if plugins.get(node) != "approval"), None)


def run_file(aws: LocalAWS, path: Path, only: str | None = None) -> Iterator[CaseResult]:
    """Every case of one test file (``only``: whose name contains it), in order; a broken
    file is one failed result."""
    try:
        tests = load_tests(path)
    except TestFileError as exc:
        yield CaseResult(path, "(test file)", [str(exc)])
        return
    for case in tests.spec.cases:
        if only is None or only in case.name:
            yield run_case(aws, tests, case)


def describe(outcome: CaseResult) -> str:
    """The pass/fail line, and under a failure its diff lines."""
    verdict = "PASS" if outcome.passed else "FAIL"
    lines = [f"{verdict}  {outcome.file} :: {outcome.case}  ({outcome.seconds:.2f} s)"]
    lines += [f"      {problem}" for problem in outcome.problems]
    return "\n".join(lines)


__all__ = ["CaseResult", "check", "describe", "find_test_files", "run_case", "run_file", "show"]
