from plugins.sdk import (
    ERROR,
    IN,
    Kind,
    Option,
    Parameter,
    ParameterType,
    PluginDefinition,
    Port,
    PortType,
)
from plugins.sdk.common import items_parameter

PLUGIN = PluginDefinition(
    name="loop",
    version=1,
    display_name="Loop",
    description="Runs the nodes reachable from 'body' once per item (a Map state); 'done' "
    "carries the list of each iteration's result.",
    category="flow",
    kind=Kind.CONTROL,
    parameters=(
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
    inputs=(IN,),
    outputs=(
        Port("body", PortType.LOOP, "Body", "Runs once per item; `loop.item`, `loop.index`"),
        Port("done", PortType.MAIN, "Done", "The list of iteration results", {"type": "array"}),
        ERROR,
    ),
)
