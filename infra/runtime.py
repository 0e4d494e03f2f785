"""How every product Lambda is built and run — chosen once, here.

ARM64 (Graviton: ~20 % cheaper per GB-second) and Python 3.14, the newest Lambda Python
runtime; the bundle's compiled dependencies (pydantic-core, wrapt) ship manylinux
aarch64 wheels for it. All functions share one code asset: the project's packages plus
their runtime dependencies from pyproject.toml, installed at synth time with ``pip
install --platform`` (no Docker). Context ``routines:bundle=false`` skips the pip step (the
synth tests do: they check the template, not the zip).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge, allow
from infra.settings import Settings

ARCHITECTURE = lambda_.Architecture.ARM_64
RUNTIME = lambda_.Runtime.PYTHON_3_14
PIP_PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.14")

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("statemachines", "plugins", "functions", "infra")  # never tests, docs, benchmarks
EXCLUDE = ["*", *[f"!{p}/**" for p in PACKAGES], "**/__pycache__"]
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def runtime_requirements() -> list[str]:
    """pyproject's dependencies, less boto3 (the Lambda runtime provides it)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if not d.replace("_", "-").startswith("boto3")]


def retention(settings: Settings) -> logs.RetentionDays:
    if settings.log_retention_days not in RETENTION:
        raise ValueError(f"context 'logRetentionDays' must be one of {sorted(RETENTION)}")
    return RETENTION[settings.log_retention_days]


@jsii.implements(ILocalBundling)
class _PipBundling:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", output_dir, *PIP_PLATFORM]
        subprocess.run([*command, "--only-binary=:all:", *runtime_requirements()], check=True)
        for package in PACKAGES:
            shutil.copytree(
                ROOT / package, Path(output_dir) / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        return True


def code_asset(settings: Settings) -> lambda_.Code:
    if not settings.bundle:
        return lambda_.Code.from_asset(str(ROOT), exclude=EXCLUDE)
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=EXCLUDE,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),  # unused: local first
            local=_PipBundling(),
        ),
    )


class ProductFunction(Construct):
    """A function of the product: its own role (no managed policies), a log group with
    retention, X-Ray tracing, ARM64 on the runtime above."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        handler: str,
        code: lambda_.Code,
        settings: Settings,
        environment: dict[str, str],
        timeout: Duration,
        memory_mb: int = 512,
        reserved_concurrency: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=retention(settings),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            memory_size=memory_mb,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            environment={"POWERTOOLS_SERVICE_NAME": "routines", **environment},
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            role=self.role,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dead_letter_queue,
        )
        self.log_group.grant_write(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only for actions that accept no resource ARN: X-Ray trace upload (every function) and "
            "Step Functions task-token callbacks (API function)",
        )

    def allow(self, actions: list[str], resources: list[str], why: str | None = None) -> None:
        allow(self.role, actions, resources, why)
