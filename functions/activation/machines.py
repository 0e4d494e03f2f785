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
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from plugins.runtime.aws import client
from statemachines.machine.records import STANDARD, machine_type

# CreateStateMachine while a machine of the same name is being deleted fails with
# StateMachineDeleting: AWS deletes an Express machine "usually in less than a minute".
DELETING_RETRY_SECONDS = 20.0
DELETING_POLL_SECONDS = 1.0


def _config(settings: Settings) -> dict[str, Any]:
    # Express executions have no history: CloudWatch Logs is where AWS keeps what they did
    # (their records come from the machine itself). Standard ones log errors there too.
    return {
        "roleArn": settings.execution_role_arn,
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


def _create(settings: Settings, name: str, definition: str, kind: str, tags: list[dict[str, str]]) -> None:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + DELETING_RETRY_SECONDS
    while True:
        try:
            sfn.create_state_machine(
                name=name, definition=definition, type=kind, tags=tags, **_config(settings)
            )
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineDeleting" or time.monotonic() > deadline:
                raise
            time.sleep(DELETING_POLL_SECONDS)


def deploy(settings: Settings, name: str, definition: str, tags: dict[str, str], rollback: Rollback) -> str:
    """The machine's ARN; registers on ``rollback`` how to restore what was there."""
    sfn = client("stepfunctions")
    arn = settings.machine_arn(name)
    kind = machine_type(definition)
    previous = describe(arn)
    tag_list = [{"key": k, "value": v} for k, v in tags.items()]
    if previous is not None and previous.get("type", STANDARD) != kind:
        # A machine's type cannot change: replace it, and on rollback put the old one back.
        old_tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
        sfn.delete_state_machine(stateMachineArn=arn)
        old_definition, old_kind = str(previous["definition"]), str(previous.get("type", STANDARD))

        def restore() -> None:
            sfn.delete_state_machine(stateMachineArn=arn)
            _create(settings, name, old_definition, old_kind, old_tags)

        _create(settings, name, definition, kind, tag_list)
        rollback.add("replace state machine", restore)
        return arn
    if previous is None:
        _create(settings, name, definition, kind, tag_list)
        rollback.add("create state machine", lambda: sfn.delete_state_machine(stateMachineArn=arn))
        return arn
    old_tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    old_definition = str(previous["definition"])
    sfn.update_state_machine(stateMachineArn=arn, definition=definition, **_config(settings))
    rollback.add(
        "update state machine",
        lambda: sfn.update_state_machine(stateMachineArn=arn, definition=old_definition, **_config(settings)),
    )
    sfn.tag_resource(resourceArn=arn, tags=tag_list)
    rollback.add("tag state machine", lambda: sfn.tag_resource(resourceArn=arn, tags=old_tags))
    return arn


def delete(arn: str) -> None:
    try:
        client("stepfunctions").delete_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "StateMachineDoesNotExist":
            raise
