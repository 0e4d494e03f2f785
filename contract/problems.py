"""What validation reports: stable codes, problems with paths, and the report itself.

Codes are part of the public contract (DESIGN §8): clients match on them, so they never
change meaning. Paths name the offending place in the document the way a user reads it:
``nodes[fetch].parameters.url``, ``connections[2]``, ``trigger.schedule``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Error codes of DESIGN §8."""

    INVALID_DOCUMENT = "invalid_document"
    DUPLICATE_NODE_ID = "duplicate_node_id"
    UNKNOWN_NODE = "unknown_node"
    UNKNOWN_PLUGIN = "unknown_plugin"
    UNKNOWN_PORT = "unknown_port"
    PORT_TYPE_MISMATCH = "port_type_mismatch"
    MISSING_PARAMETER = "missing_parameter"
    INVALID_PARAMETER = "invalid_parameter"
    INVALID_EXPRESSION = "invalid_expression"
    UNKNOWN_REFERENCE = "unknown_reference"
    CYCLE = "cycle"
    LOOP_BODY_ESCAPE = "loop_body_escape"
    UNREACHABLE_NODE = "unreachable_node"
    INVALID_TRIGGER = "invalid_trigger"
    LIMIT_EXCEEDED = "limit_exceeded"


class Warn(StrEnum):
    """Warning codes: the routine is valid, but probably not what the author meant."""

    MAY_BE_SKIPPED = "reference_may_be_skipped"
    READS_DISABLED = "reference_to_disabled_node"
    NO_OUTPUT = "reference_without_output"
    NOT_SERIES_PARALLEL = "not_series_parallel"
    UNUSED_VARIABLE = "unused_variable"
    IGNORED_PARAMETER = "ignored_parameter"
    IGNORED_SETTING = "ignored_setting"
    ERROR_PORT_UNCONNECTED = "error_port_unconnected"
    EMPTY_LOOP_BODY = "empty_loop_body"
    DUPLICATE_CONNECTION = "duplicate_connection"
    NATIVE_CONDITION_UNAVAILABLE = "condition_needs_evaluator"
    JSONPATH_EXPRESSION = "jsonpath_expression"
    # A loop's iterations that a Standard execution's history (25,000 events) bounds below
    # what the routine asks for (statemachines/machine/history.py).
    HISTORY_BOUND = "loop_history_bound"


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning: a stable code, where it is, and what to do about it."""

    code: str
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


@dataclass(slots=True)
class Report:
    """Everything wrong with a document, collected in one pass."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, code: Code, path: str, message: str) -> None:
        self.errors.append(Problem(code.value, path, message))

    def warn(self, code: Warn, path: str, message: str) -> None:
        self.warnings.append(Problem(code.value, path, message))

    def extend(self, other: Report) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [p.to_json() for p in self.errors],
            "warnings": [p.to_json() for p in self.warnings],
        }


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def json_type(value: Any) -> str:
    """A JSON value's type as JSON Schema names it: null, boolean, number, string, array or
    object (anything else: its Python type's name)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def json_type_name(value: Any) -> str:
    """'a string', 'an object', ... for messages about a value of the wrong type."""
    if value is None:
        return "null"
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


def join_path(base: str, *segments: str | int) -> str:
    """Extend a path: names become ``.name``, indexes ``[2]``, odd keys ``["a b"]``."""
    out = base
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _PLAIN_KEY.match(seg):
            out += f".{seg}" if out else seg
        else:
            out += '["' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out


def node_path(node_id: str, *segments: str | int) -> str:
    return join_path(f"nodes[{node_id}]", *segments)


def connection_path(index: int, *segments: str | int) -> str:
    return join_path(f"connections[{index}]", *segments)
