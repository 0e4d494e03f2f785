from plugins.sdk import DisplayOptions, Option, Parameter, ParameterType, control_plugin

WHEN_FAILING = DisplayOptions(show={"status": ("fail",)})

PLUGIN = control_plugin(
    name="stop",
    display_name="Stop",
    description="Ends the execution: succeeded, or failed with an error and cause.",
    compiled_by=("statemachines.machine.constructs.stop",),
    parameters=(
        Parameter(
            "status",
            ParameterType.SELECT,
            "Status",
            default="succeed",
            required=True,
            options=(Option("succeed"), Option("fail")),
        ),
        Parameter(
            "error",
            ParameterType.STRING,
            "Error name",
            max_length=256,
            display_options=WHEN_FAILING,
            default="RoutineStopped",
        ),
        Parameter("cause", ParameterType.STRING, "Cause", max_length=32_768, display_options=WHEN_FAILING),
        Parameter(
            "httpStatus",
            ParameterType.NUMBER,
            "HTTP status",
            description="What a webhook caller waiting for the result (respond: result) is answered",
            minimum=400,
            maximum=599,
            integer=True,
            default=500,
            display_options=WHEN_FAILING,
        ),
    ),
    outputs=(),
)
