"""ses-send-email. SES cannot drop a repeat (every SendEmail delivers an email, and
mailboxes drop nothing), so the plugin sends through the runtime's idempotency ledger
(plugins/runtime/ledger.py): the first attempt with a key sends and stores the message id,
a repeat gets that message id back without sending. Safe to repeat through the ledger,
with the limit docs/cost.md states (an attempt that dies between SES's answer and the
ledger's write). Each email also carries the key as the SES message tag
``idempotencyKey``, seen by a configuration set's event destinations.
docs/plugins.md, "Safe to repeat"."""

import re
from collections.abc import Mapping
from typing import Any

from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs

ADDRESS = {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"}
ADDRESSES = {"anyOf": [ADDRESS, {"type": "array", "items": ADDRESS, "minItems": 1}]}


def _addresses(value: Any, path: str) -> list[tuple[str, str]]:
    items = value if isinstance(value, list) else [value]
    if not items:
        return [(path, "give at least one address")]
    for index, item in enumerate(items):
        if not isinstance(item, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", item):
            where = f"{path}[{index}]" if isinstance(value, list) else path
            return [(where, f"{item!r} is not an email address")]
    return []


def _needs_a_body(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not parameters.get("text") and not parameters.get("html"):
        return [("text", "give a 'text' or an 'html' body (or both)")]
    return []


PLUGIN = PluginDefinition(
    name="ses-send-email",
    version=1,
    display_name="SES: send email",
    description="Sends an email through Amazon SES (text, HTML or both).",
    category="aws",
    parameters=(
        Parameter("from", ParameterType.STRING, "From", required=True, pattern=r"[^@\s]+@[^@\s]+"),
        Parameter("to", ParameterType.JSON, "To", required=True, json_schema=ADDRESSES, check=_addresses),
        Parameter("cc", ParameterType.JSON, "Cc", json_schema=ADDRESSES, check=_addresses),
        Parameter("bcc", ParameterType.JSON, "Bcc", json_schema=ADDRESSES, check=_addresses),
        Parameter("replyTo", ParameterType.JSON, "Reply to", json_schema=ADDRESSES, check=_addresses),
        Parameter("subject", ParameterType.STRING, "Subject", required=True, max_length=998),
        Parameter("text", ParameterType.STRING, "Text body"),
        Parameter("html", ParameterType.STRING, "HTML body"),
    ),
    outputs=object_outputs("Sent", messageId=STRING),
    check=_needs_a_body,
    aws_actions=("ses:SendEmail",),
    ledger=True,  # and therefore repeat_safe: see above
)
