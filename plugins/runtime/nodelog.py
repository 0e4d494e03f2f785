"""Node logs: one DynamoDB item per node attempt — what the execution trace is built from."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from plugins.runtime.aws import client, node_logs_table

MAX_LOGGED_CHARS = 16 * 1024  # input and output are kept as JSON text, truncated to this
RETENTION_SECONDS = 30 * 24 * 3600


@dataclass(slots=True)
class NodeLog:
    execution_id: str
    node_id: str
    attempt: int
    request_id: str
    started: float
    status: str = "running"
    finished: float = 0.0
    input: Any = None
    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    loop_index: str | None = None  # the loop iteration ("2.0" inside nested loops)

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "executionId": {"S": self.execution_id},
            "nodeAttempt": {"S": f"{self.node_id}#{self.attempt:03d}#{self.request_id}"},
            "nodeId": {"S": self.node_id},
            "attempt": {"N": str(self.attempt)},
            "status": {"S": self.status},
            "startedAt": {"N": f"{self.started:.3f}"},
            "finishedAt": {"N": f"{self.finished:.3f}"},
            "durationMs": {"N": str(round((self.finished - self.started) * 1000, 1))},
            "input": {"S": _bounded(self.input)},
            "output": {"S": _bounded(self.output)},
            "expiresAt": {"N": str(int(self.started) + RETENTION_SECONDS)},
        }
        if self.error_type is not None:
            item["errorType"] = {"S": self.error_type}
            item["errorMessage"] = {"S": (self.error_message or "")[:MAX_LOGGED_CHARS]}
        if self.loop_index is not None:
            item["iteration"] = {"S": self.loop_index}
        return item

    def write(self) -> None:
        self.finished = self.finished or time.time()
        client("dynamodb").put_item(TableName=node_logs_table(), Item=self.item())


def _bounded(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text) <= MAX_LOGGED_CHARS:
        return text
    return json.dumps({"truncated": True, "bytes": len(text.encode()), "head": text[:MAX_LOGGED_CHARS]})


def read_logs(execution_id: str) -> list[dict[str, Any]]:
    """Every node log of an execution, oldest first, as plain dicts."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": node_logs_table(),
        "KeyConditionExpression": "executionId = :e",
        "ExpressionAttributeValues": {":e": {"S": execution_id}},
    }
    while True:
        page = client("dynamodb").query(**kwargs)
        items += [_plain(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda i: (i["startedAt"], i["nodeAttempt"]))


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, typed in item.items():
        ((kind, value),) = typed.items()
        out[key] = float(value) if kind == "N" else value
    for key in ("input", "output"):
        if key in out:
            out[key] = json.loads(out[key])
    return out
