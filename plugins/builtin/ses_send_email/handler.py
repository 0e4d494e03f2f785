from typing import Any

from plugins.builtin.ses_send_email import PLUGIN
from plugins.runtime.aws import client
from plugins.runtime.aws_errors import call
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import FIELD


def _list(value: Any) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    """One email. The runtime runs it through the ledger (``PLUGIN.ledger``): only the
    first attempt with this node's key sends; a repeat returns the message id the first
    one stored."""
    body: dict[str, Any] = {}
    if parameters.get("text"):
        body["Text"] = {"Data": str(parameters["text"]), "Charset": "UTF-8"}
    if parameters.get("html"):
        body["Html"] = {"Data": str(parameters["html"]), "Charset": "UTF-8"}
    destination = {"ToAddresses": _list(parameters["to"])}
    if parameters.get("cc"):
        destination["CcAddresses"] = _list(parameters["cc"])
    if parameters.get("bcc"):
        destination["BccAddresses"] = _list(parameters["bcc"])
    request: dict[str, Any] = {
        "Source": str(parameters["from"]),
        "Destination": destination,
        "Message": {"Subject": {"Data": str(parameters["subject"]), "Charset": "UTF-8"}, "Body": body},
        # For sending events (a configuration set's destinations) to tell a repeat by.
        "Tags": [{"Name": FIELD, "Value": run.idempotency_key}],
    }
    if parameters.get("replyTo"):
        request["ReplyToAddresses"] = _list(parameters["replyTo"])
    result = call("ses", client("ses").send_email, **request)
    return {"messageId": result["MessageId"]}


handler = lambda_handler(PLUGIN, execute)  # through the ledger: PLUGIN declares it
