"""``LocalAWS``: moto in-process, with what the CDK app would deploy.

Creates the tables and bucket from the same :mod:`contract.names` constants as the CDK
stack, and one Lambda function per task plugin (plus the evaluator and approval
notifier) registered with the same handler string the stack uses, served in-process;
the shared execution role with its execution policy, and the permissions boundary of the
roles activation creates for routines that start executions (moto implements IAM, so
activation creates, updates and deletes those roles here as on AWS).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import threading
import uuid
import zipfile
from types import TracebackType
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters as powertools_parameters
from moto import mock_aws

from contract.names import (
    ENV_APPROVALS_TABLE,
    ENV_EXECUTIONS_TABLE,
    ENV_IDEMPOTENCY_TABLE,
    ENV_NODE_LOGS_TABLE,
    ENV_PAYLOAD_BUCKET,
    ENV_ROUTINES_TABLE,
    ENV_SWEEP_GRACE_SECONDS,
    EXECUTIONS_TABLE,
    FUNCTION_PREFIX,
    IDEMPOTENCY_TABLE,
    LOCAL_EXECUTION_POLICY,
    LOCAL_ROLE_BOUNDARY,
    PAYLOAD_BUCKET,
    PAYLOAD_PREFIX,
    PLUGIN_LEDGER_TABLE,
    SYNC_RULE,
    SYNC_RULE_ACTIONS,
    TABLES,
    TableSpec,
    state_machine_prefix,
)
from functions.local import (
    atomic,
    child_executions,
    express_children,
    fastpaths,
    jsonata,
    map_runs,
    states_errors,
)
from functions.local.lambdas import InProcessLambda
from plugins.lambdas import lambda_functions
from plugins.runtime.aws import reset_clients
from plugins.sdk import PluginRegistry, default_registry
from statemachines.machine.records import machine_type

# moto's Step Functions interpreter logs every failed state as an ERROR with a dump of its
# parse tree; the failure itself is in the execution history, which is what users see.
INTERPRETER_LOGGER = "moto.stepfunctions.parser"

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        keys.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return keys


def _table_request(spec: TableSpec) -> dict[str, Any]:
    """create_table arguments for a table as the CDK stack defines it (keys and indexes)."""
    request: dict[str, Any] = {
        "TableName": spec.name,
        "KeySchema": _key_schema(spec.partition_key, spec.sort_key),
        "BillingMode": "PAY_PER_REQUEST",
    }
    names = {spec.partition_key, spec.sort_key}
    if spec.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
        names |= {name for index in spec.indexes for name in (index.partition_key, index.sort_key)}
    request["AttributeDefinitions"] = [
        {"AttributeName": name, "AttributeType": "S"} for name in sorted(n for n in names if n)
    ]
    return request


def _allow(action: str | list[str], resource: str) -> dict[str, Any]:
    """One IAM policy statement allowing ``action`` on ``resource``."""
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _policies() -> tuple[dict[str, Any], dict[str, Any]]:
    """(execution policy, routine role boundary) as the CDK stack writes them
    (infra/execution.py), for the local account, region and names."""
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}".format
    machines = state_machine_prefix(None)
    shared = [
        _allow("lambda:InvokeFunction", arn("lambda", f"function:{FUNCTION_PREFIX}*")),
        _allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{PAYLOAD_BUCKET}/{PAYLOAD_PREFIX}*"),
        _allow("dynamodb:UpdateItem", arn("dynamodb", f"table/{EXECUTIONS_TABLE.name}")),
    ]
    starts = [
        _allow("states:StartExecution", arn("states", f"stateMachine:{machines}*")),
        _allow(["states:DescribeExecution", "states:StopExecution"], arn("states", f"execution:{machines}*")),
        _allow(list(SYNC_RULE_ACTIONS), arn("events", f"rule/{SYNC_RULE}")),
    ]
    document = {"Version": "2012-10-17"}
    return {**document, "Statement": shared}, {**document, "Statement": shared + starts}


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "served in-process by the local runtime")
    return buffer.getvalue()


_heap_lock = threading.Lock()
_heap_holders = 0  # local AWS instances up (they may nest); the first freezes, the last thaws
_saved_threshold: tuple[int, int, int] | None = None
YOUNG_THRESHOLD = 10_000
LOCAL_SWEEP_GRACE_SECONDS = 2
# allocations between young collections while a local AWS is up


def _hold_heap() -> None:
    """Spare the garbage collector the local AWS itself: moto's backends, botocore's
    models and the interpreter's programs (~300k objects, alive until the local AWS stops)
    are frozen once it is up, so full collections during executions stop walking them;
    and the interpreter, which allocates heavily and mostly short-lived values, triggers a
    young collection every 10,000 allocations rather than every 700. Together ~10% of a
    warm 100-item loop. The last local AWS to stop restores both, so everything can be
    collected once it is gone."""
    global _heap_holders, _saved_threshold
    with _heap_lock:
        _heap_holders += 1
        if _heap_holders == 1:
            gc.freeze()
            _saved_threshold = gc.get_threshold()
            young, *older = _saved_threshold
            gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)


def _release_heap() -> None:
    global _heap_holders, _saved_threshold
    with _heap_lock:
        _heap_holders -= 1
        if _heap_holders == 0:
            gc.unfreeze()
            if _saved_threshold is not None:
                gc.set_threshold(*_saved_threshold)
                _saved_threshold = None


class LocalAWS:
    """``with LocalAWS() as aws:`` — a fresh local AWS with the product deployed."""

    def __init__(self, registry: PluginRegistry | None = None) -> None:
        self.registry = registry or default_registry()
        self.lambdas = InProcessLambda()
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.role_arn = ""
        self._clients: dict[str, Any] = {}
        self._provisioned: set[Any] = set()
        self._machines: dict[str, tuple[str, str]] = {}
        self._quiet = logging.NullHandler()
        self._saved_propagate = True
        self._holding_heap = False

    def client(self, service: str) -> Any:
        """A boto3 client on the local AWS (cached: building one costs ~70 ms)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        return self._clients[service]

    def __enter__(self) -> LocalAWS:
        for key, value in self._environment().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._mock.start()
        fastpaths.engage()  # before any client is built: clients copy direct-dynamodb's handler
        interpreter = logging.getLogger(INTERPRETER_LOGGER)
        self._saved_propagate = interpreter.propagate
        interpreter.propagate = False
        interpreter.addHandler(self._quiet)
        reset_clients()
        # Secrets cached by plugins under an earlier local AWS must not outlive it.
        powertools_parameters.clear_caches()  # type: ignore[no-untyped-call]
        atomic.install()
        map_runs.install()
        express_children.install()
        try:
            jsonata.install()  # inside: a refusal undoes the start like any other failure
            child_executions.install()  # execute-routine's startExecution integration
            states_errors.install()  # a branch's States.* error fails its Parallel by name
            self._deploy()
            self.lambdas.install()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        _hold_heap()
        self._holding_heap = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._holding_heap:
            self._holding_heap = False
            _release_heap()
        self.lambdas.uninstall()
        states_errors.uninstall()
        child_executions.uninstall()
        jsonata.uninstall()
        express_children.uninstall()
        map_runs.uninstall()
        atomic.uninstall()
        if self._mock is not None:
            fastpaths.release()
            self._mock.stop()
            self._mock = None
            interpreter = logging.getLogger(INTERPRETER_LOGGER)
            interpreter.removeHandler(self._quiet)
            interpreter.propagate = self._saved_propagate
        reset_clients()
        self._clients.clear()
        self._provisioned.clear()
        self._machines.clear()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def state_machine(self, definition: str) -> tuple[str, str]:
        """(name, ARN) of a state machine with this definition, created on first use: a
        routine run again runs its deployed machine, as an activated routine does."""
        if definition not in self._machines:
            name = f"routine-{uuid.uuid4().hex[:12]}"
            created = self.client("stepfunctions").create_state_machine(
                name=name, definition=definition, roleArn=self.role_arn, type=machine_type(definition)
            )
            self._machines[definition] = (name, created["stateMachineArn"])
        return self._machines[definition]

    def put_secret(self, name: str, value: Any) -> None:
        """Create or update a secret in the local Secrets Manager (a non-string value is
        stored as JSON text, which ``{{ secrets.name.field }}`` reads into)."""
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        secrets = self.client("secretsmanager")
        try:
            secrets.create_secret(Name=name, SecretString=text)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=text)
        # Plugins cache secrets for minutes (as warm Lambdas do): a changed value must show.
        powertools_parameters.clear_caches()  # type: ignore[no-untyped-call]

    def provision(self, document: Any) -> None:
        """Create the queues, topics, buses, tables and sender identities the routine's
        AWS nodes name literally (see :mod:`functions.local.resources`)."""
        from functions.local.resources import create, resources_of

        for resource in resources_of(document):
            if resource not in self._provisioned:
                create(resource)
                self._provisioned.add(resource)

    @staticmethod
    def _environment() -> dict[str, str]:
        env = dict(ENVIRONMENT)
        for variable, spec in zip(
            (ENV_ROUTINES_TABLE, ENV_EXECUTIONS_TABLE, ENV_NODE_LOGS_TABLE, ENV_APPROVALS_TABLE),
            TABLES,
            strict=True,
        ):
            env[variable] = spec.name
        env[ENV_PAYLOAD_BUCKET] = PAYLOAD_BUCKET
        env[ENV_IDEMPOTENCY_TABLE] = IDEMPOTENCY_TABLE.name
        # moto ends a machine at its TimeoutSeconds in-process: the recorder's sweep need not
        # wait a minute for a last write that cannot come (functions/recorder/recorder.py).
        env[ENV_SWEEP_GRACE_SECONDS] = str(LOCAL_SWEEP_GRACE_SECONDS)
        return env

    def _deploy(self) -> None:
        dynamodb = self.client("dynamodb")
        for spec in (*TABLES, IDEMPOTENCY_TABLE, PLUGIN_LEDGER_TABLE):
            dynamodb.create_table(**_table_request(spec))
        self.client("s3").create_bucket(Bucket=PAYLOAD_BUCKET)
        iam = self.client("iam")
        self.role_arn = iam.create_role(RoleName="routines-local", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        shared, boundary = _policies()
        policy = iam.create_policy(PolicyName=LOCAL_EXECUTION_POLICY, PolicyDocument=json.dumps(shared))
        iam.create_policy(PolicyName=LOCAL_ROLE_BOUNDARY, PolicyDocument=json.dumps(boundary))
        iam.attach_role_policy(RoleName="routines-local", PolicyArn=policy["Policy"]["Arn"])
        code = _code()
        variables = {k: v for k, v in self._environment().items() if not k.startswith("AWS_")}
        lam = self.client("lambda")
        for name, (_, handler) in lambda_functions(self.registry).items():
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=self.role_arn,
                Handler=handler,
                Code={"ZipFile": code},
                Timeout=900,
                MemorySize=512,
                Environment={"Variables": variables},
            )
