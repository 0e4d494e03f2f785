import json
from typing import Any

from plugins.builtin.eventbridge_put import PLUGIN
from plugins.handlers.aws_errors import call
from plugins.runtime.aws import client, region_of
from plugins.runtime.errors import OperationalError, UserError
from plugins.runtime.handler import RunContext, lambda_handler


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    detail = parameters.get("detail") or {}
    entry: dict[str, Any] = {
        "EventBusName": parameters.get("eventBusName") or "default",
        "Source": parameters["source"],
        "DetailType": parameters["detailType"],
        "Detail": detail if isinstance(detail, str) else json.dumps(detail, separators=(",", ":")),
    }
    if parameters.get("resources"):
        entry["Resources"] = [str(r) for r in parameters["resources"]]
    events = client("events", region_of(entry["EventBusName"]))
    result = call("events", events.put_events, Entries=[entry])
    first = result["Entries"][0]
    if "EventId" not in first:
        code = first.get("ErrorCode", "Unknown")
        error = OperationalError if "Throttl" in code or "Internal" in code else UserError
        raise error(f"events: {code}: {first.get('ErrorMessage', '')}", code=code)
    return {"eventId": first["EventId"]}


handler = lambda_handler(PLUGIN, execute)
