from plugins.sdk import IN, OUT, Kind, PluginDefinition

PLUGIN = PluginDefinition(
    name="merge",
    version=1,
    display_name="Merge",
    description="Joins branches: waits for every branch that is running, then continues. Its "
    "output is the outputs of the branches that ran, by node id. No state of its own.",
    category="flow",
    kind=Kind.CONTROL,
    inputs=(IN,),
    outputs=(OUT,),
)
