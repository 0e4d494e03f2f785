from plugins.sdk import ERROR, Parameter, ParameterType, PluginDefinition, Port, PortType
from plugins.sdk.common import condition_parameter

PLUGIN = PluginDefinition(
    name="filter",
    version=1,
    display_name="Filter",
    description="Keeps the items of an array that match a condition (each item is `item`).",
    category="data",
    parameters=(
        Parameter(
            "items",
            ParameterType.JSON,
            "Items",
            required=True,
            json_type="array",
            description="An array, or an expression yielding one",
            placeholder="{{ nodes.fetch.body.orders }}",
        ),
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
)
