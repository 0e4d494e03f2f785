"""The API and webhook functions and what each may do.

Both get the same environment (tables, bucket, stage, roles, trigger targets: the names in
:mod:`contract.names`). Only the API function may pass the execution role (to Step
Functions) and the trigger role (to Scheduler and EventBridge) — and manage the roles of
routines that start executions (functions/activation/roles.py): create them only under
the stage's role path and with the stage's permissions boundary, attach no policy but the
execution policy, change and delete only such roles, and pass them to Step Functions only.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract.names import (
    API_HANDLER,
    APPROVALS_TABLE,
    EXECUTIONS_TABLE,
    IDEMPOTENCY_TABLE,
    NODE_LOGS_TABLE,
    ROUTINES_TABLE,
    WEBHOOK_HANDLER,
    state_machine_prefix,
    webhook_secret_prefix,
)
from infra.execution import LOG_DELIVERY
from infra.nag import acknowledge, nag_text
from infra.plugin_functions import PAYLOADS, RECORDS, arn
from infra.runtime import FunctionKit, ProductFunction

MACHINES = "Routine state machines are created at activation, named under the stage prefix"
WEBHOOK_SECRETS = "One secret per webhook routine, under the stage's webhook-secret prefix only"
MACHINE_ADMIN = [
    "states:CreateStateMachine",
    "states:UpdateStateMachine",
    "states:DeleteStateMachine",
    "states:DescribeStateMachine",
    "states:TagResource",
    "states:ListTagsForResource",
    "states:ListExecutions",
    "states:StartExecution",
]
RULE_ADMIN = [
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
]
TRIGGERS = (
    "A trigger too large for the execution input is written under the execution's name: "
    "only <payload prefix>*/trigger.json objects"
)
SYNC_ONLY = "Invoked synchronously by API Gateway: the caller gets the error, nothing to dead-letter"
ROUTINE_ROLES = (
    "Per-routine roles are created at activation, named after their routine, under the stage's role "
    "path only and (but for reading, tagging and deleting) only with the stage's permissions boundary"
)
# Changing a routine role's policies: only roles carrying the stage's boundary.
ROLE_POLICY_ADMIN = ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
ROLE_ADMIN = ["iam:GetRole", "iam:TagRole", "iam:DeleteRole"]


class ControlPlane(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        kit: FunctionKit,
        execution_role: iam.IRole,
        execution_policy_arn: str,
        role_boundary_arn: str,
        role_path: str,
        trigger_role: iam.IRole,
        schedule_group: str,
    ) -> None:
        super().__init__(scope, construct_id)
        storage = kit.storage
        stage = kit.settings.stage
        machines = f"{state_machine_prefix(stage)}*"
        secrets = arn(self, "secretsmanager", f"secret:{webhook_secret_prefix(stage)}*")
        # The two functions behind API Gateway, alike but for name and handler.
        self.api, self.webhook = (
            ProductFunction(
                self,
                child_id,
                name=name,
                handler=handler,
                code=kit.code,
                settings=kit.settings,
                environment=kit.environment,
                timeout=Duration.seconds(29),  # API Gateway's integration limit
                memory_mb=1024,
            )
            for child_id, name, handler in (
                ("Api", "api", API_HANDLER),
                ("Webhook", "webhook", WEBHOOK_HANDLER),
            )
        )
        for function in (self.api, self.webhook):
            acknowledge(function.function, "Serverless-LambdaDLQ", SYNC_ONLY)

        api = self.api
        for spec in (ROUTINES_TABLE, EXECUTIONS_TABLE, APPROVALS_TABLE):
            storage.grant(api, spec, write=True)
        storage.grant(api, NODE_LOGS_TABLE)
        api.allow(["s3:GetObject"], [storage.payload_objects()], PAYLOADS)
        # Manual, test and re-runs start executions: a large trigger is offloaded first.
        api.allow(["s3:PutObject"], [storage.trigger_objects()], TRIGGERS)
        api.allow(["s3:GetObject", "s3:PutObject"], [storage.record_objects()], RECORDS)
        machine_arns = [arn(self, "states", f"stateMachine:{machines}")]
        api.allow(MACHINE_ADMIN, machine_arns, MACHINES)
        # CreateStateMachine/UpdateStateMachine with a logging configuration: Step Functions
        # sets up the CloudWatch Logs delivery with the caller's permissions (AWS documents
        # these actions on Resource "*": the vended-log APIs accept no resource ARN).
        api.allow(
            LOG_DELIVERY,
            ["*"],
            "Activation creates logged state machines: CloudWatch Logs delivery APIs accept no resource ARN",
        )
        api.allow(
            [
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:StopExecution",
                "states:GetExecutionHistory",
            ],
            [arn(self, "states", f"execution:{machines}")],
            MACHINES,
        )
        # Approvals: a task token names no resource, so these actions accept only "*".
        api.allow(["states:SendTaskSuccess", "states:SendTaskFailure"], ["*"], "Task tokens name no resource")
        api.allow(
            [
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
            ],
            [arn(self, "scheduler", f"schedule/{schedule_group}/*")],
            "Cron triggers: one schedule per routine, in the stage's schedule group only",
        )
        api.allow(
            RULE_ADMIN,
            # A rule on the account's default bus is rule/<name>; on another bus,
            # rule/<bus>/<name>.
            [arn(self, "events", f"rule/{machines}"), arn(self, "events", f"rule/*/{machines}")],
            "Event triggers: one rule per routine, named under the stage prefix, on the bus it names",
        )
        secret_admin = ["CreateSecret", "PutSecretValue", "DeleteSecret", "DescribeSecret", "TagResource"]
        api.allow([f"secretsmanager:{a}" for a in secret_admin], [secrets], WEBHOOK_SECRETS)
        api.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            )
        )
        self._routine_roles(execution_policy_arn, role_boundary_arn, role_path)
        api.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[trigger_role.role_arn],
                conditions={
                    "StringEquals": {
                        "iam:PassedToService": ["scheduler.amazonaws.com", "events.amazonaws.com"]
                    }
                },
            )
        )

        hook = self.webhook
        storage.grant(hook, ROUTINES_TABLE)
        storage.grant(hook, EXECUTIONS_TABLE, write=True)
        storage.grant(hook, IDEMPOTENCY_TABLE, write=True)
        hook.allow(["secretsmanager:GetSecretValue"], [secrets], WEBHOOK_SECRETS)
        hook.allow(["s3:GetObject", "s3:PutObject"], [storage.record_objects()], RECORDS)
        hook.allow(["s3:PutObject"], [storage.trigger_objects()], TRIGGERS)  # a large body
        hook.allow(["states:StartExecution"], machine_arns, MACHINES)
        # respond: "result" — wait for the execution, and find the stop node it failed at.
        hook.allow(
            ["states:DescribeExecution", "states:GetExecutionHistory"],
            [arn(self, "states", f"execution:{machines}")],
            MACHINES,
        )

    def _routine_roles(self, policy_arn: str, boundary_arn: str, path: str) -> None:
        """The API function manages the roles of routines that start executions."""
        stack = Stack.of(self)
        roles = f"arn:{stack.partition}:iam::{stack.account}:role{path}*"
        bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}}
        statements = [
            iam.PolicyStatement(actions=["iam:CreateRole"], resources=[roles], conditions=bounded),
            iam.PolicyStatement(actions=ROLE_POLICY_ADMIN, resources=[roles], conditions=bounded),
            iam.PolicyStatement(
                actions=["iam:AttachRolePolicy"],
                resources=[roles],
                conditions={**bounded, "ArnEquals": {"iam:PolicyARN": policy_arn}},
            ),
            iam.PolicyStatement(actions=ROLE_ADMIN, resources=[roles]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[roles],
                conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            ),
        ]
        for statement in statements:
            self.api.role.add_to_principal_policy(statement)
        acknowledge(
            self.api.role, f"AwsSolutions-IAM5[Resource::{nag_text(stack.resolve(roles))}]", ROUTINE_ROLES
        )
