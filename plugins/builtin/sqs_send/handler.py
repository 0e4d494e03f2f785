import json
from typing import Any
from urllib.parse import urlparse

from plugins.builtin.sqs_send import MAX_ATTRIBUTES, PLUGIN, attribute_problem
from plugins.runtime.aws import client, region_of
from plugins.runtime.aws_errors import call
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import FIELD


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    body = parameters["messageBody"]
    if not isinstance(parameters["queueUrl"], str) or not parameters["queueUrl"]:
        raise UserError("'queueUrl' must be a queue URL (an expression gave none)")
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
    attributes = _attributes(parameters.get("messageAttributes"))
    if is_fifo(str(request["QueueUrl"])):
        # SQS drops a second message with this id for 5 minutes: a retry or an Express
        # repeat (whose executions last at most 5 minutes) is not delivered twice.
        request.setdefault("MessageDeduplicationId", run.idempotency_key)
    elif FIELD not in attributes:
        # A standard queue deduplicates nothing: its consumers get the key to do it.
        if len(attributes) >= MAX_ATTRIBUTES:
            raise UserError(
                f"'messageAttributes': a message to a standard queue carries its idempotency key "
                f"as the attribute '{FIELD}', so it takes at most {MAX_ATTRIBUTES - 1} more"
            )
        attributes[FIELD] = {"DataType": "String", "StringValue": run.idempotency_key}
    if attributes:
        request["MessageAttributes"] = attributes
    sqs = client("sqs", region_of(request["QueueUrl"]))
    return {"messageId": call("sqs", sqs.send_message, **request)["MessageId"]}


def is_fifo(queue_url: str) -> bool:
    return urlparse(queue_url).path.rstrip("/").endswith(".fifo")


def _attributes(value: Any) -> dict[str, dict[str, str]]:
    """The user's attributes as SQS takes them, refused with the attribute's path when SQS
    would refuse them (an expression may have produced any value)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"'messageAttributes' must be an object of name → value, got {type(value).__name__}")
    if len(value) > MAX_ATTRIBUTES:
        raise UserError(
            f"'messageAttributes': at most {MAX_ATTRIBUTES} attributes per message, got {len(value)}"
        )
    out = {}
    for name, item in value.items():
        problem = attribute_problem(str(name), item)
        if problem:
            raise UserError(f"'messageAttributes.{name}' {problem}")
        out[str(name)] = _attribute(item)
    return out


def _attribute(value: Any) -> dict[str, str]:
    """An SQS message attribute: a number as a Number, anything else as text (a string
    as it is, other JSON as its JSON text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"DataType": "Number", "StringValue": json.dumps(value)}
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return {"DataType": "String", "StringValue": text}


handler = lambda_handler(PLUGIN, execute)
