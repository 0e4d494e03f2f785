"""One Lambda function per plugin (plus the evaluator and the approval notifier), with the
names and handler strings of the local runtime (both read :mod:`plugins.lambdas`).

Least privilege: each function may write node logs, read and write payloads under the
payload prefix, and read secrets under the stage's plugin-secret prefix (never webhook
secrets) — except the ``code`` plugin's, which reads no secret at all (:data:`NO_SECRETS`)
and has the memory its child process may use on top of its own (:data:`MEMORY_MB`). A
plugin's declared AWS actions are allowed only on the resources the deployer allows
(context ``allowedResources``: plugin → ARNs), by default on names under the stage's
resource prefix (``routines-<stage>-user-*``) — never on ``*``. Only the functions of
plugins that declare ``ledger`` (plugins/runtime/ledger.py) learn the ledger table's name
and may read and write its items (:data:`LEDGER_ACTIONS`, what powertools idempotency uses).
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from contract.names import (
    APPROVAL_NOTIFIER,
    ENV_APPROVALS_TABLE,
    ENV_NODE_LOGS_TABLE,
    ENV_PAYLOAD_BUCKET,
    ENV_PLUGIN_LEDGER_TABLE,
    ENV_PLUGIN_SECRET_PREFIX,
    plugin_secret_prefix,
    resource_prefix,
)
from infra.nag import acknowledge
from infra.runtime import ProductFunction
from infra.settings import Settings, SettingsError
from infra.storage import Storage
from plugins.lambdas import lambda_functions
from plugins.sdk import default_registry

PAYLOADS = "Payload objects have per-execution keys: access is limited to the payload prefix"
RECORDS = "Large execution records have per-execution keys: access is limited to the records prefix"
SECRETS = "Users name their secrets; plugins may read only those under the stage's plugin-secret prefix"
# Plugins whose functions get no Secrets Manager access: the code node runs user code
# (docs/plugins.md, "The code node"), and its parameters may not name secrets.
NO_SECRETS = frozenset({"code"})
# Memory of a function other than the default: the code node's child process may take
# up to 3008 MB (its memoryMB maximum, plugins/builtin/code/__init__.py) beside the runtime's own.
MEMORY_MB = {"code": 3008 + 512}
# What powertools idempotency's DynamoDB persistence layer calls (a conditional put to
# claim, a get when the put's answer lacks the record, an update to store, a delete to release).
LEDGER_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
ALLOWED = (
    "Routines name their queues, topics, tables and buses at run time: only names under the "
    "stage's resource prefix, or the ARNs the deployer allowed"
)


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


class PluginFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        settings: Settings,
        code: lambda_.Code,
        event_bus_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings, self._event_bus_arn = settings, event_bus_arn
        secrets = arn(self, "secretsmanager", f"secret:{plugin_secret_prefix(settings.stage)}*")
        environment = {
            ENV_NODE_LOGS_TABLE: storage.node_logs.table_name,
            ENV_APPROVALS_TABLE: storage.approvals.table_name,
            ENV_PAYLOAD_BUCKET: storage.payloads.bucket_name,
            ENV_PLUGIN_SECRET_PREFIX: plugin_secret_prefix(settings.stage),
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        registry = default_registry()
        self.functions: dict[str, ProductFunction] = {}
        for _, (name, handler) in lambda_functions(registry).items():
            plugin = registry.find(name)
            ledger = plugin is not None and plugin.ledger
            function = ProductFunction(
                self,
                _construct_id(name),
                name=name,
                handler=handler,
                code=code,
                settings=settings,
                environment={**environment, ENV_PLUGIN_LEDGER_TABLE: storage.ledger.table_name}
                if ledger
                else environment,
                timeout=Duration.minutes(15),
                memory_mb=MEMORY_MB.get(name, 512),
                reserved_concurrency=settings.concurrency_of(name),
            )
            function.allow(["dynamodb:PutItem"], [storage.node_logs.table_arn])
            function.allow(["s3:GetObject", "s3:PutObject"], [storage.payload_objects()], PAYLOADS)
            if name not in NO_SECRETS:
                function.allow(["secretsmanager:GetSecretValue"], [secrets], SECRETS)
            if ledger:
                function.allow(LEDGER_ACTIONS, [storage.ledger.table_arn])
            allowed = self._allowed(name, plugin.aws_actions) if plugin and plugin.aws_actions else []
            if allowed:
                function.allow(list(plugin.aws_actions), allowed, ALLOWED)  # type: ignore[union-attr]
            acknowledge(
                function.function,
                "Serverless-LambdaDLQ",
                "Invoked synchronously by Step Functions: failures return to the state "
                "machine's Retry/Catch, so there is no asynchronous event to dead-letter",
            )
            self.functions[name] = function
        self.functions[APPROVAL_NOTIFIER].allow(["dynamodb:PutItem"], [storage.approvals.table_arn])

    def _allowed(self, plugin: str, actions: tuple[str, ...]) -> list[str]:
        """Explicitly allowed ARNs, else the stage's defaults; SES only for named identities
        (an identity is a domain or address: no prefix can stand for it)."""
        if plugin in self._settings.allowed_resources:
            return self._settings.allowed_resources[plugin]
        prefix = resource_prefix(self._settings.stage)
        resources: list[str] = []
        for service in sorted({action.split(":", 1)[0] for action in actions}):
            if service == "ses":
                resources += [arn(self, "ses", f"identity/{i}") for i in self._settings.ses_identities]
            elif service in _DEFAULT_RESOURCE:
                resources.append(arn(self, service, f"{_DEFAULT_RESOURCE[service]}{prefix}*"))
                if service == "events":
                    resources.append(self._event_bus_arn)  # the product's bus: event triggers
            else:
                raise SettingsError(
                    f"plugin '{plugin}' declares {service} actions: allow its resources with "
                    f'-c allowedResources=\'{{"{plugin}": ["arn:..."]}}\''
                )
        return resources


# service → resource path before the name, for the default allowed resources
_DEFAULT_RESOURCE = {"sqs": "", "sns": "", "dynamodb": "table/", "events": "event-bus/"}


def arn(scope: Construct, service: str, resource: str) -> str:
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}:{resource}"
