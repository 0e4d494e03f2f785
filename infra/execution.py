"""The role every routine state machine runs under, and the log group they log to.

Activation (functions/api) creates each machine — Standard or Express, as the routine's
``execution`` chose — with this role (``EXECUTION_ROLE_ARN``), CloudWatch Logs to this
group (``EXECUTION_LOG_GROUP_ARN``, level ERROR; for Express executions, which have no
history, the only log AWS keeps) and X-Ray tracing. The role may invoke only the
product's plugin and system functions, start and watch only the stage's routine state
machines (distributed loops, execute-routine nodes), touch only payload objects, and
update only execution records (Express machines write their own); only the API function
may pass it.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from contract.names import state_machine_prefix
from infra.nag import allow
from infra.plugin_functions import PAYLOADS, arn
from infra.runtime import ProductFunction, retention
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
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{state_machine_prefix(settings.stage)}executions",
            retention=retention(settings),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            description="Routine state machines: invoke product functions, start routines, payload objects, "
            "logs, X-Ray",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        functions_arns = [f.function.function_arn for f in functions]
        allow(self.role, ["lambda:InvokeFunction"], functions_arns)
        allow(self.role, ["s3:GetObject", "s3:PutObject"], [storage.payload_objects()], PAYLOADS)
        # Express machines write their own execution records (statemachines/machine/
        # records.py): the native dynamodb:updateItem integration, on that table alone.
        allow(self.role, RECORD_WRITES, [storage.executions.table_arn])
        machines = f"{state_machine_prefix(settings.stage)}*"
        # A distributed Map starts, watches and stops child executions of its own machine;
        # an execute-routine node starts another routine's (the stage's machines only).
        allow(
            self.role, ["states:StartExecution"], [arn(self, "states", f"stateMachine:{machines}")], MACHINES
        )
        allow(
            self.role,
            ["states:DescribeExecution", "states:StopExecution"],
            [arn(self, "states", f"execution:{machines}")],
            MACHINES,
        )
        # startExecution.sync:2 (execute-routine waiting for its child) learns of the child's
        # end through the rule Step Functions manages for it in the account (AWS's
        # documented policy for the integration; the rule's name is fixed).
        allow(self.role, SYNC_RULE_ACTIONS, [arn(self, "events", f"rule/{SYNC_RULE}")])
        allow(
            self.role,
            LOG_DELIVERY + XRAY,
            ["*"],
            "CloudWatch Logs delivery and X-Ray APIs accept no resource ARN",
        )


RECORD_WRITES = ["dynamodb:UpdateItem"]
MACHINES = "Routine state machines are created at activation, named under the stage prefix"
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
SYNC_RULE_ACTIONS = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
