"""The product's stack: every construct of infra/, wired. Each construct is one concern;
this module only passes names and grants between them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from contract.names import (
    APPROVAL_NOTIFIER,
    ENV_API_BASE_URL,
    ENV_MAX_BODY_BYTES,
    ENV_PAYLOAD_BUCKET,
    IDEMPOTENCY_TABLE,
    TABLES,
    table_env,
    webhook_secret_prefix,
)
from contract.settings import DeploymentEnvironment
from infra.api import Api
from infra.auth import Auth
from infra.control_plane import ControlPlane
from infra.execution import ExecutionRole
from infra.monitoring import Monitoring
from infra.plugin_functions import PluginFunctions
from infra.recorder import Recorder
from infra.runtime import FunctionKit, code_asset
from infra.settings import Settings
from infra.storage import Storage
from infra.triggers import Triggers


class RoutinesStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = self.settings = Settings.of(self)
        code = code_asset(settings)
        self.storage = storage = Storage(self, "Storage", settings)
        self.triggers = triggers = Triggers(self, "Triggers", settings=settings)
        self.plugins = PluginFunctions(
            self,
            "Plugins",
            storage=storage,
            settings=settings,
            code=code,
            event_bus_arn=triggers.bus.event_bus_arn,
        )
        self.execution = ExecutionRole(
            self,
            "Execution",
            settings=settings,
            storage=storage,
            functions=list(self.plugins.functions.values()),
        )
        environment = {
            **{
                table_env(spec): storage.tables[spec.name].table_name for spec in (*TABLES, IDEMPOTENCY_TABLE)
            },
            ENV_PAYLOAD_BUCKET: storage.payloads.bucket_name,
            **DeploymentEnvironment(
                stage=settings.stage,
                execution_role_arn=self.execution.role.role_arn,
                execution_policy_arn=self.execution.policy_arn,
                role_boundary_arn=self.execution.boundary_arn,
                role_path=self.execution.role_path,
                execution_log_group_arn=self.execution.log_group.log_group_arn,
                trigger_role_arn=triggers.role.role_arn,
                schedule_group=triggers.schedule_group.ref,
                event_bus=triggers.bus.event_bus_name,
                webhook_secret_prefix=webhook_secret_prefix(settings.stage),
            ).variables(),
            ENV_MAX_BODY_BYTES: str(settings.max_body_bytes),
        }
        kit = FunctionKit(settings=settings, storage=storage, code=code, environment=environment)
        self.control_plane = ControlPlane(
            self,
            "ControlPlane",
            kit=kit,
            execution_role=self.execution.role,
            execution_policy_arn=self.execution.policy_arn,
            role_boundary_arn=self.execution.boundary_arn,
            role_path=self.execution.role_path,
            trigger_role=triggers.role,
            schedule_group=triggers.schedule_group.ref,
        )
        self.recorder = Recorder(self, "Recorder", kit=kit)
        self.auth = Auth(self, "Auth", settings=settings)
        self.api = Api(
            self,
            "Api",
            settings=settings,
            auth=self.auth,
            api=self.control_plane.api,
            webhook=self.control_plane.webhook,
        )
        # The approval notifier posts links to the API's approval endpoint: it must know
        # the deployed URL (routines serve sets its own).
        self.plugins.functions[APPROVAL_NOTIFIER].function.add_environment(
            ENV_API_BASE_URL, self.api.rest_api.url
        )
        functions = {
            **{name: f for name, f in self.plugins.functions.items()},
            "api": self.control_plane.api,
            "webhook": self.control_plane.webhook,
            "recorder": self.recorder.function,
        }
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            functions=functions,
            dead_letters=self.recorder.dead_letters,
            failed_executions=self.recorder.failed_executions,
        )
        for key, value in {
            "ApiUrl": self.api.rest_api.url,
            "UserPoolId": self.auth.user_pool.user_pool_id,
            "UserPoolClientId": self.auth.client.user_pool_client_id,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
            "EventBusName": triggers.bus.event_bus_name,
            "PayloadBucketName": storage.payloads.bucket_name,
            "FailedExecutionsQueueUrl": self.recorder.failed_executions.queue_url,
        }.items():
            CfnOutput(self, key, value=value)
