"""Typed ASL building blocks: one small class per state type, an allow-list of fields per
type, and a final check of the whole machine before anything is emitted.

Only ASL that behaves the same on AWS and on moto's interpreter is produced here (no
redrive-only features). Machines are JSONata with workflow variables (``QueryLanguage``
at the top level); each type allows JSONata mode's fields, and AWS's validator
(tests/asl_validator.py) checks the whole machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract.errors import CompileError

MAX_STATE_NAME = 80
MAX_DEFINITION_BYTES = 1024 * 1024

# JSONata mode's fields per type (no InputPath, Parameters, ResultPath…: those are JSONPath's).
_FLOW = frozenset({"Comment", "Next", "End"})
_ERRORS = frozenset({"Retry", "Catch"})
_VARIABLES = frozenset({"Output", "Assign"})
_ALLOWED: dict[str, frozenset[str]] = {
    "Task": _FLOW | _ERRORS | _VARIABLES | {"Resource", "Arguments", "TimeoutSeconds", "HeartbeatSeconds"},
    "Choice": frozenset({"Comment", "Choices", "Default"}) | _VARIABLES,
    "Parallel": _FLOW | _ERRORS | _VARIABLES | {"Branches", "Arguments"},
    "Map": _FLOW
    | _ERRORS
    | _VARIABLES
    | {
        "Items",
        "ItemReader",
        "ItemSelector",
        "ItemProcessor",
        "MaxConcurrency",
        "ToleratedFailurePercentage",
        "Label",
    },
    "Wait": _FLOW | _VARIABLES | {"Seconds", "Timestamp"},
    "Pass": _FLOW | _VARIABLES,
    "Succeed": frozenset({"Comment", "Output"}),
    "Fail": frozenset({"Comment", "Error", "Cause"}),
}
TERMINAL = frozenset({"Succeed", "Fail"})


@dataclass(slots=True)
class State:
    """One state: its type and fields. ``fields`` are checked against the type's allow-list."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        allowed = _ALLOWED.get(self.type)
        if allowed is None:
            raise CompileError(f"unknown state type '{self.type}'")
        unknown = set(self.fields) - allowed
        if unknown:
            raise CompileError(f"{self.type} states have no field(s) {', '.join(sorted(unknown))}")

    def successors(self) -> list[str]:
        out = [self.fields["Next"]] if "Next" in self.fields else []
        out += [c["Next"] for c in self.fields.get("Choices", [])]
        out += [self.fields["Default"]] if "Default" in self.fields else []
        out += [c["Next"] for c in self.fields.get("Catch", [])]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"Type": self.type, **self.fields}


@dataclass(slots=True)
class StateMachine:
    """A state graph (the top level, a Parallel branch or a Map item processor)."""

    start_at: str
    states: dict[str, State]
    comment: str = ""
    timeout_seconds: int | None = None  # the top level only: the whole execution's limit
    query_language: str | None = None  # the top level only: "JSONata" (branches inherit it)

    def check(self, where: str = "") -> None:
        """Unique, short names; every Next exists; every state reachable; every path ends."""
        prefix = f"{where}: " if where else ""
        if self.start_at not in self.states:
            raise CompileError(f"{prefix}StartAt '{self.start_at}' is not a state")
        for name, state in self.states.items():
            if not name or len(name) > MAX_STATE_NAME:
                raise CompileError(f"{prefix}state name '{name[:90]}' must be 1-{MAX_STATE_NAME} characters")
            for target in state.successors():
                if target not in self.states:
                    raise CompileError(f"{prefix}state '{name}' goes to '{target}', which does not exist")
            ends = state.type in TERMINAL or state.fields.get("End") is True
            if not ends and state.type != "Choice" and "Next" not in state.fields:
                raise CompileError(f"{prefix}state '{name}' has neither Next nor End")
            for branch_index, branch in enumerate(state.fields.get("Branches", [])):
                _as_machine(branch).check(f"{prefix}{name}.Branches[{branch_index}]")
            if "ItemProcessor" in state.fields:
                _as_machine(state.fields["ItemProcessor"]).check(f"{prefix}{name}.ItemProcessor")
        unreachable = set(self.states) - self._reachable()
        if unreachable:
            raise CompileError(f"{prefix}unreachable state(s): {', '.join(sorted(unreachable))}")

    def _reachable(self) -> set[str]:
        seen = {self.start_at}
        stack = [self.start_at]
        while stack:
            for target in self.states[stack.pop()].successors():
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.comment:
            out["Comment"] = self.comment
        if self.query_language is not None:
            out["QueryLanguage"] = self.query_language
        out["StartAt"] = self.start_at
        if self.timeout_seconds is not None:
            out["TimeoutSeconds"] = self.timeout_seconds
        out["States"] = {name: state.to_json() for name, state in self.states.items()}
        return out


def _as_machine(value: Any) -> StateMachine:
    if isinstance(value, StateMachine):
        return value
    states = {
        name: State(body["Type"], {k: v for k, v in body.items() if k != "Type"})
        for name, body in value["States"].items()
    }
    return StateMachine(value["StartAt"], states)


def render(machine: StateMachine) -> str:
    """The definition as deterministic, compact JSON (the 1 MB service limit counts every
    byte; the console pretty-prints anyway), refused when over that limit."""
    machine.check()
    text = json.dumps(machine.to_json(), separators=(",", ":"), ensure_ascii=False, default=_encode)
    size = len(text.encode())
    if size > MAX_DEFINITION_BYTES:
        raise CompileError(
            f"the state machine definition is {size} bytes; Step Functions allows {MAX_DEFINITION_BYTES}"
        )
    return text


def _encode(value: Any) -> Any:
    if isinstance(value, StateMachine | State):
        return value.to_json()
    raise TypeError(f"cannot encode {type(value).__name__}")
