from collections.abc import Mapping
from typing import Any

from plugins.sdk import OUT, Parameter, ParameterType, control_plugin


def _one_of(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = [name for name in ("seconds", "until") if parameters.get(name) is not None]
    if len(given) == 2:
        return [("until", "give 'seconds' or 'until', not both")]
    if not given:
        return [("seconds", "give 'seconds' (a duration) or 'until' (an ISO 8601 timestamp)")]
    return []


PLUGIN = control_plugin(
    name="wait",
    display_name="Wait",
    description="Pauses for a duration or until a timestamp (a Wait state; no cost while waiting).",
    compiled_by=("statemachines.machine.constructs.wait",),
    parameters=(
        Parameter("seconds", ParameterType.NUMBER, "Seconds", minimum=0, maximum=31_536_000, integer=True),
        Parameter(
            "until",
            ParameterType.STRING,
            "Until",
            pattern=r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            description="ISO 8601 timestamp with a zone, e.g. 2026-01-01T09:00:00Z",
        ),
    ),
    outputs=(OUT,),
    check=_one_of,
)
