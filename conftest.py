"""The project's own pytest session (not the ``routines`` plugin users get): after the
summary, how to run less than everything."""

from __future__ import annotations

import pytest

HINT = """\
To run less: one file  .venv/bin/pytest tests/functions/test_cli.py
             one test  .venv/bin/pytest tests/functions/test_cli.py::test_validate_valid_file_exits_zero
             by name   .venv/bin/pytest -k webhook
             options   -n auto (every core), ROUTINES_LOCAL_FAST=0 (plain moto)"""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in HINT.splitlines():
        terminalreporter.write_line(line)
