from plugins.sdk import Parameter, ParameterType, PluginDefinition
from plugins.sdk.common import STRING, object_outputs

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
    ),
    outputs=object_outputs("Written", tableName=STRING, item={"type": "object"}),
    aws_actions=("dynamodb:PutItem",),
)
