"""Where the control plane deploys: account, region, roles and names, from the
environment the CDK stack sets (defaults: the local runtime's moto account, and the role
and policies :class:`functions.local.LocalAWS` creates there)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from contract.names import (
    LOCAL_EXECUTION_POLICY,
    LOCAL_ROLE_BOUNDARY,
    LOCAL_ROLE_PATH,
    WEBHOOK_SECRET_PREFIX,
    state_machine_prefix,
)
from contract.settings import DeploymentEnvironment

LOCAL_ACCOUNT = "123456789012"
LOCAL_ROLE = "routines-local"  # the role LocalAWS creates


@dataclass(frozen=True, slots=True)
class Settings:
    region: str
    account: str
    partition: str
    execution_role_arn: str
    trigger_role_arn: str
    schedule_group: str
    log_group_arn: str
    default_bus: str
    prefix: str  # of every state machine, schedule and rule name (per stage)
    webhook_secret_prefix: str
    # Routines that start executions run under roles of their own (roles.py): what they
    # attach, the boundary they are created with, and the IAM path they live under.
    execution_policy_arn: str
    role_boundary_arn: str
    role_path: str

    @classmethod
    def from_env(cls, account: str | None = None, partition: str = "aws") -> Settings:
        """``account``: the caller's (in Lambda, from the invoked function ARN)."""
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        account = account or LOCAL_ACCOUNT
        deployed = DeploymentEnvironment.from_environ(os.environ)  # unset or empty: the defaults
        local_role = f"arn:{partition}:iam::{account}:role/{LOCAL_ROLE}"
        execution_role = deployed.execution_role_arn or local_role
        local_policy = f"arn:{partition}:iam::{account}:policy/"
        return cls(
            region=region,
            account=account,
            partition=partition,
            execution_role_arn=execution_role,
            trigger_role_arn=deployed.trigger_role_arn or execution_role,
            schedule_group=deployed.schedule_group or "default",
            log_group_arn=deployed.execution_log_group_arn
            or f"arn:{partition}:logs:{region}:{account}:log-group:/aws/vendedlogs/states/routines:*",
            default_bus=deployed.event_bus or "default",
            prefix=state_machine_prefix(deployed.stage or None),
            webhook_secret_prefix=deployed.webhook_secret_prefix or WEBHOOK_SECRET_PREFIX,
            execution_policy_arn=deployed.execution_policy_arn or local_policy + LOCAL_EXECUTION_POLICY,
            role_boundary_arn=deployed.role_boundary_arn or local_policy + LOCAL_ROLE_BOUNDARY,
            role_path=deployed.role_path or LOCAL_ROLE_PATH,
        )

    def machine_arn(self, name: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{name}"

    def execution_arn(self, execution_id: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:execution:{execution_id}"

    def machine_name(self, routine_id: str, test: bool = False) -> str:
        """One state machine per routine, plus one for test runs of unactivated drafts;
        named under the stage's prefix, which the deployed roles and rules match on."""
        return f"{self.prefix}{routine_id}-test" if test else f"{self.prefix}{routine_id}"

    def routine_of_execution(self, execution_id: str) -> tuple[str, bool] | None:
        """(routine id, test machine?) of an execution id; None if it is not one of ours."""
        machine, _, name = execution_id.partition(":")
        if not machine.startswith(self.prefix) or not name:
            return None
        rest = machine.removeprefix(self.prefix)
        test = rest.endswith("-test")
        routine_id = rest.removesuffix("-test")
        return (routine_id, test) if routine_id else None


def execution_id(execution_arn: str) -> str:
    """The public execution id: ``<state machine name>:<execution name>``, the tail of the
    execution ARN — so executions started by Scheduler, rules or webhooks (whose names
    we do not choose) have ids too, and the id names its routine."""
    return execution_arn.split(":", 6)[6]
