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

# One Lambda function per plugin, plus two the compiler needs: the condition evaluator
# (conditions and values Choice rules cannot express) and the approval notifier (stores
# the task token of a paused approval node).
FUNCTION_PREFIX = "routines-"
EVALUATOR = "sys-evaluate"
APPROVAL_NOTIFIER = "sys-approval"


def function_name(plugin: str) -> str:
    return f"{FUNCTION_PREFIX}{plugin}"
