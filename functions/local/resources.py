"""What a routine's AWS plugin nodes write to, created in the local AWS before it runs.

In a provisioned account the SQS queues, SNS topics, EventBridge buses, DynamoDB tables
and SES sender identities a routine names already exist; locally nothing does. So a
routine that would work there works here, the local runtime creates each resource a node
names *literally* (a name built by an expression is only known at run time, and is left
alone), in the region and account its URL or ARN names.

DynamoDB tables are created with a string partition key: the attribute named in an
``attribute_not_exists(...)`` condition if there is one, else the item's first attribute.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3

from functions.local.environment import REGION

_EXPRESSION = "{{"
_SQS_HOST = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com$")
_NOT_EXISTS = re.compile(r"attribute_not_exists\(\s*([A-Za-z0-9_]+)\s*\)")


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource to create: ``kind`` (queue, topic, bus, table, sender), name, region."""

    kind: str
    name: str
    region: str = REGION
    key: str = ""  # a table's partition key


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) and value and _EXPRESSION not in value else None


def _queue(parameters: dict[str, Any]) -> Resource | None:
    url = _literal(parameters.get("queueUrl"))
    if url is None:
        return None
    parsed = urlparse(url)
    name = parsed.path.rstrip("/").rsplit("/", 1)[-1]
    match = _SQS_HOST.match(parsed.hostname or "")
    return Resource("queue", name, match.group(1) if match else REGION) if name else None


def _topic(parameters: dict[str, Any]) -> Resource | None:
    arn = _literal(parameters.get("topicArn"))
    parts = arn.split(":") if arn else []
    if len(parts) != 6 or parts[2] != "sns":
        return None
    return Resource("topic", parts[5], parts[3] or REGION)


def _bus(parameters: dict[str, Any]) -> Resource | None:
    name = _literal(parameters.get("eventBusName"))
    if name is None or name == "default":
        return None
    if name.startswith("arn:"):
        parts = name.split(":")
        return Resource("bus", parts[5].removeprefix("event-bus/"), parts[3] or REGION)
    return Resource("bus", name)


def _table(parameters: dict[str, Any]) -> Resource | None:
    name = _literal(parameters.get("tableName"))
    item = parameters.get("item")
    if name is None or not isinstance(item, dict) or not item:
        return None
    condition = parameters.get("conditionExpression")
    match = _NOT_EXISTS.search(condition) if isinstance(condition, str) else None
    return Resource("table", name, key=match.group(1) if match else str(next(iter(item))))


def _sender(parameters: dict[str, Any]) -> Resource | None:
    address = _literal(parameters.get("from"))
    return Resource("sender", address) if address else None


FINDERS: dict[str, Callable[[dict[str, Any]], Resource | None]] = {
    "sqs-send": _queue,
    "sns-publish": _topic,
    "eventbridge-put": _bus,
    "dynamodb-put": _table,
    "ses-send-email": _sender,
}


def resources_of(document: Any) -> list[Resource]:
    """The resources a routine document's nodes name literally, each once, in order."""
    found: dict[tuple[str, str, str], Resource] = {}
    nodes = document.get("nodes") if isinstance(document, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("parameters"), dict):
            continue
        finder = FINDERS.get(str(node.get("plugin")))
        resource = finder(node["parameters"]) if finder else None
        if resource is not None:
            found.setdefault((resource.kind, resource.name, resource.region), resource)
    return list(found.values())


def create(resource: Resource) -> None:
    """Create one resource in the (already mocked) local AWS; an existing one is kept."""
    client: Any = boto3.client(_SERVICE[resource.kind], region_name=resource.region)  # type: ignore[call-overload]
    if resource.kind == "queue":
        attributes = {"FifoQueue": "true"} if resource.name.endswith(".fifo") else {}
        client.create_queue(QueueName=resource.name, Attributes=attributes)  # idempotent
    elif resource.kind == "topic":
        attributes = {"FifoTopic": "true"} if resource.name.endswith(".fifo") else {}
        client.create_topic(Name=resource.name, Attributes=attributes)  # idempotent
    elif resource.kind == "bus":
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_event_bus(Name=resource.name)
    elif resource.kind == "table":
        with contextlib.suppress(client.exceptions.ResourceInUseException):
            client.create_table(
                TableName=resource.name,
                KeySchema=[{"AttributeName": resource.key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": resource.key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
    elif resource.kind == "sender":
        client.verify_email_identity(EmailAddress=resource.name)


_SERVICE = {"queue": "sqs", "topic": "sns", "bus": "events", "table": "dynamodb", "sender": "ses"}
