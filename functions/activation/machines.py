"""Create or update a routine's state machine in place (tagged, logged, traced)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from plugins.runtime.aws import client


def _config(settings: Settings) -> dict[str, Any]:
    return {
        "roleArn": settings.execution_role_arn,
        "loggingConfiguration": {
            "level": "ERROR",
            "includeExecutionData": False,  # execution data may hold trigger payloads
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": settings.log_group_arn}}],
        },
        "tracingConfiguration": {"enabled": True},
    }


def current_definition(arn: str) -> str | None:
    try:
        return str(client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "StateMachineDoesNotExist":
            return None
        raise


def deploy(settings: Settings, name: str, definition: str, tags: dict[str, str], rollback: Rollback) -> str:
    """The machine's ARN; registers on ``rollback`` how to restore what was there."""
    sfn = client("stepfunctions")
    arn = settings.machine_arn(name)
    previous = current_definition(arn)
    tag_list = [{"key": k, "value": v} for k, v in tags.items()]
    if previous is None:
        # Always STANDARD for now, whatever the compile report's execution.type says
        # (statemachines/express.py, docs/cost.md): the recorder learns of an execution's
        # end from Step Functions' status events, which Express executions never send, so
        # an Express machine would end without a terminal record or its error routine.
        # Once machines write their own terminal records (issue #28 item 2), create the
        # report's type here — and, as a machine's type cannot change, replace (not update)
        # a machine whose type differs from the new version's.
        sfn.create_state_machine(
            name=name, definition=definition, type="STANDARD", tags=tag_list, **_config(settings)
        )
        rollback.add("create state machine", lambda: sfn.delete_state_machine(stateMachineArn=arn))
        return arn
    old_tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    sfn.update_state_machine(stateMachineArn=arn, definition=definition, **_config(settings))
    rollback.add(
        "update state machine",
        lambda: sfn.update_state_machine(stateMachineArn=arn, definition=previous, **_config(settings)),
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
