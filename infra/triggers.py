"""What starts routines besides the API: an EventBridge bus for event triggers, a
Scheduler schedule group for cron triggers, and the one role both assume to start an
execution — of this stage's routine state machines only.

Activation creates the schedules (in ``SCHEDULE_GROUP``) and the rules (on
``EVENT_BUS_NAME``) at run time, passing ``TRIGGER_ROLE_ARN``.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from contract.names import stage_prefix, state_machine_prefix
from infra.nag import allow
from infra.plugin_functions import arn
from infra.settings import Settings


class Triggers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        name = f"{stage_prefix(settings.stage)}triggers"
        self.bus = events.EventBus(self, "Bus", event_bus_name=name)
        self.schedule_group = scheduler.CfnScheduleGroup(self, "Schedules", name=name)
        self.role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler and rules: start this stage's routine state machines",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal(
                    "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
                ),
                iam.ServicePrincipal(
                    "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
                ),
            ),
        )
        machines = f"stateMachine:{state_machine_prefix(settings.stage)}*"
        allow(
            self.role,
            ["states:StartExecution"],
            [arn(self, "states", machines)],
            "Routine state machines are created at activation, named under the stage prefix",
        )
