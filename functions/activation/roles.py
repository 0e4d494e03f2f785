"""The role of a routine state machine that starts executions.

Routine state machines run under the stage's shared execution role. Its policy (the
customer-managed *execution policy*, ``Settings.execution_policy_arn``) lets them invoke
the product's functions, touch payload objects, update execution records, log and trace
— and start no execution. A machine that does start executions runs under a role of its
own, which deploying it creates:

- an ``execute-routine`` node starts its child's machine (``states:startExecution``;
  ``.sync:2`` when it waits, which also needs the EventBridge rule Step Functions manages
  for such waits);
- a distributed loop starts child executions of the machine's own.

What a machine starts is read from its definition — the Tasks and Maps that will run — so
the role may do what the machine needs and nothing more. The role, ``<role path><machine
name>`` (a name past IAM's 64 characters is cut and ends in a hash of the whole), trusts
Step Functions of this account only (as the shared role does), is created with the
stage's permissions boundary (the most any such role may ever do: the execution policy,
plus starting the stage's machines and the sync rule — the control plane may create roles
only with it, infra/execution.py), has the execution policy attached, and one inline
policy, :data:`POLICY_NAME`, granting exactly:

- ``states:StartExecution`` on each machine it starts;
- ``states:DescribeExecution`` and ``states:StopExecution`` on their executions
  (``execution:<machine>:*``; for its own machine also ``execution:<machine>/*``, the
  child executions a distributed loop's Map Run starts);
- ``events:PutTargets``/``PutRule``/``DescribeRule`` on the sync rule, only when a node
  waits for its child.

Deploying the machine again rewrites the inline policy (its children may have changed:
executions of the previous version still running lose the right to start a child the new
version dropped); a machine that starts nothing any more goes back to the shared role and
its role is deleted; deleting the machine deletes its role. Deactivating a routine keeps
both (the machine stays, for its running executions and the next activation). Every step
registers its undo on the deployment's :class:`Rollback`.

Whether a machine has a role of its own is read from the machine (its ``roleArn``),
never by asking IAM about a role that may not exist.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contract.names import SYNC_RULE, SYNC_RULE_ACTIONS
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.activation.subroutines import SubroutineError
from plugins.runtime.aws import client

POLICY_NAME = "starts-executions"
NAME_LIMIT = 64  # IAM's limit on a role name
HASH_CHARS = 8
POLICY_LIMIT = 10_240  # IAM: a role's inline policies together, whitespace not counted
MACHINE_TAG = "routines:stateMachineArn"
_START = re.compile(r"^arn:[\w-]+:states:::states:startExecution(?P<sync>\.sync(?::2)?)?$")
_GONE = "NoSuchEntity"


@dataclass(frozen=True, slots=True)
class Starts:
    """What a machine starts executions of."""

    machines: tuple[str, ...]  # state machine ARNs, sorted
    own: str | None  # the machine's own ARN when a distributed loop starts its iterations
    sync: bool  # a Task waits for its child (startExecution.sync)


def starts(definition: str, own_arn: str) -> Starts | None:
    """What the machine ``own_arn`` with this definition starts; None if nothing."""
    children: set[str] = set()
    own = sync = False
    for state in _states(json.loads(definition)):
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor")
            config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
            own |= isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"
        elif state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
            match = _START.match(state["Resource"])
            if match:
                children.add(_child(state))
                sync |= match.group("sync") is not None
    if not children and not own:
        return None
    machines = children | ({own_arn} if own else set())
    return Starts(tuple(sorted(machines)), own_arn if own else None, sync)


def _states(machine: Any) -> Iterator[dict[str, Any]]:
    """Every state of a machine, of its Parallel branches and Map processors."""
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
        return
    for state in machine["States"].values():
        if not isinstance(state, dict):
            continue
        yield state
        for branch in state.get("Branches") or []:
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            yield from _states(state.get(key))


def _child(state: dict[str, Any]) -> str:
    arguments = state.get("Arguments") or state.get("Parameters") or {}
    arn = arguments.get("StateMachineArn") if isinstance(arguments, dict) else None
    if not isinstance(arn, str) or not arn.startswith("arn:") or "{%" in arn:
        # The compiler names every child literally (execute-routine's routine is never an
        # expression): a machine it cannot name could not be granted.
        raise ValueError(f"a Task starts an execution of a machine it does not name: {arn!r}")
    return arn


def _executions(machine: str, own: bool) -> list[str]:
    executions = machine.replace(":stateMachine:", ":execution:", 1)
    return [f"{executions}:*", f"{executions}/*"] if own else [f"{executions}:*"]


def policy(settings: Settings, needs: Starts) -> dict[str, Any]:
    """The role's inline policy: exactly what the machine starts."""
    executions = [e for m in needs.machines for e in _executions(m, m == needs.own)]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "StartExecutions",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": list(needs.machines),
        },
        {
            "Sid": "WatchExecutions",
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Resource": executions,
        },
    ]
    if needs.sync:
        rule = f"arn:{settings.partition}:events:{settings.region}:{settings.account}:rule/{SYNC_RULE}"
        statements.append(
            {"Sid": "WaitForChildren", "Effect": "Allow", "Action": list(SYNC_RULE_ACTIONS), "Resource": rule}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _policy_text(settings: Settings, needs: Starts) -> str:
    text = json.dumps(policy(settings, needs), separators=(",", ":"))
    if len(text) > POLICY_LIMIT:
        raise SubroutineError(
            f"the routine starts {len(needs.machines)} different state machines: the policy of its "
            f"role would exceed IAM's {POLICY_LIMIT:,} characters (call fewer routines from one routine)",
            path="nodes",
        )
    return text


def trust(settings: Settings) -> dict[str, Any]:
    """Step Functions of this account only (the shared execution role's trust)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": settings.account}},
            }
        ],
    }


def role_name(machine_name: str) -> str:
    """The role's name: the machine's (stage prefix and routine id), cut to IAM's 64
    characters with a hash of the whole at the end when longer."""
    if len(machine_name) <= NAME_LIMIT:
        return machine_name
    digest = hashlib.sha256(machine_name.encode()).hexdigest()[:HASH_CHARS]
    return f"{machine_name[: NAME_LIMIT - HASH_CHARS - 1]}-{digest}"


def role_arn(settings: Settings, machine_name: str) -> str:
    return (
        f"arn:{settings.partition}:iam::{settings.account}:role{settings.role_path}{role_name(machine_name)}"
    )


def prepare(
    settings: Settings,
    name: str,
    definition: str,
    previous: dict[str, Any] | None,
    tags: dict[str, str],
    rollback: Rollback,
) -> str:
    """The role the machine ``name`` is to run under with ``definition``: its own when it
    starts executions (created, or its inline policy rewritten), else the shared execution
    role. ``previous``: the machine as it is now (DescribeStateMachine), if it exists."""
    machine = settings.machine_arn(name)
    needs = starts(definition, machine)
    if needs is None:
        return settings.execution_role_arn
    text = _policy_text(settings, needs)
    arn = role_arn(settings, name)
    iam = client("iam")
    if previous is not None and previous.get("roleArn") == arn:
        old = starts(str(previous["definition"]), machine)
        try:
            iam.put_role_policy(RoleName=role_name(name), PolicyName=POLICY_NAME, PolicyDocument=text)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _GONE:
                raise
            # Deleted behind our back: created again below.
        else:
            if old is not None:
                old_text = json.dumps(policy(settings, old), separators=(",", ":"))
                rollback.add(
                    "update role policy",
                    lambda: iam.put_role_policy(
                        RoleName=role_name(name), PolicyName=POLICY_NAME, PolicyDocument=old_text
                    ),
                )
            return arn
    _create(settings, name, text, tags, rollback)
    return arn


def _create(
    settings: Settings, name: str, text: str, tags: dict[str, str], rollback: Rollback | None
) -> None:
    """Create the role (registering its deletion on ``rollback`` as soon as it exists),
    then its inline policy and the execution policy."""
    iam = client("iam")
    machine = settings.machine_arn(name)
    role = role_name(name)
    role_tags = {MACHINE_TAG: machine, **{k: v for k, v in tags.items() if k != "routines:version"}}
    try:
        iam.create_role(
            RoleName=role,
            Path=settings.role_path,
            AssumeRolePolicyDocument=json.dumps(trust(settings)),
            Description=f"Routine state machine {name}: starts the executions it names"[:1000],
            PermissionsBoundary=settings.role_boundary_arn,
            Tags=[{"Key": k, "Value": v} for k, v in role_tags.items()],
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        # Left by a deployment whose undo failed? Only a role of this very machine is
        # taken over (role names are global to the account; machine ARNs are not).
        existing = iam.get_role(RoleName=role)["Role"]
        mine = {t["Key"]: t["Value"] for t in existing.get("Tags") or []}.get(MACHINE_TAG)
        if existing.get("Path") != settings.role_path or mine != machine:
            raise
    if rollback is not None:
        rollback.add("create role", lambda: delete(settings, name))
    iam.put_role_policy(RoleName=role, PolicyName=POLICY_NAME, PolicyDocument=text)
    iam.attach_role_policy(RoleName=role, PolicyArn=settings.execution_policy_arn)


def retire(
    settings: Settings,
    name: str,
    previous: dict[str, Any] | None,
    role: str,
    tags: dict[str, str],
    rollback: Rollback,
) -> None:
    """After the machine ``name`` was deployed with ``role``: delete the role it had of its
    own if it runs under another now (it starts nothing any more); undone by creating it
    again with the policy of the ``previous`` definition."""
    own = role_arn(settings, name)
    if previous is None or previous.get("roleArn") != own or role == own:
        return
    old = starts(str(previous["definition"]), settings.machine_arn(name))
    if old is not None:  # registered first: a deletion that fails half-way is undone too
        text = json.dumps(policy(settings, old), separators=(",", ":"))
        rollback.add("delete role", lambda: _create(settings, name, text, tags, None))
    delete(settings, name)


def remove(settings: Settings, name: str, role: str | None) -> None:
    """The machine ``name``, which ran under ``role``, is gone: delete its own role."""
    if role == role_arn(settings, name):
        delete(settings, name)


def delete(settings: Settings, name: str) -> None:
    """Delete the role of the machine ``name`` (what is already gone is ignored)."""
    iam = client("iam")
    role = role_name(name)
    steps: tuple[Callable[[], object], ...] = (
        lambda: iam.detach_role_policy(RoleName=role, PolicyArn=settings.execution_policy_arn),
        lambda: iam.delete_role_policy(RoleName=role, PolicyName=POLICY_NAME),
        lambda: iam.delete_role(RoleName=role),
    )
    for step in steps:
        try:
            step()
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _GONE:
                raise
