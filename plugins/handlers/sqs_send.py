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
    if parameters.get("messageAttributes"):
        request["MessageAttributes"] = {
            str(name): _attribute(value) for name, value in parameters["messageAttributes"].items()
        }
    sqs = client("sqs", region_of(request["QueueUrl"]))
    return {"messageId": call("sqs", sqs.send_message, **request)["MessageId"]}


def _attribute(value: Any) -> dict[str, str]:
    """An SQS message attribute: a number as a Number, anything else as text (a string
    as it is, other JSON as its JSON text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"DataType": "Number", "StringValue": json.dumps(value)}
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return {"DataType": "String", "StringValue": text}


handler = lambda_handler(PLUGIN, execute)
