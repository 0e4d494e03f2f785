"""How every product Lambda is built and run — chosen once, here.

ARM64 (Graviton: ~20 % cheaper per GB-second) and Python 3.13, not 3.14 (the newest Lambda
Python runtime): every plugin Lambda evaluates JSONata with jsonatapy (Rust), whose wheels
go up to cp313 only (``cp313-cp313-manylinux_2_28_aarch64``; none for cp314, and the bundle
installs no sdist). Its manylinux_2_28 tag needs glibc 2.28 or newer: the python3.13
runtime runs on Amazon Linux 2023 (glibc 2.34). The other compiled dependencies
(pydantic-core, wrapt) ship manylinux aarch64 wheels for 3.13 as well. Move to 3.14 when
jsonatapy publishes cp314 aarch64 wheels.

All functions share one code asset, built at synth time without Docker:

1. ``uv export --locked`` turns uv.lock into hashed requirements for
   ``[project].dependencies`` only (no extras, no dev group), at exactly the locked
   versions: a deploy never resolves ranges on the day of ``cdk synth``. boto3 and
   botocore are pruned, with what only they need (see :data:`RUNTIME_PROVIDED`).
2. The export is universal (one lock for every Python and platform), and pip evaluates
   markers against the interpreter that runs it, not against ``--python-version``: so
   the markers are evaluated here for the Lambda's own environment
   (:data:`LAMBDA_MARKERS`) and dropped from the lines pip gets.
3. ``pip install --no-deps --require-hashes --only-binary=:all: --no-compile`` for
   manylinux aarch64 CPython 3.13 (every manylinux tag that glibc 2.34 runs, from
   manylinux2014 to manylinux_2_34: :data:`PIP_PLATFORM`) installs exactly those files,
   each checked against the lock's hash; nothing is resolved again. No bytecode compiled
   by the host's Python ships: its ``cpython-3xx.pyc`` files are dead weight to 3.13 (but
   for a host on the very same 3.13), which ignores them and compiles the sources at import.
4. The project's packages are copied beside them, without ``__pycache__``.

uv is the one pinned in this virtualenv (``python -m uv``), run in the repository root;
without it, synthesis stops with a message saying how to install it.

The asset hash is computed here (:func:`asset_hash`) from the requirements pip installs,
the install options and the packages' files: a lock change alone redeploys, and an
unchanged tree does not. Context ``routines:bundle=false`` skips steps 1-3 (the synth
tests do: they check the template, not the zip); the asset is then the source alone,
hashed by CDK.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from packaging.requirements import InvalidRequirement, Requirement

from contract.names import function_name
from infra.nag import acknowledge, allow
from infra.settings import Settings

if TYPE_CHECKING:  # infra.storage imports this module: Storage is named in annotations only
    from infra.storage import Storage

ARCHITECTURE = lambda_.Architecture.ARM_64
# 3.13, not 3.14: jsonatapy has no cp314 wheels (see the module's docstring).
PYTHON_VERSION = "3.13"
RUNTIME = lambda_.Runtime.PYTHON_3_13
# glibc of the python3.13 runtime (Amazon Linux 2023): wheels tagged up to manylinux_2_34 run.
LAMBDA_GLIBC = (2, 34)
# Every manylinux tag the runtime accepts, newest first: pip takes an explicit
# ``--platform`` literally (it widens manylinux2014 and manylinux2010 to their older
# aliases only, never ``manylinux_2_28`` to 2_17 or the reverse), so each is named.
# manylinux2014 is manylinux_2_17's legacy alias; jsonatapy's aarch64 wheel is tagged
# manylinux_2_28 only, pydantic-core's and wrapt's carry the 2_17 / 2014 tags.
MANYLINUX_TAGS = (
    *(f"manylinux_2_{minor}_aarch64" for minor in range(LAMBDA_GLIBC[1], 16, -1)),
    "manylinux2014_aarch64",
)
PIP_PLATFORM = (
    *(option for tag in MANYLINUX_TAGS for option in ("--platform", tag)),
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
)
# PEP 508 marker values of the Lambda runtime above (CPython 3.13 on Amazon Linux 2023,
# aarch64), for the export's markers; the host's would pick another Python's pins.
LAMBDA_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": f"{PYTHON_VERSION}.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": f"{PYTHON_VERSION}.0",
    "python_version": PYTHON_VERSION,
    "sys_platform": "linux",
    "extra": "",
}
# Neither boto3 nor botocore is bundled: the Lambda runtime ships the two as a matched
# pair, maintained by AWS. Before, aws-xray-sdk (powertools' tracer) pulled botocore, with
# urllib3, python-dateutil and six, into the bundle, where that botocore shadowed the
# runtime's own under the runtime's boto3: the half-bundled SDK that AWS's packaging
# guide warns against. Both or neither; neither, because nothing here needs a newer SDK
# than the runtime's: the functions call long-established APIs only (Step Functions
# start/stop/describe execution and state machine CRUD, DynamoDB get/put/create_table,
# S3, Secrets Manager, EventBridge rules and Scheduler schedules, SQS, SNS, SES), far
# older than the python3.13 runtime (Python 3.13 itself came out in October 2024; our
# floor, boto3>=1.34, is of late 2023). AWS publishes no fixed SDK version for the
# runtime: it differs by Region and moves as AWS patches it, so a function that needs a
# newer API than that must bundle both at locked versions (drop the prunes below).
# ``--prune`` also drops what only they require (s3transfer, urllib3, python-dateutil,
# six). jmespath stays: powertools imports it, and the runtime's botocore accepts any
# jmespath below 2. Smaller bundle, faster cold start.
RUNTIME_PROVIDED = ("boto3", "botocore")
UV_EXPORT = (
    "export",
    "--locked",  # read uv.lock as it is, and stop if it no longer matches pyproject.toml
    "--no-dev",
    "--no-emit-project",
    "--no-header",
    "--no-annotate",
    "--format",
    "requirements.txt",
    *(f"--prune={name}" for name in RUNTIME_PROVIDED),
)
PIP_INSTALL = (
    "install",
    "--quiet",
    "--no-deps",  # the export is the whole closure; pip would judge dependencies' markers on the host
    "--require-hashes",
    "--only-binary=:all:",
    "--no-compile",
    *PIP_PLATFORM,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contract", "statemachines", "plugins", "functions")  # never tests, docs, benchmarks
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


def uv_command() -> list[str]:
    """How to run the uv that the project pins (installed in the virtualenv beside this
    Python), never whichever uv is first on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return [str(beside)]
    raise RuntimeError(
        f"uv is needed to export the locked Lambda dependencies from uv.lock, and {sys.executable} "
        "has none: install it into this environment (pip install uv==0.13.9), or synthesize "
        "with -c routines:bundle=false to skip the dependency bundle"
    )


def export_requirements(project: Path = ROOT) -> str:
    """The locked runtime dependencies of ``project`` (its pyproject.toml and uv.lock), as
    hashed requirements with universal markers, less the runtime-provided SDK."""
    result = subprocess.run(
        [*uv_command(), *UV_EXPORT], cwd=project, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"uv export failed in {project}:\n{result.stderr.strip()}")
    return result.stdout


def _logical_lines(text: str) -> Iterator[str]:
    """A requirements file's entries: continuations joined, comments and blanks left out."""
    pending = ""
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].strip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        entry = (pending + line).strip()
        pending = ""
        if entry:
            yield entry
    if pending.strip():
        yield pending.strip()


def lambda_requirements(exported: str) -> str:
    """The entries of ``exported`` whose markers hold on the Lambda runtime, without their
    markers (pip would judge them on the host again) and with their hashes."""
    kept = []
    for entry in _logical_lines(exported):
        spec, _, options = entry.partition(" --")
        if entry.startswith("-") or not options.startswith("hash="):
            raise ValueError(f"not a hashed requirement of a uv export: {entry!r}")
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise ValueError(f"not a requirement: {spec!r} ({exc})") from None
        if requirement.marker is not None and not requirement.marker.evaluate(LAMBDA_MARKERS):
            continue
        requirement.marker = None
        kept.append(f"{requirement} --{options}")
    return "".join(f"{line}\n" for line in kept)


def _source_files(root: Path) -> Iterator[Path]:
    """What the bundle copies of the project: the packages' files, no ``__pycache__``."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.relative_to(root).parts:
                yield path


def asset_hash(requirements: str, root: Path = ROOT) -> str:
    """The code asset's hash: the requirements pip installs (with their hashes), how it
    installs them, and every file of the packages under ``root``, by path and content."""
    digest = hashlib.sha256()

    def field(data: bytes) -> None:  # length-prefixed, so no two inputs run together
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    field(json.dumps({"pip": PIP_INSTALL, "markers": LAMBDA_MARKERS}, sort_keys=True).encode())
    field(requirements.encode())
    for path in _source_files(root):
        field(path.relative_to(root).as_posix().encode())
        field(path.read_bytes())
    return digest.hexdigest()


def retention(settings: Settings) -> logs.RetentionDays:
    if settings.log_retention_days not in RETENTION:
        raise ValueError(f"context 'logRetentionDays' must be one of {sorted(RETENTION)}")
    return RETENTION[settings.log_retention_days]


def log_group(
    scope: Construct, construct_id: str, settings: Settings, name: str | None = None
) -> logs.LogGroup:
    """A log group of the product (a function's, the executions', the API's access log):
    kept for the deployer's retention, and deleted with the stack. ``name``: None lets
    CloudFormation name it."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=retention(settings),
        removal_policy=RemovalPolicy.DESTROY,
    )


@jsii.implements(ILocalBundling)
class _PipBundling:
    """Installs ``requirements`` (from :func:`lambda_requirements`) for the Lambda's
    platform, then copies the project's packages beside them."""

    def __init__(self, requirements: str, root: Path = ROOT) -> None:
        self.requirements = requirements
        self.root = root

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        with tempfile.TemporaryDirectory(prefix="routines-requirements-") as scratch:
            listing = Path(scratch) / "requirements.txt"
            listing.write_text(self.requirements)
            subprocess.run(
                [sys.executable, "-m", "pip", *PIP_INSTALL, "--target", output_dir, "-r", str(listing)],
                check=True,
            )
        for package in PACKAGES:
            shutil.copytree(
                self.root / package, Path(output_dir) / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        return True


def code_asset(settings: Settings) -> lambda_.Code:
    if not settings.bundle:
        return lambda_.Code.from_asset(str(ROOT), exclude=EXCLUDE)
    requirements = lambda_requirements(export_requirements())
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=EXCLUDE,
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(requirements, ROOT),
        bundling=BundlingOptions(
            # unused: the local bundling below runs first, and succeeds or raises
            image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{PYTHON_VERSION}"),
            local=_PipBundling(requirements, ROOT),
        ),
    )


@dataclass(frozen=True)
class FunctionKit:
    """What the stack hands, as one, to each construct that builds product functions with
    the shared environment (the control plane, the recorder): the same settings, storage to
    grant on, code asset, and environment (tables, bucket, stage, roles, trigger targets)
    for them all."""

    settings: Settings
    storage: Storage
    code: lambda_.Code
    environment: dict[str, str]


class ProductFunction(Construct):
    """A function of the product: named under the stage's prefix (``name`` is the
    unprefixed one: :func:`contract.names.function_name`), its own role (no managed
    policies), a log group with retention, X-Ray tracing, ARM64 on the runtime above."""

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
        name = function_name(name, settings.stage)  # as deployed: routines-<stage>-<name>
        self.log_group = log_group(self, "Logs", settings, f"/aws/lambda/{name}")
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
            "Only for actions that accept no resource ARN: X-Ray trace upload (every function), "
            "Step Functions task-token callbacks and CloudWatch Logs delivery for logged state "
            "machines (API function)",
        )
        for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):  # the same finding, twice
            acknowledge(
                self.function,
                rule,
                f"python{PYTHON_VERSION}, not the newest Lambda Python runtime: jsonatapy (the JSONata "
                "evaluator of every plugin function) publishes no cp314 wheels, and the bundle installs "
                "wheels only (infra/runtime.py)",
            )

    def allow(self, actions: list[str], resources: list[str], why: str | None = None) -> None:
        allow(self.role, actions, resources, why)
