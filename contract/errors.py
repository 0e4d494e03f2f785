"""The project's exception tree.

Every error the engine raises on purpose derives from :class:`RoutinesError`, carries a
stable ``code`` and, where it concerns a place in a routine, the path to it. Callers map
errors to HTTP statuses or exit codes by class, never by message text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract.problems import Problem


class RoutinesError(Exception):
    """Base of every error this project raises on purpose."""

    code = "routines_error"

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidRoutineError(RoutinesError):
    """A routine failed validation; ``problems`` lists every error found, with paths."""

    code = "invalid_routine"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0] if problems else None
        summary = f"{len(problems)} error(s); first: {first.path}: {first.message}" if first else ""
        super().__init__(f"routine is invalid: {summary}")
        self.problems = problems


class PluginDefinitionError(RoutinesError):
    """A plugin declaration is inconsistent (a bug in the plugin, found at registration)."""

    code = "invalid_plugin_definition"


class UnknownPluginError(RoutinesError):
    """No plugin (or no such version of it) is registered under that name."""

    code = "unknown_plugin"


class CompileError(RoutinesError):
    """A valid routine could not be turned into a state machine (an engine limit or bug)."""

    code = "compile_error"


class HttpError(RoutinesError):
    """An answer an HTTP surface (the API, a webhook) decides itself: its status, a stable
    ``code``, the path of what is wrong and further problems of the same answer. Each
    surface turns it, and every other class of this tree, into a response in one place
    (functions/api/errors.py, functions/webhook/handler.py)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        path: str = "",
        *,
        more: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.status, self.code = status, code
        self.more = more or []
        self.headers = headers or {}

    def to_json(self) -> list[dict[str, str]]:
        """The problems it answers with: ``[{code, path, message}, *more]``."""
        return [{"code": self.code, "path": self.path, "message": self.message}, *self.more]
