"""dynamodb-put. A plain put is safe to repeat (the repeat writes the same item again); a
put with a condition is not — its repeat fails its own condition — unless ``idempotent``
stores the attempt's idempotency token in the item and recognises it on the repeat.
docs/plugins.md, "Safe to repeat"."""

from collections.abc import Mapping
from typing import Any

from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs
from plugins.sdk.idempotency import FIELD


def _condition_without_key(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    if parameters.get("conditionExpression") and parameters.get("idempotent") is not True:
        return [
            ("conditionExpression", "a repeated put fails its own condition: set 'idempotent' to true"),
        ]
    return []


PLUGIN = PluginDefinition(
    name="dynamodb-put",
    version=1,
    display_name="DynamoDB: put item",
    description="Writes one item (plain JSON, converted to DynamoDB types) to a table.",
    category="aws",
    parameters=(
        Parameter(
            "tableName", ParameterType.STRING, "Table", required=True, pattern=r"[A-Za-z0-9_.-]{3,255}"
        ),
        Parameter("item", ParameterType.JSON, "Item", required=True, json_type="object"),
        Parameter(
            "conditionExpression",
            ParameterType.STRING,
            "Condition expression",
            description="e.g. attribute_not_exists(pk), to refuse overwrites",
        ),
        Parameter(
            "idempotent",
            ParameterType.BOOLEAN,
            "Idempotent",
            default=False,
            description=f"Store the attempt's idempotency key in the item as '{FIELD}' (or use "
            "the item's own): a repeat of this put (a retry) finds it, writes nothing and "
            "succeeds, even when the condition expression refuses",
        ),
    ),
    outputs=object_outputs("Written", tableName=STRING, item={"type": "object"}),
    aws_actions=("dynamodb:PutItem",),
    repeat_safe=True,
    repeat_check=_condition_without_key,
)
