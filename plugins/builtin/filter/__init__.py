from plugins.sdk import ERROR, PluginDefinition, Port, PortType
from plugins.sdk.common import condition_parameter, items_parameter

PLUGIN = PluginDefinition(
    name="filter",
    version=1,
    display_name="Filter",
    description="Keeps the items of an array that match a condition (each item is `item`).",
    category="data",
    parameters=(
        items_parameter(),
        condition_parameter(
            extra_roots=("item",), description="Evaluated once per element; the element is `item`"
        ),
    ),
    outputs=(
        Port(
            "out",
            PortType.MAIN,
            "Kept items",
            "",
            {"type": "object", "properties": {"items": {"type": "array"}}, "required": ["items"]},
        ),
        ERROR,
    ),
    repeat_safe=True,  # pure: its only effect is its output
)
