from plugins.sdk import Parameter, ParameterType, PluginDefinition, Port, PortType

PLUGIN = PluginDefinition(
    name="static-data",
    version=1,
    display_name="Static data",
    description="Emits a fixed JSON value (expressions inside it are resolved).",
    category="data",
    parameters=(Parameter("data", ParameterType.JSON, "Data", required=True),),
    outputs=(Port("out", PortType.MAIN, "Output", "the data itself"), Port("error", PortType.ERROR, "Error")),
    repeat_safe=True,  # pure: its only effect is its output
)
