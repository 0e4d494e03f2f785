from collections.abc import Mapping
from typing import Any

from contract.limits import MAX_SWITCH_RULES, PORT_NAME_PATTERN
from plugins.sdk import Parameter, ParameterType, Port, PortType, control_plugin
from plugins.sdk.common import condition_parameter

DEFAULT = Port("default", PortType.CONDITION, "Default", "When no rule matches")


def _ports(parameters: Mapping[str, Any]) -> tuple[Port, ...]:
    rules = parameters.get("rules")
    names: list[str] = []
    if isinstance(rules, list):
        for rule in rules:
            port = rule.get("port") if isinstance(rule, dict) else None
            if isinstance(port, str) and port not in names and port != "default":
                names.append(port)
    return (*(Port(n, PortType.CONDITION, n) for n in names), DEFAULT)


def _unique_ports(value: Any, path: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    for index, rule in enumerate(value):
        port = rule.get("port")
        if port == "default":
            return [(f"{path}[{index}].port", "'default' is reserved for when no rule matches")]
        if port in seen:
            return [(f"{path}[{index}].port", f"port '{port}' is used by an earlier rule")]
        seen.add(port)
    return []


PLUGIN = control_plugin(
    name="switch",
    display_name="Switch",
    description="Routes to the port of the first rule whose condition holds, else 'default'. "
    "Compiles to one Choice state.",
    compiled_by=("statemachines.machine.constructs.branch",),
    parameters=(
        Parameter(
            "rules",
            ParameterType.FIXED_COLLECTION,
            "Rules",
            required=True,
            min_items=1,
            max_items=MAX_SWITCH_RULES,
            check=_unique_ports,
            children=(
                Parameter(
                    "port",
                    ParameterType.STRING,
                    "Output port",
                    required=True,
                    pattern=PORT_NAME_PATTERN[1:-1],
                ),
                condition_parameter(),
            ),
        ),
    ),
    outputs=(DEFAULT,),
    dynamic_outputs=_ports,
)
