from plugins.sdk import ERROR, Parameter, ParameterType, Port, PortType, control_plugin

PLUGIN = control_plugin(
    name="approval",
    display_name="Approval",
    description="Pauses until someone approves or rejects through the API (a Task with "
    ".waitForTaskToken); 'timeout' fires after timeoutSeconds.",
    compiled_by=("statemachines.machine.constructs.approval",),
    parameters=(
        Parameter(
            "message", ParameterType.STRING, "Message", max_length=4096, description="Shown to the approver"
        ),
        Parameter(
            "timeoutSeconds",
            ParameterType.NUMBER,
            "Timeout (seconds)",
            minimum=1,
            maximum=31_536_000,
            integer=True,
        ),
        Parameter(
            "notifyUrl",
            ParameterType.STRING,
            "Notify URL",
            max_length=8192,
            pattern=r"https?://\S+",
            pattern_hint="an http:// or https:// URL without spaces",
            description="POSTed {executionId, nodeId, message, approvalUrl} when the node starts waiting",
        ),
    ),
    outputs=(
        Port("approved", PortType.CONDITION, "Approved"),
        Port("rejected", PortType.CONDITION, "Rejected"),
        Port(
            "timeout",
            PortType.CONDITION,
            "Timed out",
            "Fires only when timeoutSeconds is set",
            requires="timeoutSeconds",
        ),
        ERROR,
    ),
)
