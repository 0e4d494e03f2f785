"""One Lambda function per plugin (plus the evaluator and the approval notifier), with the
same names and handler strings as the local runtime (both read :mod:`infra.lambdas`).

All functions share one code asset: the project's packages plus their dependencies,
bundled locally with ``pip install --target`` for the Lambda platform (no Docker). Set
the context value ``routines:bundle`` to ``false`` to skip dependency installation (the
synth tests do: they check the template, not the zip).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.lambdas import lambda_functions
from infra.names import (
    ENV_APPROVALS_TABLE,
    ENV_NODE_LOGS_TABLE,
    ENV_PAYLOAD_BUCKET,
)
from infra.storage import Storage
from plugins.sdk import default_registry

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("statemachines", "plugins", "infra")  # what handlers import; never the CLI or tests
EXCLUDE = ["*", *[f"!{p}/**" for p in PACKAGES], "**/__pycache__"]
RUNTIME_REQUIREMENTS = (
    "pydantic>=2.7,<3",
    "jsonpath-ng>=1.6,<2",
    "aws-lambda-powertools[tracer,validation]>=3.0,<4",
    "tzdata>=2024.1",
)


@jsii.implements(ILocalBundling)
class _PipBundling:
    """Bundles without Docker: pip installs manylinux wheels for Python 3.12 next to a
    copy of the packages (boto3 comes with the Lambda runtime)."""

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", output_dir]
        command += [
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            "3.12",
        ]
        command += ["--only-binary=:all:", *RUNTIME_REQUIREMENTS]
        subprocess.run(command, check=True)
        for package in PACKAGES:
            shutil.copytree(
                ROOT / package, Path(output_dir) / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        return True


def _code(scope: Construct) -> lambda_.Code:
    if str(scope.node.try_get_context("routines:bundle")).lower() == "false":
        return lambda_.Code.from_asset(str(ROOT), exclude=EXCLUDE)
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=EXCLUDE,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),  # unused: local first
            local=_PipBundling(),
        ),
    )


class PluginFunctions(Construct):
    def __init__(self, scope: Construct, construct_id: str, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        registry = default_registry()
        code = _code(self)
        stack = Stack.of(self)
        secrets = f"arn:{stack.partition}:secretsmanager:{stack.region}:{stack.account}:secret:*"
        environment = {
            ENV_NODE_LOGS_TABLE: storage.node_logs.table_name,
            ENV_APPROVALS_TABLE: storage.approvals.table_name,
            ENV_PAYLOAD_BUCKET: storage.payloads.bucket_name,
            "POWERTOOLS_SERVICE_NAME": "routines",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.functions: dict[str, lambda_.Function] = {}
        for function_name, (name, handler) in lambda_functions(registry).items():
            construct_id = "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
            function = lambda_.Function(
                self,
                construct_id,
                function_name=function_name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=handler,
                code=code,
                memory_size=512,
                timeout=Duration.minutes(15),
                tracing=lambda_.Tracing.ACTIVE,
                environment=environment,
                log_retention=logs.RetentionDays.ONE_MONTH,
            )
            storage.node_logs.grant_write_data(function)
            storage.payloads.grant_read_write(function)
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secrets])
            )
            plugin = registry.find(name)
            if plugin is not None and plugin.aws_actions:
                function.add_to_role_policy(
                    iam.PolicyStatement(actions=list(plugin.aws_actions), resources=["*"])
                )
            self.functions[name] = function
        storage.approvals.grant_write_data(self.functions["sys-approval"])
