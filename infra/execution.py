"""The roles routine state machines run under, and the log group they log to.

Activation (functions/api) creates each machine — Standard or Express, as the routine's
``execution`` chose — with CloudWatch Logs to this group (``EXECUTION_LOG_GROUP_ARN``,
level ERROR; for Express executions, which have no history, the only log AWS keeps) and
X-Ray tracing, under one of two kinds of role:

- the shared execution role (``EXECUTION_ROLE_ARN``), for every machine that starts no
  execution. Its permissions are the customer-managed *execution policy*
  (``EXECUTION_POLICY_ARN``): invoke only the product's plugin and system functions, touch
  only payload objects, update only execution records (Express machines write their own),
  log and trace. It may start no execution;
- a role of the routine's own (functions/activation/roles.py) for a machine that starts
  executions: an ``execute-routine`` node starts its children's machines, a distributed
  loop child executions of its own machine. Activation creates it under the stage's role
  path (``ROUTINE_ROLE_PATH``, ``/routines/<stage>/``), attaches the execution policy and
  grants, inline, exactly the machines the routine starts. Each is created with the
  stage's *permissions boundary* (``ROUTINE_ROLE_BOUNDARY_ARN``): the execution policy's
  permissions plus starting, watching and stopping the stage's routine machines and the
  sync rule — the most such a role can ever do, whatever policy it is given.

Only the API function may pass either kind of role (infra/control_plane.py), and it may
create, change and delete only roles under the path that carry the boundary.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.names import ROUTINE_ROLE_PATH, SYNC_RULE, SYNC_RULE_ACTIONS, state_machine_prefix
from infra.nag import allow
from infra.plugin_functions import PAYLOADS, arn
from infra.runtime import ProductFunction, log_group
from infra.settings import Settings
from infra.storage import Storage

# Step Functions delivers logs through CloudWatch Logs' vended-log APIs, which accept no
# resource ARN (AWS documents Resource "*" for them).
LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
XRAY = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
]
START_ACTIONS = ["states:StartExecution"]
WATCH_ACTIONS = ["states:DescribeExecution", "states:StopExecution"]


def role_path(stage: str) -> str:
    """The IAM path of the stage's per-routine roles: ``/routines/<stage>/``."""
    return f"{ROUTINE_ROLE_PATH}{stage}/"


class ExecutionRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        storage: Storage,
        functions: list[ProductFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group = log_group(
            self, "Logs", settings, f"/aws/vendedlogs/states/{state_machine_prefix(settings.stage)}executions"
        )
        # Both policies are named (per stage and region: IAM is global) so that the API
        # function can name their ARNs without depending on them: they grant invoking the
        # plugin functions, one of which depends on the API (the approval notifier's URL).
        prefix = state_machine_prefix(settings.stage)
        policy_name = f"{prefix}execution-{stack.region}"
        boundary_name = f"{prefix}routine-boundary-{stack.region}"
        self.policy_arn = f"arn:{stack.partition}:iam::{stack.account}:policy/{policy_name}"
        self.boundary_arn = f"arn:{stack.partition}:iam::{stack.account}:policy/{boundary_name}"
        # What every routine machine may do: the shared role's only policy, attached to
        # each routine's own role too.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=policy_name,
            description="Routine state machines: invoke product functions, payload objects, execution "
            "records, logs, X-Ray (no execution starts)",
        )
        # The most a routine's own role may ever do: the control plane creates those roles
        # only with this boundary (infra/control_plane.py).
        self.boundary = iam.ManagedPolicy(
            self,
            "RoutineRoleBoundary",
            managed_policy_name=boundary_name,
            description="Permissions boundary of per-routine roles: the execution policy plus starting, "
            "watching and stopping the stage's routine state machines",
        )
        self.role_path = role_path(settings.stage)
        both = [self.policy, self.boundary]
        functions_arns = [f.function.function_arn for f in functions]
        for policy in both:
            allow(policy, ["lambda:InvokeFunction"], functions_arns)
            allow(policy, ["s3:GetObject", "s3:PutObject"], [storage.payload_objects()], PAYLOADS)
            # Express machines write their own execution records (statemachines/machine/
            # records.py): the native dynamodb:updateItem integration, on that table alone.
            allow(policy, RECORD_WRITES, [storage.executions.table_arn])
            allow(
                policy,
                LOG_DELIVERY + XRAY,
                ["*"],
                "CloudWatch Logs delivery and X-Ray APIs accept no resource ARN",
            )
        machines = f"{state_machine_prefix(settings.stage)}*"
        # A distributed Map starts, watches and stops child executions of its own machine;
        # an execute-routine node starts another routine's: within the stage's machines,
        # and only those the routine names (its own role's inline policy).
        allow(self.boundary, START_ACTIONS, [arn(self, "states", f"stateMachine:{machines}")], MACHINES)
        allow(self.boundary, WATCH_ACTIONS, [arn(self, "states", f"execution:{machines}")], MACHINES)
        # startExecution.sync:2 (execute-routine waiting for its child) learns of the child's
        # end through the rule Step Functions manages for it in the account (AWS's
        # documented policy for the integration; the rule's name is fixed).
        allow(self.boundary, list(SYNC_RULE_ACTIONS), [arn(self, "events", f"rule/{SYNC_RULE}")])
        self.role = iam.Role(
            self,
            "Role",
            description="Routine state machines that start no execution: the execution policy",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        # Attached by the policy (its Roles), not the role (its ManagedPolicyArns): the role,
        # which the API function passes, must not depend on the plugin functions either.
        self.policy.attach_to_role(self.role)


RECORD_WRITES = ["dynamodb:UpdateItem"]
MACHINES = "Routine state machines are created at activation, named under the stage prefix"
