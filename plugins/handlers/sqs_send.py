import json
from typing import Any

from plugins.builtin.sqs_send import PLUGIN
from plugins.handlers.aws_errors import call
from plugins.runtime.aws import client, region_of
from plugins.runtime.handler import RunContext, lambda_handler


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    body = parameters["messageBody"]
    request: dict[str, Any] = {
        "QueueUrl": parameters["queueUrl"],
        "MessageBody": body if isinstance(body, str) else json.dumps(body, separators=(",", ":")),
    }
    for name, key in (
        ("messageGroupId", "MessageGroupId"),
        ("messageDeduplicationId", "MessageDeduplicationId"),
    ):
        if parameters.get(name):
            request[key] = str(parameters[name])
    if parameters.get("delaySeconds"):
        request["DelaySeconds"] = int(parameters["delaySeconds"])
    sqs = client("sqs", region_of(request["QueueUrl"]))
    return {"messageId": call("sqs", sqs.send_message, **request)["MessageId"]}


handler = lambda_handler(PLUGIN, execute)
