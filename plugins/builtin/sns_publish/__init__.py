"""sns-publish. Each attempt carries its idempotency token as the message attribute
``idempotencyKey`` (subscribers get it; SNS itself delivers at least once, so they must
tolerate duplicates already), and on a FIFO topic also as the MessageDeduplicationId (SNS
drops the repeat). docs/plugins.md, "Safe to repeat"."""

from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs
from plugins.sdk.idempotency import FIELD

PLUGIN = PluginDefinition(
    name="sns-publish",
    version=1,
    display_name="SNS: publish",
    description="Publishes a message to an SNS topic (objects are sent as JSON).",
    category="aws",
    parameters=(
        Parameter(
            "topicArn",
            ParameterType.STRING,
            "Topic ARN",
            required=True,
            pattern=r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+",
        ),
        Parameter("message", ParameterType.JSON, "Message", required=True),
        Parameter("subject", ParameterType.STRING, "Subject", max_length=100),
        Parameter("messageGroupId", ParameterType.STRING, "Message group (FIFO)", max_length=128),
        Parameter(
            "messageAttributes",
            ParameterType.JSON,
            "Attributes",
            json_type="object",
            description=f"name → value, sent as String attributes; '{FIELD}' is added (the "
            "attempt's idempotency key) unless given",
        ),
    ),
    outputs=object_outputs("Published", messageId=STRING),
    aws_actions=("sns:Publish",),
    repeat_safe=True,
)
