from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs

PLUGIN = PluginDefinition(
    name="sqs-send",
    version=1,
    display_name="SQS: send message",
    description="Sends a message to an SQS queue (objects are sent as JSON).",
    category="aws",
    parameters=(
        Parameter("queueUrl", ParameterType.STRING, "Queue URL", required=True, max_length=2048),
        Parameter("messageBody", ParameterType.JSON, "Message body", required=True),
        Parameter("messageGroupId", ParameterType.STRING, "Message group (FIFO)", max_length=128),
        Parameter("messageDeduplicationId", ParameterType.STRING, "Deduplication id (FIFO)", max_length=128),
        Parameter(
            "delaySeconds", ParameterType.NUMBER, "Delay (seconds)", minimum=0, maximum=900, integer=True
        ),
        Parameter(
            "messageAttributes",
            ParameterType.JSON,
            "Attributes",
            json_type="object",
            description="name → value: a number is sent as a Number attribute, anything else as a String",
        ),
    ),
    outputs=object_outputs("Sent", messageId=STRING),
    aws_actions=("sqs:SendMessage",),
)
