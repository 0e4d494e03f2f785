"""Typed ports: what a node accepts and emits, and which connections are allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PortType(StrEnum):
    MAIN = "main"  # data
    CONDITION = "condition"  # a branch of if / switch / approval
    ERROR = "error"  # fires when the node fails under onError: route
    LOOP = "loop"  # the loop node's body


# Every output carries the data that flowed into its node, so a main input accepts any of
# them. Port types exist so the document says what a connection means, and so a
# connection's declared ``type`` can be checked against the port it leaves.
ACCEPTS: dict[PortType, frozenset[PortType]] = {
    PortType.MAIN: frozenset(PortType),
    PortType.CONDITION: frozenset({PortType.CONDITION}),
    PortType.ERROR: frozenset({PortType.ERROR}),
    PortType.LOOP: frozenset({PortType.LOOP}),
}

ANY_JSON: dict[str, Any] = {}
ERROR_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            "required": ["type", "message"],
        }
    },
    "required": ["error"],
}


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    type: PortType = PortType.MAIN
    label: str = ""
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)
    requires: str = ""  # a parameter that must be set for this port to ever fire

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "label": self.label or self.name,
            "description": self.description,
            "schema": self.schema,
            **({"requires": self.requires} if self.requires else {}),
        }


def can_connect(output: PortType, input_: PortType) -> bool:
    return output in ACCEPTS[input_]


IN = Port("in", PortType.MAIN, "Input")
OUT = Port("out", PortType.MAIN, "Output")
ERROR = Port(
    "error", PortType.ERROR, "Error", "Fires when the node fails and onError is 'route'", ERROR_OUTPUT_SCHEMA
)
