"""Parameter building blocks several plugins share."""

from __future__ import annotations

from typing import Any

from contract.conditions import check_condition
from plugins.sdk.parameters import Parameter, ParameterType
from plugins.sdk.ports import ERROR, Port, PortType

STRING: dict[str, Any] = {"type": "string"}
CONDITION_SCHEMA: dict[str, Any] = {
    "$comment": "all / any / not groups, or a comparison {left, op, right}",
    "type": "object",
}


def condition_parameter(
    name: str = "condition",
    *,
    extra_roots: tuple[str, ...] = (),
    description: str = "",
    display_name: str = "Condition",
    required: bool = True,
) -> Parameter:
    """A condition (if, switch, filter; loop's optional ``until``), checked as one."""
    return Parameter(
        name=name,
        type=ParameterType.JSON,
        display_name=display_name,
        description=description or "{all|any: [...]}, {not: {...}} or {left, op, right}",
        required=required,
        json_schema=CONDITION_SCHEMA,
        check=check_condition,
        extra_roots=extra_roots,
    )


def items_parameter() -> Parameter:
    """The array a node works through (filter, loop): a literal array or an expression."""
    return Parameter(
        "items",
        ParameterType.JSON,
        "Items",
        required=True,
        json_type="array",
        description="An array, or an expression yielding one",
        placeholder="{{ nodes.fetch.body.orders }}",
    )


def timeout_parameter(default: int, maximum: int = 900) -> Parameter:
    return Parameter(
        "timeoutSeconds",
        ParameterType.NUMBER,
        "Timeout (seconds)",
        default=default,
        minimum=1,
        maximum=maximum,
        integer=True,
    )


def object_outputs(label: str, **properties: dict[str, Any]) -> tuple[Port, Port]:
    """``out`` carrying an object with these (all required) properties, plus ``error``."""
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    return (Port("out", PortType.MAIN, label, "", schema), ERROR)
