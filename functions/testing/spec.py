"""The routine test file (``*.test.json`` beside a routine): its model and its loader.

```json
{
  "routine": "hello.json",
  "secrets": {"shop/api-token": {"token": "t"}},
  "cases": [
    {
      "name": "big orders are announced",
      "input": {"body": {"orderId": 7}},
      "secrets": {"payments/key": "k"},
      "pinned": {"fetch": {"status": 200, "headers": {}, "body": {"total": 150}}},
      "pinnedErrors": {"notify": {"type": "Routines.HttpServerError", "message": "503"}},
      "approvals": {"review": "approve", "refund": {"decision": "reject", "data": {"why": "late"}}},
      "expect": {
        "status": "SUCCEEDED",
        "error": {"type": "..."},
        "output": {"notify": {"status": 200}},
        "nodes": {"notify": {"status": "succeeded"}, "alert": "skipped"},
        "maxTransitions": 12
      }
    }
  ]
}
```

``routine`` defaults to the file's name without ``.test`` (``hello.test.json`` →
``hello.json``). File-level ``secrets`` apply to every case. ``output``, node outputs and
``error`` are subsets: every key given must match, others may be present (a value is
only checked when its key is written: ``"output": null`` expects null). ``pinned`` and
``pinnedErrors`` also take ``execute-routine`` nodes (no child starts); unpinned, such a
node runs the child routine whose file it names, relative to the routine's. ``approvals``
decide approval nodes each time they are reached, as the API would (``by``: "routines test").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contract.errors import RoutinesError
from functions.local.lambdas import Pin

SUFFIX = ".test.json"
STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
NODE_STATUSES = ("succeeded", "failed", "skipped", "cancelled")


class TestFileError(RoutinesError, ValueError):
    """The test file is unreadable or malformed; the message names the path at fault."""

    __test__ = False  # not a pytest test class, whatever its name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _shorthand(value: Any, key: str) -> Any:
    """A mapping of names to objects where a plain string ``s`` stands for ``{key: s}``,
    expanded (anything else is left for the model to judge)."""
    if isinstance(value, dict):
        return {k: {key: v} if isinstance(v, str) else v for k, v in value.items()}
    return value


class PinnedErrorSpec(_Strict):
    type: str = Field(min_length=1, max_length=256)
    message: str = ""


class NodeExpectation(_Strict):
    status: Literal["succeeded", "failed", "skipped", "cancelled"] | None = None
    output: Any = None
    error: dict[str, Any] | None = None


class Expectation(_Strict):
    status: Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] | None = "SUCCEEDED"
    error: dict[str, Any] | None = None
    output: Any = None
    nodes: dict[str, NodeExpectation] = Field(default_factory=dict)
    max_transitions: int | None = Field(None, alias="maxTransitions", ge=0)

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes(cls, value: Any) -> Any:
        return _shorthand(value, "status")  # {"alert": "skipped"}


class Approval(_Strict):
    decision: Literal["approve", "reject"]
    data: Any = None


class Case(_Strict):
    name: str = Field(min_length=1, max_length=200)
    input: Any = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict)
    pinned: dict[str, Any] = Field(default_factory=dict)
    pinned_errors: dict[str, PinnedErrorSpec] = Field(default_factory=dict, alias="pinnedErrors")
    approvals: dict[str, Approval] = Field(default_factory=dict)
    timeout_seconds: float = Field(60.0, alias="timeoutSeconds", gt=0, le=3600)
    expect: Expectation = Field(default_factory=Expectation)

    @field_validator("approvals", mode="before")
    @classmethod
    def _approvals(cls, value: Any) -> Any:
        return _shorthand(value, "decision")  # {"ask": "approve"}

    def answers(self) -> dict[str, tuple[bool, Any]]:
        return {node: (a.decision == "approve", a.data) for node, a in self.approvals.items()}

    def pins(self) -> dict[str, Pin]:
        out = {node: Pin(output=value) for node, value in self.pinned.items()}
        out.update({node: Pin(error=e.type, message=e.message) for node, e in self.pinned_errors.items()})
        return out


class TestFile(_Strict):
    __test__ = False
    routine: str | None = None
    secrets: dict[str, Any] = Field(default_factory=dict)
    cases: list[Case] = Field(min_length=1)


class LoadedTests:
    """A parsed test file with its routine document."""

    def __init__(self, path: Path, spec: TestFile, routine_path: Path, routine: Any) -> None:
        self.path = path
        self.spec = spec
        self.routine_path = routine_path
        self.routine = routine


def routine_path_for(path: Path, spec: TestFile) -> Path:
    if spec.routine:
        return (path.parent / spec.routine).resolve()
    return path.with_name(path.name.removesuffix(SUFFIX) + ".json")


def load_tests(path: Path) -> LoadedTests:
    """Parse a test file and the routine it names; :class:`TestFileError` says what is wrong."""
    raw = _read_json(path)
    try:
        spec = TestFile.model_validate(raw)
    except ValidationError as exc:
        raise TestFileError(f"{path}: {_first_problem(exc, raw)}") from None
    for index, case in enumerate(spec.cases):
        both = set(case.pinned) & set(case.pinned_errors)
        if both:
            raise TestFileError(
                f"{path}: cases[{index}]: node '{sorted(both)[0]}' is both in pinned and pinnedErrors"
            )
    names = [c.name for c in spec.cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TestFileError(f"{path}: cases: two cases are named '{duplicates[0]}'")
    routine_path = routine_path_for(path, spec)
    return LoadedTests(path, spec, routine_path, _read_json(routine_path, f"routine of {path}: "))


def _read_json(path: Path, prefix: str = "") -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TestFileError(f"{prefix}cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TestFileError(f"{prefix}{path}: not valid JSON: {exc}") from None


def _first_problem(exc: ValidationError, raw: Any) -> str:
    if not isinstance(raw, dict):
        return "a test file is a JSON object with a 'cases' list"
    error = exc.errors()[0]
    where = ""
    for part in error["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif not str(part).startswith("function-"):
            where += f".{part}" if where else str(part)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
