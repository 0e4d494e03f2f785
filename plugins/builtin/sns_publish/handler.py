import json
from typing import Any

from plugins.builtin.sns_publish import PLUGIN
from plugins.runtime.aws import client, region_of
from plugins.runtime.aws_errors import call
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import FIELD


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    message = parameters["message"]
    request: dict[str, Any] = {
        "TopicArn": parameters["topicArn"],
        "Message": message if isinstance(message, str) else json.dumps(message, separators=(",", ":")),
    }
    if parameters.get("subject"):
        request["Subject"] = str(parameters["subject"])
    if parameters.get("messageGroupId"):
        request["MessageGroupId"] = str(parameters["messageGroupId"])
    attributes = {
        str(k): {"DataType": "String", "StringValue": v if isinstance(v, str) else json.dumps(v)}
        for k, v in (parameters.get("messageAttributes") or {}).items()
    }
    # The attempt's key, for subscribers to drop a repeat by (a user's attribute wins).
    attributes.setdefault(FIELD, {"DataType": "String", "StringValue": run.idempotency_key})
    request["MessageAttributes"] = attributes
    if request["TopicArn"].endswith(".fifo"):
        # SNS drops a second message with this id for 5 minutes (the topic's own
        # content-based deduplication would only drop an identical message).
        request["MessageDeduplicationId"] = run.idempotency_key
    sns = client("sns", region_of(request["TopicArn"]))
    return {"messageId": call("sns", sns.publish, **request)["MessageId"]}


handler = lambda_handler(PLUGIN, execute)
