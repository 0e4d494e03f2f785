"""eventbridge-put. Each attempt carries its idempotency token as the field
``idempotencyKey`` of the event's detail: an event has no other place for data of ours
that its targets receive, and EventBridge delivers at least once, so targets must tolerate
duplicates already — the key lets them. docs/plugins.md, "Safe to repeat"."""

from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs
from plugins.sdk.idempotency import FIELD

PLUGIN = PluginDefinition(
    name="eventbridge-put",
    version=1,
    display_name="EventBridge: put event",
    description="Puts one event on an EventBridge bus.",
    category="aws",
    parameters=(
        Parameter("eventBusName", ParameterType.STRING, "Event bus", default="default", max_length=1600),
        Parameter("source", ParameterType.STRING, "Source", required=True, max_length=256),
        Parameter("detailType", ParameterType.STRING, "Detail type", required=True, max_length=128),
        Parameter(
            "detail",
            ParameterType.JSON,
            "Detail",
            required=True,
            json_type="object",
            description=f"'{FIELD}' is added (the attempt's idempotency key) unless given",
        ),
        Parameter("resources", ParameterType.JSON, "Resources (ARNs)", json_type="array"),
    ),
    outputs=object_outputs("Put", eventId=STRING),
    aws_actions=("events:PutEvents",),
    repeat_safe=True,
)
