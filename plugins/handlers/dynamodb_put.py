from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from plugins.builtin.dynamodb_put import PLUGIN
from plugins.handlers.aws_errors import call
from plugins.runtime.aws import client
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler

_serializer = TypeSerializer()


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
    request: dict[str, Any] = {"TableName": parameters["tableName"], "Item": typed}
    if parameters.get("conditionExpression"):
        request["ConditionExpression"] = parameters["conditionExpression"]
    call("dynamodb", client("dynamodb").put_item, **request)
    return {"tableName": parameters["tableName"], "item": item}


handler = lambda_handler(PLUGIN, execute)
