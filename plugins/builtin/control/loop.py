from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from plugins.sdk import (
    ERROR,
    DisplayOptions,
    Option,
    Parameter,
    ParameterType,
    Port,
    PortType,
    control_plugin,
)
from plugins.sdk.common import condition_parameter, items_parameter

# Two forms: over ``items`` (a Map state), or, with ``until``, repeating its body until the
# condition holds (Choice states looping back; statemachines/machine/repeat.py).
OVER_ITEMS = DisplayOptions(show={"until": (None,)})
REPEATING = DisplayOptions(hide={"until": (None,)})
MAX_ITERATIONS = 10_000


def _until_needs_a_bound(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    if parameters.get("until") is not None and parameters.get("maxIterations") is None:
        return [("maxIterations", "'maxIterations' is required with 'until' (at most 10000)")]
    return []


def _only_in(form: DisplayOptions, *parameters: Parameter) -> tuple[Parameter, ...]:
    """The parameters of one form, shown only in it (a hidden parameter is never required:
    ``items`` is not when the loop repeats until a condition)."""
    return tuple(replace(parameter, display_options=form) for parameter in parameters)


PLUGIN = control_plugin(
    name="loop",
    display_name="Loop",
    description="Runs the nodes reachable from 'body' once per item (a Map state) — or, with "
    "'until', again and again until the condition holds after an iteration (at most "
    "'maxIterations' times); 'done' carries the list of each iteration's result.",
    compiled_by=("statemachines.machine.loops.loop_step", "statemachines.machine.repeat.until_loop"),
    parameters=(
        *_only_in(
            OVER_ITEMS,
            items_parameter(),
            Parameter(
                "maxConcurrency",
                ParameterType.NUMBER,
                "Max concurrency",
                default=10,
                minimum=0,
                maximum=10_000,
                integer=True,
                description="Iterations at once (0 = as many as Step Functions allows)",
            ),
            Parameter(
                "mode",
                ParameterType.SELECT,
                "Mode",
                default="inline",
                options=(
                    Option("inline", "Inline", "Up to 40 concurrent iterations, in this execution"),
                    Option("distributed", "Distributed", "Child executions; for large item lists"),
                ),
            ),
        ),
        condition_parameter(
            "until",
            display_name="Until",
            required=False,
            description="Repeat the body until this condition holds, checked after each "
            "iteration: `loop.previous` is that iteration's result, `loop.index` its index "
            "(from 0). Replaces 'items' (e.g. pagination: until there is no next page)",
            # loop.* here is this loop's own (statemachines.references)
            extra_roots=("loop",),
        ),
        *_only_in(
            REPEATING,
            Parameter(
                "maxIterations",
                ParameterType.NUMBER,
                "Max iterations",
                minimum=1,
                maximum=MAX_ITERATIONS,
                integer=True,
                description="Required with 'until': after this many iterations without the "
                "condition holding, the node fails with Routines.LoopLimit",
            ),
            Parameter(
                "collect",
                ParameterType.SELECT,
                "Collect",
                default="all",
                options=(
                    Option("all", "All", "'done' carries every iteration's result"),
                    Option("last", "Last", "'done' carries the last iteration's result only"),
                ),
            ),
        ),
    ),
    outputs=(
        Port(
            "body",
            PortType.LOOP,
            "Body",
            "Runs once per item (`loop.item`, `loop.index`), or until 'until' holds "
            "(`loop.index`, `loop.previous`: the previous iteration's result)",
        ),
        Port("done", PortType.MAIN, "Done", "The list of iteration results (or the last one)"),
        ERROR,
    ),
    check=_until_needs_a_bound,
)
