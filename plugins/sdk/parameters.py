"""Declarative, typed plugin parameters (n8n style): enough for validation and for a UI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ParameterType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTI_SELECT = "multiSelect"
    JSON = "json"
    CODE = "code"
    CREDENTIAL = "credential"
    COLLECTION = "collection"  # an object of optional, named sub-parameters
    FIXED_COLLECTION = "fixedCollection"  # a list of objects with fixed sub-parameters


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    name: str = ""
    description: str = ""

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "name": self.name or self.value, "description": self.description}


@dataclass(frozen=True, slots=True)
class DisplayOptions:
    """Show a parameter only when others have given values (``show``), or hide it (``hide``).

    ``show={"method": ("POST", "PUT")}``: visible only while ``method`` is POST or PUT.
    A hidden parameter is never required, and a value given for it is ignored.
    """

    show: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    hide: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def visible(self, values: dict[str, Any]) -> bool:
        if any(values.get(name) not in allowed for name, allowed in self.show.items()):
            return False
        return not any(values.get(name) in hidden for name, hidden in self.hide.items())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.show:
            out["show"] = {k: list(v) for k, v in self.show.items()}
        if self.hide:
            out["hide"] = {k: list(v) for k, v in self.hide.items()}
        return out


# A custom check: given the value and its path, return (path, message) findings.
Check = Callable[[Any, str], list[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a plugin.

    ``minimum``/``maximum`` bound numbers; ``min_length``/``max_length``/``pattern`` bound
    strings (``pattern_hint`` says in words what the pattern asks for, for error messages);
    ``json_type`` restricts a json value ("object", "array", ...); ``children``
    are the sub-parameters of a collection or fixedCollection; ``check`` adds a custom rule;
    ``extra_roots`` lets expressions in this value use more roots (filter's ``item``).
    """

    name: str
    type: ParameterType
    display_name: str = ""
    description: str = ""
    default: Any = None
    required: bool = False
    options: tuple[Option, ...] = ()
    display_options: DisplayOptions | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_hint: str = ""
    json_type: str | None = None
    json_schema: dict[str, Any] | None = None
    children: tuple[Parameter, ...] = ()
    multiple: bool = True
    min_items: int | None = None
    max_items: int | None = None
    language: str | None = None
    check: Check | None = None
    extra_roots: tuple[str, ...] = ()
    placeholder: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def visible(self, values: dict[str, Any]) -> bool:
        return self.display_options is None or self.display_options.visible(values)

    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)
