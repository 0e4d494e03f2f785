"""The console's browser tests say so in the session summary when they could not run
(also under xdist: the skip reports reach the controller's terminal reporter)."""

from __future__ import annotations

import pytest

NO_BROWSER = "no Chromium found for the console's browser tests"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", "")
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
        if NO_BROWSER in reason:
            terminalreporter.write_line(f"CONSOLE BROWSER TESTS NOT RUN: {reason}", red=True, bold=True)
            return
