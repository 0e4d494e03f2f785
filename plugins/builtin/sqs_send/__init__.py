"""sqs-send. Each attempt carries its idempotency token: as the MessageDeduplicationId on a
FIFO queue (SQS drops the repeat), as the message attribute ``idempotencyKey`` on a
standard queue (whose consumers must tolerate SQS's own duplicates, and can now tell a
repeated send by it). docs/plugins.md, "Safe to repeat"."""

import math
import re
from typing import Any

from contract.expressions import has_expression
from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs
from plugins.sdk.idempotency import FIELD

MAX_ATTRIBUTES = 10  # per message (SQS)
# Attribute names: letters, digits, '_', '-' and '.', at most 256; no leading, trailing or
# doubled period; the AWS. and Amazon. prefixes are reserved (any case).
_NAME = re.compile(r"(?!\.)(?!.*\.\.)[A-Za-z0-9_.-]{1,256}(?<!\.)")
_RESERVED = re.compile(r"(?i)(?:aws|amazon)\.")
# The characters SQS accepts in a string value (XML 1.0's).
_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_NUMBER_DIGITS = 38  # precision of a Number attribute; its magnitude is 1e-128 to 1e126


def attribute_problem(name: str, value: Any) -> str | None:
    """What SQS would refuse in one attribute (None: nothing). Shared by the save-time
    check and the handler, which meets values expressions produced."""
    if not _NAME.fullmatch(name) or _RESERVED.match(name):
        return (
            "is not an attribute name: 1 to 256 letters, digits, '_', '-' and '.', with no "
            "leading, trailing or doubled '.', not starting with 'AWS.' or 'Amazon.'"
        )
    if value is None:
        return "has no value (null): give a string, a number or other JSON"
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = value if isinstance(value, str) else None
        if text == "":
            return "is empty: SQS refuses an empty attribute value"
        if text is not None and not _TEXT.fullmatch(text):
            return "holds a control character SQS refuses"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if value != 0 and not 1e-128 <= abs(value) <= 1e126:
        return "is outside the range of an SQS Number (1e-128 to 1e126 in magnitude)"
    if isinstance(value, int) and len(str(abs(value))) > _NUMBER_DIGITS:
        return f"has more than {_NUMBER_DIGITS} digits, the precision of an SQS Number"
    return None


def _check_attributes(value: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []  # an expression, or a wrong type the JSON type check reports
    problems = []
    if len(value) > MAX_ATTRIBUTES:
        problems.append((path, f"at most {MAX_ATTRIBUTES} attributes per message, got {len(value)}"))
    for name, item in value.items():
        literal = not has_expression(name) and not (isinstance(item, str) and has_expression(item))
        problem = attribute_problem(name, item) if literal else None
        if problem:
            problems.append((f"{path}.{name}", f"attribute '{name}' {problem}"))
    return problems


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
        Parameter(
            "messageDeduplicationId",
            ParameterType.STRING,
            "Deduplication id (FIFO)",
            max_length=128,
            description="Default: the attempt's idempotency key (the same on a retry)",
        ),
        Parameter(
            "delaySeconds", ParameterType.NUMBER, "Delay (seconds)", minimum=0, maximum=900, integer=True
        ),
        Parameter(
            "messageAttributes",
            ParameterType.JSON,
            "Attributes",
            json_type="object",
            description="name → value: a number is sent as a Number attribute, anything else as a "
            f"String (other JSON as its text); at most {MAX_ATTRIBUTES}, one fewer on a standard "
            f"queue, whose messages also carry '{FIELD}'",
            check=_check_attributes,
        ),
    ),
    outputs=object_outputs("Sent", messageId=STRING),
    aws_actions=("sqs:SendMessage",),
    repeat_safe=True,
)
