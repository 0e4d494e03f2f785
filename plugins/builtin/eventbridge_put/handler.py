import json
from typing import Any

from plugins.builtin.eventbridge_put import PLUGIN
from plugins.runtime.aws import client, region_of
from plugins.runtime.aws_errors import call
from plugins.runtime.errors import OperationalError, UserError
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import FIELD


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    detail = _with_key(parameters.get("detail") or {}, run.idempotency_key)
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


def _with_key(detail: Any, key: str) -> Any:
    """The detail with the attempt's key in it (a user's field of that name wins). Detail
    given as JSON text is read first; text that is not a JSON object goes as it is."""
    if isinstance(detail, str):
        try:
            parsed = json.loads(detail)
        except ValueError:
            return detail
        if not isinstance(parsed, dict):
            return detail
        detail = parsed
    if isinstance(detail, dict):
        return {**detail, FIELD: detail.get(FIELD, key)}
    return detail


handler = lambda_handler(PLUGIN, execute)
