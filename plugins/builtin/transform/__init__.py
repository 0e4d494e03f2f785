from plugins.sdk import ERROR, Parameter, ParameterType, PluginDefinition, Port, PortType

PLUGIN = PluginDefinition(
    name="transform",
    version=1,
    display_name="Transform",
    description="Builds an object from fields whose values are literals or expressions.",
    category="data",
    parameters=(
        Parameter(
            "fields",
            ParameterType.JSON,
            "Fields",
            required=True,
            json_type="object",
            description="Output object; nested objects and lists are allowed",
        ),
    ),
    outputs=(Port("out", PortType.MAIN, "Output", "the built object", {"type": "object"}), ERROR),
    repeat_safe=True,  # pure: its only effect is its output
)
