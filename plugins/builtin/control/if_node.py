from plugins.sdk import Port, PortType, control_plugin
from plugins.sdk.common import condition_parameter

PLUGIN = control_plugin(
    name="if",
    display_name="If",
    description="Routes to 'true' or 'false'. Compiles to a Choice state; conditions a Choice "
    "cannot express ('matches') are evaluated by a small Lambda first.",
    compiled_by=("statemachines.machine.constructs.branch",),
    parameters=(condition_parameter(),),
    outputs=(Port("true", PortType.CONDITION, "True"), Port("false", PortType.CONDITION, "False")),
)
