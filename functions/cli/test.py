"""``routines test [PATH…]``: run routine test files (``*.test.json``) on the local runtime.

One PASS/FAIL line per case, a readable diff under each failure, a count at the end.
Exit 0 when every case passed, 1 when any failed, 2 when there is nothing to run.
"""

from __future__ import annotations

import sys
from typing import Any

from functions.cli.errors import UsageError


class SecretError(UsageError):
    """A --secret that is not NAME=VALUE."""


def parse_secrets(values: list[str] | None) -> dict[str, str]:
    """``--secret NAME=VALUE`` options as a dict (JSON text values are read as JSON by
    the plugins, as secrets stored as JSON are on AWS)."""
    secrets: dict[str, str] = {}
    for value in values or []:
        name, sep, secret = value.partition("=")
        if not sep or not name.strip():
            raise SecretError(f"--secret {value!r}: expected NAME=VALUE")
        secrets[name.strip()] = secret
    return secrets


def test_paths(paths: list[str], secrets: dict[str, str], only: str | None, stream: Any = None) -> int:
    from functions.cli import startup
    from functions.local import LocalAWS
    from functions.testing.cases import describe, find_test_files, run_file

    out = stream or sys.stdout
    files = find_test_files(paths or ["."])
    if not files:
        raise UsageError(f"no *.test.json files under {' '.join(paths or ['.'])}")
    passed = failed = 0
    with LocalAWS() as aws:  # one local AWS for every case: deploying it is the slow part
        startup.settle()
        for name, value in secrets.items():
            aws.put_secret(name, value)
        for path in files:
            for outcome in run_file(aws, path, only):
                print(describe(outcome), file=out, flush=True)
                passed, failed = (passed + 1, failed) if outcome.passed else (passed, failed + 1)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0
