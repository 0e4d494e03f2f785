"""What the product's code asks of AWS, checked against what the synthesized template
grants it (moto does not enforce IAM; AWS does).

- :class:`Deployment` reads the template as CloudFormation would deploy it in account
  ``ACCOUNT``, region ``REGION``: ``Ref``/``Fn::GetAtt``/``Fn::Join`` resolve to physical
  names and ARNs (a resource without a name property gets its logical id, lower-cased),
  so each function's environment and each role's statements become plain strings.
- :class:`Calls` records every AWS call (service, operation, parameters) the code makes
  through boto3 while it runs on moto with a function's deployed environment.
- :func:`required` turns a call into the IAM requests AWS authorizes for it — the action
  on the resource the parameters name, plus what the call implies (``iam:PassRole`` of a
  role handed to a service with its ``iam:PassedToService``, tagging on create, the
  CloudWatch Logs delivery actions behind a logged state machine). An operation without a
  rule here fails the check: a new kind of call needs its rule written down. IAM calls
  on a role name the role's ARN as IAM sees it — with the path and the permissions
  boundary the role was created with, which :func:`requests` learns from the calls before
  (a role the calls did not create has neither).
- :func:`allowed` evaluates a request against a role's statements as IAM does for
  identity policies: ``*``/``?`` wildcards (actions case-insensitively), conditions
  (``StringEquals``, ``StringLike``, ``ArnLike``, ``ArnEquals``, ``Bool``), an explicit
  ``Deny`` winning.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
PARTITION = "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Routines-dev",
}
# The name property of each resource type whose Ref is its name.
NAME_PROPERTY = {
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::ApiGateway::RestApi": "",  # its id
    "AWS::ApiGateway::Stage": "StageName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
}
# Resource types whose Ref is not their name.
REF_FORMAT = {
    "AWS::SQS::Queue": "https://sqs.{r}.amazonaws.com/{a}/{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::IAM::ManagedPolicy": "arn:{p}:iam::{a}:policy/{n}",
}
# Resource types whose Fn::GetAtt Arn is built from their physical name.
ARN_FORMAT = {
    "AWS::DynamoDB::GlobalTable": "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::Events::EventBus": "arn:{p}:events:{r}:{a}:event-bus/{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
}


STREAM_LABEL = "2026-12-07T00:00:00.000"


class Unresolved(ValueError):
    """A template value this model cannot turn into a string: extend the model."""


class Deployment:
    """The synthesized template as deployed in ``ACCOUNT``/``REGION``."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.resources.items() if v["Type"] == kind}

    def name(self, logical: str) -> str:
        resource = self.resources[logical]
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind not in NAME_PROPERTY:
            raise Unresolved(f"Ref {logical} ({kind}): no physical name in this model")
        key = NAME_PROPERTY[kind]
        given = props.get(key) if key else None
        return str(self.resolve(given)) if given is not None else logical.lower()

    def arn(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        if kind not in ARN_FORMAT:
            raise Unresolved(f"Fn::GetAtt {logical}.Arn ({kind}): no ARN in this model")
        return ARN_FORMAT[kind].format(p=PARTITION, r=REGION, a=ACCOUNT, n=self.name(logical))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref in PSEUDO:
                return PSEUDO[ref]
            kind = self.resources[ref]["Type"]
            if kind in REF_FORMAT:
                return REF_FORMAT[kind].format(p=PARTITION, r=REGION, a=ACCOUNT, n=self.name(ref))
            return self.name(ref)
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            if attribute == "StreamArn" and self.resources[logical]["Type"] == "AWS::DynamoDB::GlobalTable":
                return f"{self.arn(logical)}/stream/{STREAM_LABEL}"  # the label is DynamoDB's to pick
            if attribute != "Arn":
                raise Unresolved(f"Fn::GetAtt {logical}.{attribute}: only Arn and StreamArn are modelled")
            return self.arn(logical)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self.resolve(p)) for p in parts)
        if any(key.startswith("Fn::") for key in value):
            raise Unresolved(f"{sorted(value)}: not modelled")
        return {k: self.resolve(v) for k, v in value.items()}

    def function(self, name: str) -> dict[str, Any]:
        """A function's properties, by its FunctionName."""
        [props] = [p for p in self.of_type("AWS::Lambda::Function").values() if p.get("FunctionName") == name]
        return props

    def environment(self, function: str) -> dict[str, str]:
        variables = self.function(function).get("Environment", {}).get("Variables", {})
        return {k: str(self.resolve(v)) for k, v in variables.items()}

    def statements(self, function: str) -> list[dict[str, Any]]:
        """The statements of every policy attached to the function's role, resolved."""
        role = self.function(function)["Role"]["Fn::GetAtt"][0]
        found: list[dict[str, Any]] = []
        for props in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role} in props["Roles"]:
                found += self.resolve(props["PolicyDocument"]["Statement"])
        for policy in self.resources[role]["Properties"].get("Policies", []):
            found += self.resolve(policy["PolicyDocument"]["Statement"])
        if self.resources[role]["Properties"].get("ManagedPolicyArns"):
            raise Unresolved(f"{role}: managed policies are not modelled")
        if self.attached(role):
            raise Unresolved(f"{role}: a function role with managed policies is not modelled")
        return found

    def attached(self, role: str) -> list[str]:
        """Logical ids of the template's managed policies attached to ``role`` (through the
        policy's Roles or the role's ManagedPolicyArns)."""
        arns = self.resources[role]["Properties"].get("ManagedPolicyArns", [])
        return [
            logical
            for logical, props in self.of_type("AWS::IAM::ManagedPolicy").items()
            if {"Ref": role} in props.get("Roles", []) or {"Ref": logical} in arns
        ]

    def role_statements(self, role: str) -> list[dict[str, Any]]:
        """Every statement granted to the role ``role`` (a logical id): its inline
        policies, the policies naming it and the template's managed policies attached."""
        found: list[dict[str, Any]] = []
        for props in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role} in props["Roles"]:
                found += self.resolve(props["PolicyDocument"]["Statement"])
        for policy in self.resources[role]["Properties"].get("Policies", []):
            found += self.resolve(policy["PolicyDocument"]["Statement"])
        for logical in self.attached(role):
            found += self.managed_policy(logical)
        return found

    def managed_policy(self, logical: str) -> list[dict[str, Any]]:
        statements: list[dict[str, Any]] = self.resolve(
            self.resources[logical]["Properties"]["PolicyDocument"]["Statement"]
        )
        return statements

    def managed_policy_by_arn(self, arn: str) -> str:
        """The logical id of the managed policy whose ARN is ``arn``."""
        [logical] = [k for k in self.of_type("AWS::IAM::ManagedPolicy") if self.resolve({"Ref": k}) == arn]
        return logical


# -- IAM evaluation -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: ``action`` on ``resource`` with condition context."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""  # the call that needs it

    def __str__(self) -> str:
        extra = "".join(f" [{k}={v}]" for k, v in self.context)
        return f"{self.action} on {self.resource}{extra} (for {self.why})"


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(glob: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: ``*`` any run of characters (``/`` and ``:`` included),
    ``?`` any one character."""
    return _pattern(glob, ignore_case).fullmatch(value) is not None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition(operator: str, key: str, wanted: Any, context: dict[str, str]) -> bool:
    if key not in context:
        return False  # a missing key satisfies no positive operator
    value = context[key]
    if operator in ("StringEquals", "ArnEquals"):
        return value in [str(w) for w in _list(wanted)]
    if operator in ("StringLike", "ArnLike"):
        return any(matches(str(w), value) for w in _list(wanted))
    if operator == "Bool":
        return value.lower() in [str(w).lower() for w in _list(wanted)]
    raise Unresolved(f"condition operator {operator} is not modelled")


def _applies(statement: dict[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotResource" in statement or "NotPrincipal" in statement:
        raise Unresolved("NotAction/NotResource/NotPrincipal are not modelled")
    if not any(matches(a, request.action, ignore_case=True) for a in _list(statement["Action"])):
        return False
    if not any(matches(r, request.resource) for r in _list(statement["Resource"])):
        return False
    context = dict(request.context)
    return all(
        _condition(operator, key, wanted, context)
        for operator, keys in statement.get("Condition", {}).items()
        for key, wanted in keys.items()
    )


def allowed(statements: list[dict[str, Any]], request: Request) -> bool:
    verdict = False
    for statement in statements:
        if _applies(statement, request):
            if statement["Effect"] == "Deny":
                return False
            verdict = True
    return verdict


# -- what a call needs ----------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    prefix: str  # the IAM service prefix (botocore's signing name): states, s3, ...
    operation: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.prefix}:{self.operation}"


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


def _pass_role(call: Call, role: str | None, service: str) -> list[Request]:
    if not role:
        return []
    return [Request("iam:PassRole", role, (("iam:PassedToService", service),), str(call))]


# Step Functions' CloudWatch Logs delivery, set up with the caller's permissions when it
# creates or updates a logged state machine (AWS Step Functions Developer Guide, "IAM
# policies for logging to CloudWatch Logs": these eight actions, on Resource "*").
LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
SFN_RESOURCE_PARAMS = ("stateMachineArn", "executionArn", "resourceArn")
SFN_NO_RESOURCE = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat", "ListStateMachines"}


def _states(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    if op in SFN_NO_RESOURCE:
        return [Request(f"states:{op}", "*", why=why)]
    if op == "CreateStateMachine":
        machine = _arn("states", f"stateMachine:{params['name']}")
    else:
        keys = [k for k in SFN_RESOURCE_PARAMS if k in params]
        if not keys:
            raise Unresolved(f"{why}: which resource?")
        machine = params[keys[0]]
    needed = [Request(f"states:{op}", machine, why=why)]
    if op == "CreateStateMachine" and params.get("tags"):
        needed.append(Request("states:TagResource", machine, why=why))
    if op in ("CreateStateMachine", "UpdateStateMachine"):
        needed += _pass_role(call, params.get("roleArn"), "states.amazonaws.com")
        logging = params.get("loggingConfiguration") or {}
        if logging.get("destinations") and logging.get("level", "OFF") != "OFF":
            needed += [Request(action, "*", why=why) for action in LOG_DELIVERY]
    return needed


DYNAMODB_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _table(name: str, index: str | None = None) -> str:
    table = name if name.startswith("arn:") else _arn("dynamodb", f"table/{name}")
    return f"{table}/index/{index}" if index else table


def _dynamodb(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{op}", _table(t), why=why) for t in params["RequestItems"]]
    if op in ("TransactWriteItems", "TransactGetItems"):
        needed = []
        for item in params["TransactItems"]:
            [(kind, body)] = item.items()
            needed.append(Request(f"dynamodb:{DYNAMODB_TRANSACT[kind]}", _table(body["TableName"]), why=why))
        return needed
    if "TableName" in params:
        return [Request(f"dynamodb:{op}", _table(params["TableName"], params.get("IndexName")), why=why)]
    raise Unresolved(f"{why}: which table?")


S3_OBJECT_ACTIONS = {
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
}


def _s3(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    if op in S3_OBJECT_ACTIONS:
        obj = f"arn:{PARTITION}:s3:::{params['Bucket']}/{params['Key']}"
        return [Request(S3_OBJECT_ACTIONS[op], obj, why=why)]
    if op in ("ListObjectsV2", "ListObjects"):
        return [Request("s3:ListBucket", f"arn:{PARTITION}:s3:::{params['Bucket']}", why=why)]
    raise Unresolved(f"{why}: no rule for this S3 operation")


def _secret(name: str) -> str:
    # A secret's ARN ends in '-' and six random characters.
    return name if name.startswith("arn:") else _arn("secretsmanager", f"secret:{name}-AbC123")


def _secretsmanager(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    secret = _secret(params.get("SecretId") or params["Name"])
    needed = [Request(f"secretsmanager:{op}", secret, why=why)]
    if op == "CreateSecret" and params.get("Tags"):
        needed.append(Request("secretsmanager:TagResource", secret, why=why))
    return needed


def _bus_name(bus: str | None) -> str:
    bus = bus or "default"
    return bus.split("event-bus/", 1)[1] if bus.startswith("arn:") else bus


def _rule(name: str, bus: str | None) -> str:
    """A rule's ARN: rule/<name> on the default bus, rule/<bus>/<name> on any other."""
    bus = _bus_name(bus)
    return _arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")


def _events(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    if op == "PutEvents":
        buses = {_bus_name(entry.get("EventBusName")) for entry in params["Entries"]}
        return [Request("events:PutEvents", _arn("events", f"event-bus/{b}"), why=why) for b in sorted(buses)]
    rule = _rule(params.get("Name") or params["Rule"], params.get("EventBusName"))
    needed = [Request(f"events:{op}", rule, why=why)]
    if op == "PutTargets":
        for target in params["Targets"]:
            needed += _pass_role(call, target.get("RoleArn"), "events.amazonaws.com")
    return needed


def _scheduler(call: Call) -> list[Request]:
    op, params, why = call.operation, call.params, str(call)
    group = params.get("GroupName") or "default"
    needed = [Request(f"scheduler:{op}", _arn("scheduler", f"schedule/{group}/{params['Name']}"), why=why)]
    if op in ("CreateSchedule", "UpdateSchedule"):
        needed += _pass_role(call, params["Target"].get("RoleArn"), "scheduler.amazonaws.com")
    return needed


# Role name → (path, permissions boundary) of the roles created by the calls so far.
Roles = dict[str, tuple[str, str | None]]
ROLE_POLICY_CALLS = {"PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy"}
ROLE_CALLS = ROLE_POLICY_CALLS | {"CreateRole", "GetRole", "DeleteRole", "TagRole"}


def _role(name: str, roles: Roles) -> str:
    path = roles[name][0] if name in roles else "/"
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role{path}{name}"


def _iam(call: Call, roles: Roles) -> list[Request]:
    """IAM authorizes a call on a role against the role's ARN (its path included) and
    the boundary it has (``iam:PermissionsBoundary``: for CreateRole, the one asked for);
    attaching and detaching also against the policy (``iam:PolicyARN``)."""
    op, params, why = call.operation, call.params, str(call)
    if op not in ROLE_CALLS:
        raise Unresolved(f"{why}: no rule for this IAM operation")
    name = params["RoleName"]
    if op == "CreateRole":
        roles[name] = (params.get("Path") or "/", params.get("PermissionsBoundary"))
    role = _role(name, roles)
    context: list[tuple[str, str]] = []
    boundary = roles[name][1] if name in roles else None
    if boundary and (op == "CreateRole" or op in ROLE_POLICY_CALLS):
        context.append(("iam:PermissionsBoundary", boundary))
    if op in ("AttachRolePolicy", "DetachRolePolicy"):
        context.append(("iam:PolicyARN", params["PolicyArn"]))
    needed = [Request(f"iam:{op}", role, tuple(context), why)]
    if op == "CreateRole" and params.get("Tags"):
        needed.append(Request("iam:TagRole", role, why=why))
    if op == "DeleteRole":
        roles.pop(name, None)
    return needed


def _lambda(call: Call) -> list[Request]:
    name = call.params["FunctionName"]
    function = name if name.startswith("arn:") else _arn("lambda", f"function:{name}")
    if call.operation != "Invoke":
        raise Unresolved(f"{call}: no rule for this Lambda operation")
    return [Request("lambda:InvokeFunction", function, why=str(call))]


RULES = {
    "states": _states,
    "dynamodb": _dynamodb,
    "s3": _s3,
    "secretsmanager": _secretsmanager,
    "events": _events,
    "scheduler": _scheduler,
    "lambda": _lambda,
}


def required(call: Call, roles: Roles | None = None) -> list[Request]:
    """The IAM requests AWS authorizes for ``call`` (``roles``: what the calls before it
    created in IAM; :func:`requests` keeps it)."""
    if call.prefix == "iam":
        return _iam(call, {} if roles is None else roles)
    rule = RULES.get(call.prefix)
    if rule is None:
        raise Unresolved(f"{call}: no rule for the {call.prefix} service")
    return rule(call)


def requests(calls: list[Call]) -> list[Request]:
    """The IAM requests of ``calls``, made in this order."""
    roles: Roles = {}
    return [request for call in calls for request in required(call, roles)]


# -- recording calls ------------------------------------------------------------------


EVENT = "before-parameter-build"  # botocore: the caller's parameters, before validation
UNIQUE_ID = "routines-tests-access-calls"


@dataclass
class Calls:
    """AWS calls made through boto3 clients built after :meth:`install` (the product's
    clients are cached: clear them so they are rebuilt with the hook)."""

    recording: bool = False
    made: list[Call] = field(default_factory=list)

    def install(self) -> None:
        import boto3

        boto3._get_default_session()._session.register(EVENT, self._seen, unique_id=UNIQUE_ID)

    def uninstall(self) -> None:
        import boto3

        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION._session.unregister(EVENT, unique_id=UNIQUE_ID)

    def _seen(self, **kwargs: Any) -> None:
        params, model = kwargs["params"], kwargs["model"]
        if self.recording:
            prefix = model.service_model.signing_name or model.service_model.endpoint_prefix
            self.made.append(Call(prefix, model.name, copy.deepcopy(params)))

    @contextmanager
    def record(self) -> Iterator[list[Call]]:
        start = len(self.made)
        calls: list[Call] = []
        self.recording = True
        try:
            yield calls
        finally:
            self.recording = False
            calls += self.made[start:]
