from plugins.sdk import OUT, Option, Parameter, ParameterType, control_plugin

PLUGIN = control_plugin(
    name="merge",
    display_name="Merge",
    description="Joins branches: waits for every branch that is running, then continues. Its "
    "output is the outputs of the branches that ran, by node id. No state of its own. With "
    "mode 'first', the first parallel branch to arrive wins and the others are cancelled.",
    compiled_by=("statemachines.machine.race.merge_step", "statemachines.machine.race.race_step"),
    parameters=(
        Parameter(
            "mode",
            ParameterType.SELECT,
            "Mode",
            default="all",
            options=(
                Option("all", "All", "Wait for every branch that is running"),
                Option(
                    "first",
                    "First",
                    "The first parallel branch to arrive wins (its output, by node id, is the "
                    "merge's); the others are cancelled, a waiting approval withdrawn. A branch "
                    "may end without arriving (an approval rejected into nowhere); when none "
                    "arrives, the merge is skipped. A Parallel state and a Catch, no Lambda",
                ),
            ),
        ),
    ),
    outputs=(OUT,),
)
