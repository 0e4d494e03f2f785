"""pytest plugin (entry point ``pytest11``): routine test files are pytest tests.

- Every ``*.test.json`` file pytest visits becomes a test module, one test per case
  (``pytest examples/`` runs them; ``-k`` selects cases by name).
- The ``routines_runtime`` fixture gives Python tests the same local runtime::

      def test_big_order(routines_runtime):
          result = run_routine(routines_runtime, document, {"body": {"orderId": 7}})
          assert result.status == "SUCCEEDED"

One local AWS serves every routine test of the session: deploying it is the slow part,
an execution is cheap. It is shut down before any other test runs (that test may start
its own moto, which cannot nest inside ours) and started again when needed. State (node
logs, secrets, created resources) persists between the cases that share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from contract.errors import RoutinesError

if TYPE_CHECKING:
    from functions.local import LocalAWS
    from functions.testing.cases import CaseResult
    from functions.testing.spec import Case, LoadedTests

FIXTURE = "routines_runtime"


class SharedRuntime:
    """The session's local AWS, started on first use."""

    def __init__(self) -> None:
        self._aws: LocalAWS | None = None

    def get(self) -> LocalAWS:
        if self._aws is None:
            from functions.local import LocalAWS

            self._aws = LocalAWS().__enter__()
        return self._aws

    def close(self) -> None:
        if self._aws is not None:
            aws, self._aws = self._aws, None
            aws.__exit__(None, None, None)


_RUNTIME = pytest.StashKey[SharedRuntime]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUNTIME] = SharedRuntime()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RUNTIME in config.stash:
        config.stash[_RUNTIME].close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if not isinstance(item, RoutineCase) and FIXTURE not in getattr(item, "fixturenames", ()):
        item.config.stash[_RUNTIME].close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(".test.json"):
        collector: RoutineTestFile = RoutineTestFile.from_parent(parent, path=file_path)
        return collector
    return None


@pytest.fixture
def routines_runtime(request: pytest.FixtureRequest) -> LocalAWS:
    """The session's local AWS (``functions.local.LocalAWS``), with the product deployed."""
    return request.config.stash[_RUNTIME].get()


class RoutineCaseFailed(RoutinesError):
    def __init__(self, outcome: CaseResult) -> None:
        super().__init__("\n".join(outcome.problems))
        self.outcome = outcome


class RoutineTestFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from functions.testing.spec import TestFileError, load_tests

        try:
            tests = load_tests(self.path)
        except TestFileError as exc:
            raise self.CollectError(str(exc)) from None
        for case in tests.spec.cases:
            yield RoutineCase.from_parent(self, name=case.name, tests=tests, case=case)


class RoutineCase(pytest.Item):
    def __init__(self, *, tests: LoadedTests, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tests = tests
        self.case = case

    def runtest(self) -> None:
        from functions.testing.cases import run_case

        outcome = run_case(self.config.stash[_RUNTIME].get(), self.tests, self.case)
        if not outcome.passed:
            raise RoutineCaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RoutineCaseFailed):
            lines = [f"routine test case '{self.case.name}' failed:"]
            return "\n".join(lines + [f"  {p}" for p in excinfo.value.outcome.problems])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.case.name}"
