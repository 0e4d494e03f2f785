"""Names and keys of the stack's resources, shared by the CDK app and the local runtime so
both create exactly the same tables. Plain Python: importing it never loads aws_cdk."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """A global secondary index (string keys, all attributes projected)."""

    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A DynamoDB table as both the CDK app and the local runtime create it. ``ttl`` names
    the attribute (epoch seconds) after which DynamoDB deletes a record. ``stream``: the
    deployed table streams its new images (the local runtime hands writes on in-process
    instead, functions/local/status_events.py)."""

    name: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[IndexSpec, ...] = ()
    ttl: str | None = None
    stream: bool = False


# Single-table layout (docs/storage.md): per owner, a head item "R#<routineId>" and one
# immutable item per saved version "V#<routineId>#<version:08d>". The sparse index holds
# heads only: it finds a routine's owner from its id (webhooks, execution events).
ROUTINES_BY_ID = IndexSpec("byRoutineId", "routineId")
ROUTINES_TABLE = TableSpec("routines", "ownerId", "sk", indexes=(ROUTINES_BY_ID,))
# Keyed by execution id alone: the recorder learns of an execution from a Step Functions
# event that names no owner. Owner scoping is a check on read; listing goes through the
# per-routine indexes, newest first (docs/storage.md).
EXECUTIONS_BY_ROUTINE = IndexSpec("byRoutine", "routineKey", "startKey")
EXECUTIONS_BY_STATUS = IndexSpec("byRoutineStatus", "routineStatusKey", "startKey")
# Sparse: only records of Express executions carry ``pending`` (RUNNING while they run,
# ENDED once their machine wrote the end), until the recorder's sweep settles them
# (statemachines/machine/records.py, functions/recorder/recorder.py).
EXECUTIONS_BY_PENDING = IndexSpec("byPending", "pending", "startKey")
# Its stream feeds the recorder the ends Express machines write (records with ``pending``
# = PENDING_ENDED), so they are settled as they are written, not a sweep later.
EXECUTIONS_TABLE = TableSpec(
    "executions",
    "executionId",
    indexes=(EXECUTIONS_BY_ROUTINE, EXECUTIONS_BY_STATUS, EXECUTIONS_BY_PENDING),
    stream=True,
)
# An Express machine's end, written by the machine itself and not settled yet
# (statemachines/machine/records.py writes it; the recorder settles it).
PENDING_ENDED = "ENDED"
NODE_LOGS_TABLE = TableSpec("node-logs", "executionId", "nodeAttempt", ttl="expiresAt")
# Paused approval nodes: their task token, keyed by execution and node.
APPROVALS_TABLE = TableSpec("approvals", "executionId", "nodeId", ttl="expiresAt")
TABLES = (ROUTINES_TABLE, EXECUTIONS_TABLE, NODE_LOGS_TABLE, APPROVALS_TABLE)
PAYLOAD_BUCKET = "payloads"
# Every object the product writes to the payload bucket lives under this prefix: plugins
# and routine state machines may read and write only there.
PAYLOAD_PREFIX = "payloads/"
# Execution records too large for an item (functions/store/executions.py) live here; only
# the control plane (API, webhook, recorder) reads and writes them.
RECORDS_PREFIX = "executions/"
# A trigger too large for the execution input is stored as
# ``<PAYLOAD_PREFIX><execution name>/<TRIGGER_OBJECT>`` by whoever starts the execution
# (plugins/runtime/offload.py ``trigger_input``): the API and webhook functions may write
# only such objects.
TRIGGER_OBJECT = "trigger.json"

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
IDEMPOTENCY_TABLE = TableSpec("idempotency", "id", ttl="expiration")
ENV_IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
# The API's public base URL (approval links the approval notifier sends are built on it).
ENV_API_BASE_URL = "API_BASE_URL"
# The role every routine state machine runs under (activation passes it).
ENV_EXECUTION_ROLE_ARN = "EXECUTION_ROLE_ARN"
# A routine state machine that starts executions (an execute-routine node's child, its own
# distributed loop's iterations) runs under a role of its own instead, which activation
# creates (functions/activation/roles.py): under this IAM path, then the stage
# (``/routines/<stage>/``; ``/routines/local/`` on the local runtime), with the stage's
# permissions boundary and the shared execution policy (what the role above may do)
# attached. The three reach the control plane through these variables.
ROUTINE_ROLE_PATH = "/routines/"
ENV_EXECUTION_POLICY_ARN = "EXECUTION_POLICY_ARN"
ENV_ROUTINE_ROLE_BOUNDARY_ARN = "ROUTINE_ROLE_BOUNDARY_ARN"
ENV_ROUTINE_ROLE_PATH = "ROUTINE_ROLE_PATH"
# Unset (the local runtime): the policies LocalAWS creates, and this path.
LOCAL_EXECUTION_POLICY = "routines-local-execution"
LOCAL_ROLE_BOUNDARY = "routines-local-routine-boundary"
LOCAL_ROLE_PATH = f"{ROUTINE_ROLE_PATH}local/"
# ``startExecution.sync`` learns of a child's end through this EventBridge rule, which Step
# Functions manages in the account (its name is fixed); the role of a machine waiting for
# a child may manage it with these actions (AWS's documented policy for the integration).
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
SYNC_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")
# The role EventBridge Scheduler and event rules assume to start routine state machines.
ENV_TRIGGER_ROLE_ARN = "TRIGGER_ROLE_ARN"
ENV_SCHEDULE_GROUP = "SCHEDULE_GROUP"
ENV_EVENT_BUS = "EVENT_BUS_NAME"
ENV_STAGE = "STAGE"
# Webhook secrets live in Secrets Manager under this prefix (plugins may read only their own
# prefix, never these).
WEBHOOK_SECRET_PREFIX = "routines/webhooks/"
# Deployed, both prefixes are per stage (see webhook_secret_prefix / plugin_secret_prefix)
# and reach the functions through these variables; unset (local runtime) means the
# constant above for webhooks and no prefix for plugin secrets.
ENV_WEBHOOK_SECRET_PREFIX = "WEBHOOK_SECRET_PREFIX"
ENV_PLUGIN_SECRET_PREFIX = "PLUGIN_SECRET_PREFIX"
# The log group routine state machines log to (activation sets it on every machine).
ENV_EXECUTION_LOG_GROUP_ARN = "EXECUTION_LOG_GROUP_ARN"
# Seconds past its limit the recorder's sweep waits for an Express execution's own end
# before it records TIMED_OUT (functions/recorder/recorder.py; default 60).
ENV_SWEEP_GRACE_SECONDS = "EXPRESS_SWEEP_GRACE_SECONDS"
# Largest request body the API and webhook handlers accept (API Gateway itself allows
# 10 MB and cannot be configured lower: the handlers answer 413 above this).
ENV_MAX_BODY_BYTES = "MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 256 * 1024

# One Lambda function per plugin, plus two the compiler needs: the condition evaluator
# (conditions and values Choice rules cannot express) and the approval notifier (stores
# the task token of a paused approval node).
FUNCTION_PREFIX = "routines-"
EVALUATOR = "sys-evaluate"
APPROVAL_NOTIFIER = "sys-approval"


# A deployment's stage (``cdk deploy -c stage=dev``) prefixes every physical name, so two
# stages share an account. The local runtime uses no stage: the unprefixed names above.
STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,11}$")
DEFAULT_STAGE = "dev"


def check_stage(stage: str) -> str:
    if not STAGE_PATTERN.match(stage):
        raise ValueError(f"stage {stage!r} must match {STAGE_PATTERN.pattern} (lowercase, ≤ 12 characters)")
    return stage


def stage_prefix(stage: str | None) -> str:
    """``routines-<stage>-`` (deployed) or ``routines-`` (local runtime)."""
    return f"{FUNCTION_PREFIX}{check_stage(stage)}-" if stage else FUNCTION_PREFIX


def function_name(plugin: str, stage: str | None = None) -> str:
    return f"{stage_prefix(stage)}{plugin}"


def table_name(spec: TableSpec, stage: str | None = None) -> str:
    return f"{stage_prefix(stage)}{spec.name}" if stage else spec.name


def table_env(spec: TableSpec) -> str:
    """The environment variable carrying a table's physical name: ``NODE_LOGS_TABLE`` for
    ``node-logs`` (the ENV_*_TABLE constants follow this rule)."""
    return f"{spec.name.upper().replace('-', '_')}_TABLE"


def state_machine_prefix(stage: str | None = None) -> str:
    """Every routine state machine's name starts with this (the recorder's rule, the
    trigger role and the execution role match on it). Stages contain no '-', so one
    stage's prefix never matches another's names."""
    return stage_prefix(stage)


def resource_prefix(stage: str | None = None) -> str:
    """Default name prefix of the queues, topics, tables and buses routines may write to
    through the AWS plugins (the deployer can allow others)."""
    return f"{stage_prefix(stage)}user-"


def webhook_secret_prefix(stage: str | None = None) -> str:
    return f"routines/{check_stage(stage)}/webhooks/" if stage else WEBHOOK_SECRET_PREFIX


def plugin_secret_prefix(stage: str | None = None) -> str:
    """Secrets named in expressions (``secrets.github``) are read under this prefix."""
    return f"routines/{check_stage(stage)}/secrets/" if stage else ""


# --- The plugin idempotency ledger (issue #28; plugins/runtime/ledger.py) ---------------
# One powertools idempotency record per attempt key of a plugin that declares ``ledger``
# (its service cannot drop a repeat: ses-send-email), expiring after a day. Apart from the
# webhook's table: another key space, other readers — only those plugins' functions may
# read and write it, and they alone get the variable.
PLUGIN_LEDGER_TABLE = TableSpec("plugin-ledger", "id", ttl="expiration")
ENV_PLUGIN_LEDGER_TABLE = "PLUGIN_LEDGER_TABLE"
# In an S3 reference (an output offloaded by a plugin Lambda): which top-level fields are
# not inline, read by the machine's conditions. Not "$partial": moto's JSONPath parser
# rejects "$" inside a path step.
PARTIAL = "__partial"
# The field that makes a value a reference to S3 (plugins.runtime.offload), which the
# machine tests for too (an until loop's result stored apart: statemachines/machine/stored.py).
OFFLOADED = "$offloaded"

# ASL reserves error names beginning "States." for Step Functions itself: a Fail state may
# not raise one (moto refuses it at run time). The Express wrapper (statemachines/machine/
# records.py) re-raises a routine's States.* error under this prefix, and
# functions.trace.clean_error shows it by its own name again.
RERAISED_PREFIX = "Routines."
# Step Functions' Cause for an expression that failed in a state quotes the machine's text of
# it, "The JSONata expression '…' failed: <why>": the compiler's translation, which quotes the
# user's template as a literal where it guards a read that may be offloaded. The machine's
# error records (statemachines/machine/values.error_record) and functions.trace tell such a
# failure with the user's template, found by this pattern (the same in JSONata and Python).
EXPRESSION_FAILED = "' failed: "
QUOTED_TEMPLATE = r"'([^']*\{\{[^']*\}\}[^']*)'"
# A loop's results when some are stored apart (each over its share of the list): in place of
# the list, ``{STORED_RESULTS: {"node", "execution", "run", "prefix"}, "results": [...], PARTIAL:
# {...}}`` — null in ``results`` where the iteration stored its result under its own key
# (plugins.runtime.offload.result_key); whoever loads it gathers them.
STORED_RESULTS = "$storedResults"
