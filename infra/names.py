"""Names and keys of the stack's resources, shared by the CDK app and the local runtime so
both create exactly the same tables. Plain Python: importing it never loads aws_cdk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    partition_key: str
    sort_key: str | None = None


ROUTINES_TABLE = TableSpec("routines", "ownerId", "routineId")
EXECUTIONS_TABLE = TableSpec("executions", "ownerId", "executionId")
NODE_LOGS_TABLE = TableSpec("node-logs", "executionId", "nodeAttempt")
# Paused approval nodes: their task token, keyed by execution and node.
APPROVALS_TABLE = TableSpec("approvals", "executionId", "nodeId")
TABLES = (ROUTINES_TABLE, EXECUTIONS_TABLE, NODE_LOGS_TABLE, APPROVALS_TABLE)
PAYLOAD_BUCKET = "payloads"

# Environment variables through which Lambdas learn the physical names.
ENV_ROUTINES_TABLE = "ROUTINES_TABLE"
ENV_EXECUTIONS_TABLE = "EXECUTIONS_TABLE"
ENV_NODE_LOGS_TABLE = "NODE_LOGS_TABLE"
ENV_PAYLOAD_BUCKET = "PAYLOAD_BUCKET"
ENV_APPROVALS_TABLE = "APPROVALS_TABLE"

# The control plane. Handler strings are shared by the CDK stack and `routines serve`, so
# both run the same code; the environment variables carry what CDK provisions (and the
# local runtime fills in with its own names).
API_HANDLER = "functions.api.handler.lambda_handler"
WEBHOOK_HANDLER = "functions.webhook.handler.lambda_handler"
RECORDER_HANDLER = "functions.recorder.handler.lambda_handler"
IDEMPOTENCY_TABLE = TableSpec("idempotency", "id")
ENV_IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
# The role every routine state machine runs under (activation passes it).
ENV_EXECUTION_ROLE_ARN = "EXECUTION_ROLE_ARN"
# The role EventBridge Scheduler and event rules assume to start routine state machines.
ENV_TRIGGER_ROLE_ARN = "TRIGGER_ROLE_ARN"
ENV_SCHEDULE_GROUP = "SCHEDULE_GROUP"
ENV_EVENT_BUS = "EVENT_BUS_NAME"
ENV_STAGE = "STAGE"
# Webhook secrets live in Secrets Manager under this prefix (plugins may read only their own
# prefix, never these).
WEBHOOK_SECRET_PREFIX = "routines/webhooks/"

# One Lambda function per plugin, plus two the compiler needs: the condition evaluator
# (conditions and values Choice rules cannot express) and the approval notifier (stores
# the task token of a paused approval node).
FUNCTION_PREFIX = "routines-"
EVALUATOR = "sys-evaluate"
APPROVAL_NOTIFIER = "sys-approval"


def function_name(plugin: str) -> str:
    return f"{FUNCTION_PREFIX}{plugin}"
