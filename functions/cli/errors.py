"""What the CLI refuses, and the one place that turns an error into an exit code.

Commands return 0 or 1 for what they did (a run that failed, an invalid file in
``validate``) and raise every error they cannot get past; :func:`functions.cli.main.main`
prints it once and exits with :func:`exit_code` of its class.
"""

from __future__ import annotations

from typing import Any

from contract.errors import RoutinesError
from functions.testing.spec import TestFileError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(RoutinesError):
    """The command line, or a file it names, cannot be used."""

    code = "usage"


class ApiFailure(RoutinesError):
    """The API answered with an error (or could not be reached)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        problems = body.get("errors", []) if isinstance(body, dict) else []
        where = [" ".join(str(part) for part in (p.get("code"), p.get("path")) if part) for p in problems]
        lines = [f"{at}: {p.get('message', '')}" for at, p in zip(where, problems, strict=True)]
        super().__init__(f"HTTP {status}" + ("\n  " + "\n  ".join(lines) if lines else f": {body}"))


# A refusal the user can fix by asking differently: an unreachable API (0), a request the
# API cannot read (400) and no identity (401). Anything else the API refused is about the
# routine or the execution (404, 409, 413, 422): the command ran and was told no.
USAGE_STATUSES = frozenset({0, 400, 401})


def exit_code(error: RoutinesError) -> int:
    if isinstance(error, UsageError | TestFileError):
        return EXIT_USAGE
    if isinstance(error, ApiFailure):
        return EXIT_USAGE if error.status in USAGE_STATUSES else EXIT_INVALID
    return EXIT_INVALID  # an invalid routine, one that cannot compile, a refused decision


__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "ApiFailure", "UsageError", "exit_code"]
