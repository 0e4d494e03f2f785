from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from plugins.builtin.dynamodb_put import PLUGIN
from plugins.runtime.aws import client
from plugins.runtime.aws_errors import call
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.sdk.idempotency import FIELD

_serializer = TypeSerializer()
# Neither can clash with the user's condition: this plugin takes no placeholders of theirs.
_NAME, _VALUE = "#routinesIdempotencyKey", ":routinesIdempotencyKey"


def _decimals(value: Any) -> Any:
    """JSON numbers → Decimal, which is what DynamoDB's serializer accepts."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    item = parameters["item"]
    if not isinstance(item, dict) or not item:
        raise UserError("'item' must be a non-empty object")
    try:
        typed = {str(k): _serializer.serialize(_decimals(v)) for k, v in item.items()}
    except (TypeError, ValueError) as exc:
        raise UserError(f"'item' cannot be stored in DynamoDB: {exc}") from None
    request: dict[str, Any] = {"TableName": parameters["tableName"], "Item": dict(typed)}
    if parameters.get("conditionExpression"):
        request["ConditionExpression"] = parameters["conditionExpression"]
    if parameters.get("idempotent"):
        _guard(request, request["Item"].setdefault(FIELD, {"S": run.idempotency_key}))
    call("dynamodb", _put, request=request)
    return {"tableName": parameters["tableName"], "item": item}


def _guard(request: dict[str, Any], key: dict[str, Any]) -> None:
    """Write only when the stored item does not hold this key already (and the user's
    condition, if any, holds); on a refusal DynamoDB returns the stored item, for _put to
    tell this attempt's earlier put from a real refusal."""
    guard = f"(attribute_not_exists({_NAME}) OR {_NAME} <> {_VALUE})"
    user = request.get("ConditionExpression")
    request["ConditionExpression"] = f"({user}) AND {guard}" if user else guard
    request["ExpressionAttributeNames"] = {_NAME: FIELD}
    request["ExpressionAttributeValues"] = {_VALUE: key}
    request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"


def _put(request: dict[str, Any]) -> None:
    try:
        client("dynamodb").put_item(**request)
    except ClientError as exc:
        refused = exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
        # With ReturnValuesOnConditionCheckFailure, the refusal carries the stored item.
        stored: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]
        key = dict(request.get("ExpressionAttributeValues") or {}).get(_VALUE)
        if refused and key is not None and stored.get(FIELD) == key:
            return  # this put happened before (a retry or a repeat): it succeeded then
        raise  # classified by call(), as every AWS failure


handler = lambda_handler(PLUGIN, execute)
