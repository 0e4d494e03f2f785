"""The approval notifier: stores the task token of a paused approval node, keyed by
execution and node, so the API (or a test) can resume it with SendTaskSuccess."""

from __future__ import annotations

import time
from typing import Any

from plugins.builtin.control.approval import PLUGIN
from plugins.runtime.aws import approvals_table, client
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler

RETENTION_SECONDS = 366 * 24 * 3600  # Standard executions last at most a year


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    token = run.invocation.task_token
    if not token:
        raise UserError("an approval needs a task token ($$.Task.Token)")
    now = int(time.time())
    item = {
        "executionId": {"S": run.invocation.execution.id},
        "nodeId": {"S": run.invocation.node},
        "taskToken": {"S": token},
        "message": {"S": str(parameters.get("message") or "")},
        "createdAt": {"N": str(now)},
        "expiresAt": {"N": str(now + RETENTION_SECONDS)},
    }
    if parameters.get("timeoutSeconds"):
        item["timeoutSeconds"] = {"N": str(parameters["timeoutSeconds"])}
    client("dynamodb").put_item(TableName=approvals_table(), Item=item)
    return {"waiting": True}


handler = lambda_handler(PLUGIN, execute)
