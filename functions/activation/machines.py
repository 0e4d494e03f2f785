"""Create, update or replace a routine's state machine (tagged, logged, traced).

A machine is Express or Standard as its routine's ``execution`` setting chose
(statemachines/express.py). The compiled definition says which: only an Express
routine's machine is wrapped to write its own execution records
(statemachines/machine/records.py), so :func:`machine_type` reads the type from the
definition and no caller can deploy a definition as the wrong type. A state machine's type
cannot change: a new version of another type **replaces** the machine (delete, then
create under the same name, so the ARN, the triggers and the roles stay valid). Deleting
a machine ends its running executions on their next state transition; AWS deletes
asynchronously, so the create is retried while the old machine is still being deleted.

A machine that starts executions (execute-routine children, its own distributed loop)
runs under a role of its own, which :mod:`functions.activation.roles` creates, updates or
deletes around the machine's deployment; the others run under the shared execution role.
IAM is eventually consistent: Step Functions may not be able to assume a role created
seconds ago (CreateStateMachine/UpdateStateMachine fail with AccessDeniedException,
"Neither the global service principal states.amazonaws.com, nor the regional one is
authorized to assume the provided role"), so both are retried for a while on that error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from functions.activation import roles
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.store.executions import STOPPED_ERROR
from plugins.runtime.aws import client
from statemachines.machine.records import STANDARD, machine_type

# CreateStateMachine while a machine of the same name is being deleted fails with
# StateMachineDeleting: AWS deletes an Express machine "usually in less than a minute".
DELETING_RETRY_SECONDS = 20.0
DELETING_POLL_SECONDS = 1.0
# A role created moments ago: IAM reaches Step Functions "within seconds" (eventual
# consistency); the API's 29 seconds bound what activation may wait.
ROLE_RETRY_SECONDS = 20.0
ROLE_POLL_SECONDS = 1.0
NOT_ASSUMABLE = "authorized to assume the provided role"


def _config(settings: Settings, role: str) -> dict[str, Any]:
    # Express executions have no history: CloudWatch Logs is where AWS keeps what they did
    # (their records come from the machine itself). Standard ones log errors there too.
    return {
        "roleArn": role,
        "loggingConfiguration": {
            "level": "ERROR",
            "includeExecutionData": False,  # execution data may hold trigger payloads
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": settings.log_group_arn}}],
        },
        "tracingConfiguration": {"enabled": True},
    }


def describe(arn: str) -> dict[str, Any] | None:
    try:
        described: dict[str, Any] = client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "StateMachineDoesNotExist":
            return None
        raise
    return described


def current_definition(arn: str) -> str | None:
    described = describe(arn)
    return str(described["definition"]) if described is not None else None


def _not_assumable_yet(exc: ClientError) -> bool:
    error = exc.response["Error"]
    return error.get("Code") == "AccessDeniedException" and NOT_ASSUMABLE in str(error.get("Message", ""))


def _retrying(call: Callable[[], object], retry_deleting: bool = False) -> None:
    """``call``, again while the machine's role cannot be assumed yet (and, for a create,
    while a machine of the same name is still being deleted)."""
    started = time.monotonic()
    while True:
        try:
            call()
            return
        except ClientError as exc:
            waited = time.monotonic() - started
            if _not_assumable_yet(exc) and waited < ROLE_RETRY_SECONDS:
                time.sleep(ROLE_POLL_SECONDS)
            elif (
                retry_deleting
                and exc.response["Error"]["Code"] == "StateMachineDeleting"
                and waited < DELETING_RETRY_SECONDS
            ):
                time.sleep(DELETING_POLL_SECONDS)
            else:
                raise


def _create(
    settings: Settings, name: str, definition: str, kind: str, tags: list[dict[str, str]], role: str
) -> None:
    sfn = client("stepfunctions")
    _retrying(
        lambda: sfn.create_state_machine(
            name=name, definition=definition, type=kind, tags=tags, **_config(settings, role)
        ),
        retry_deleting=True,
    )


def _update(settings: Settings, arn: str, definition: str, role: str) -> None:
    sfn = client("stepfunctions")
    _retrying(
        lambda: sfn.update_state_machine(
            stateMachineArn=arn, definition=definition, **_config(settings, role)
        )
    )


def deploy(settings: Settings, name: str, definition: str, tags: dict[str, str], rollback: Rollback) -> str:
    """The machine's ARN; registers on ``rollback`` how to restore what was there (its
    role included)."""
    sfn = client("stepfunctions")
    arn = settings.machine_arn(name)
    kind = machine_type(definition)
    previous = describe(arn)
    role = roles.prepare(settings, name, definition, previous, tags, rollback)
    tag_list = [{"key": k, "value": v} for k, v in tags.items()]
    if previous is not None:
        old_definition = str(previous["definition"])
        old_role = str(previous.get("roleArn") or settings.execution_role_arn)
        old_tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    if previous is not None and previous.get("type", STANDARD) != kind:
        # A machine's type cannot change: replace it, and on rollback put the old one back.
        sfn.delete_state_machine(stateMachineArn=arn)
        old_kind = str(previous.get("type", STANDARD))

        def restore() -> None:
            sfn.delete_state_machine(stateMachineArn=arn)
            _create(settings, name, old_definition, old_kind, old_tags, old_role)

        _create(settings, name, definition, kind, tag_list, role)
        rollback.add("replace state machine", restore)
    elif previous is None:
        _create(settings, name, definition, kind, tag_list, role)
        rollback.add("create state machine", lambda: sfn.delete_state_machine(stateMachineArn=arn))
    else:
        _update(settings, arn, definition, role)
        rollback.add("update state machine", lambda: _update(settings, arn, old_definition, old_role))
        sfn.tag_resource(resourceArn=arn, tags=tag_list)
        rollback.add("tag state machine", lambda: sfn.tag_resource(resourceArn=arn, tags=old_tags))
    roles.retire(settings, name, previous, role, tags, rollback)
    return arn


# A deleted routine's running executions end with the stop's own error, so that their
# records say ABORTED (functions.store.stopped_status), and why.
DELETED_CAUSE = "the routine was deleted"


def _stop_running(arn: str) -> None:
    """Stop the machine's running executions before it goes: on AWS a deleted machine's
    executions run on (an approval waits up to a year), and moto forgets them, leaving
    their records RUNNING for ever."""
    sfn = client("stepfunctions")
    try:
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING")
        for page in pages:
            for execution in page["executions"]:
                try:
                    sfn.stop_execution(
                        executionArn=execution["executionArn"], error=STOPPED_ERROR, cause=DELETED_CAUSE
                    )
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
                        raise
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "StateMachineDoesNotExist":
            raise


def delete(arn: str, settings: Settings | None = None) -> None:
    """Delete the machine (if it exists) and, given ``settings``, the role of its own it ran
    under (roles.py)."""
    described = describe(arn) if settings is not None else None
    _stop_running(arn)
    try:
        client("stepfunctions").delete_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "StateMachineDoesNotExist":
            raise
    if settings is not None and described is not None:
        roles.remove(settings, str(described["name"]), described.get("roleArn"))
