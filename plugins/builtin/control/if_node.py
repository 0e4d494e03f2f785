from plugins.sdk import IN, Kind, PluginDefinition, Port, PortType
from plugins.sdk.common import condition_parameter

PLUGIN = PluginDefinition(
    name="if",
    version=1,
    display_name="If",
    description="Routes to 'true' or 'false'. Compiles to a Choice state; conditions a Choice "
    "cannot express ('matches') are evaluated by a small Lambda first.",
    category="flow",
    kind=Kind.CONTROL,
    compiled_by=("statemachines.machine.constructs.branch",),
    parameters=(condition_parameter(),),
    inputs=(IN,),
    outputs=(Port("true", PortType.CONDITION, "True"), Port("false", PortType.CONDITION, "False")),
)
