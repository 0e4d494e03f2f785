"""The approval notifier: stores the task token of a paused approval node, keyed by
execution and node, so the API (or a test) can resume it with SendTaskSuccess; with
``notifyUrl``, also POSTs the approval link there. The token is stored first, so a
notification that cannot be delivered (logged) never makes the node undecidable."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

from contract.names import ENV_API_BASE_URL
from plugins.builtin.control.approval import PLUGIN
from plugins.runtime.aws import approvals_table, client
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler

RETENTION_SECONDS = 366 * 24 * 3600  # Standard executions last at most a year
NOTIFY_TIMEOUT_SECONDS = 5

log = logging.getLogger(__name__)


def notify(url: str, execution_arn: str, node: str, message: str) -> None:
    execution_id = execution_arn.split(":", 6)[-1]
    base = (os.environ.get(ENV_API_BASE_URL) or "").rstrip("/")
    body = {
        "executionId": execution_id,
        "nodeId": node,
        "message": message,
        "approvalUrl": f"{base}/executions/{execution_id}/approvals/{node}",
        "decide": {"method": "POST", "body": {"decision": "approve | reject", "data": "optional"}},
    }
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_SECONDS) as reply:
            reply.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        log.warning("approval notification to %s failed: %s", url, error)


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
    if parameters.get("notifyUrl"):
        notify(
            str(parameters["notifyUrl"]),
            run.invocation.execution.id,
            run.invocation.node,
            item["message"]["S"],
        )
    return {"waiting": True}


handler = lambda_handler(PLUGIN, execute)
