import json
from typing import Any

from plugins.builtin.sns_publish import PLUGIN
from plugins.handlers.aws_errors import call
from plugins.runtime.aws import client, region_of
from plugins.runtime.handler import RunContext, lambda_handler


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
    attributes = parameters.get("messageAttributes") or {}
    if attributes:
        request["MessageAttributes"] = {
            str(k): {"DataType": "String", "StringValue": v if isinstance(v, str) else json.dumps(v)}
            for k, v in attributes.items()
        }
    sns = client("sns", region_of(request["TopicArn"]))
    return {"messageId": call("sns", sns.publish, **request)["MessageId"]}


handler = lambda_handler(PLUGIN, execute)
