"""Child executions in moto's Step Functions interpreter, as AWS runs them.

A Task on ``arn:aws:states:::states:startExecution`` (``.sync``, ``.sync:2`` or plain)
is how an ``execute-routine`` node starts its child. moto 5.2.5 and 5.2.6 fail every one
with ``States.Runtime`` ``KeyError: 'StateMachineArn'``: the integration hands the
state's ``Arguments`` (``StateMachineArn``, ``Input``, ``Name``: Step Functions' names)
to boto3 as they are, where the API's names are ``stateMachineArn``, ``input``, ``name``;
and it hands the answers on with boto3's names (``executionArn``, ``output``) where AWS
gives ``ExecutionArn``, ``Output``. Its base class has the mapping both ways
(``_to_boto_request``, ``_from_boto_response``) but its ``_normalise_parameters`` and
``_normalise_response`` are empty. While installed, for the Step Functions integration
only:

- the request's names are mapped to the API's (the shapes of botocore's model), after
  moto's own preparation (``Input`` as JSON text); an execution started without ``Name``
  gets a UUID, as on AWS (moto would name every one "None");
- every answer (StartExecution's, and the DescribeExecution the ``.sync`` patterns poll,
  which is also the Cause of a failed child) gets AWS's names, its dates as epoch
  milliseconds as AWS writes them in the task's result;
- an ``execute-routine`` node pinned by a routine test (:func:`pin`) starts no child.

Guarded like every change to moto (:mod:`functions.local.fastpaths.guard`): installed
only over the two files it was written for, whose methods still take the parameters it
passes; otherwise moto is left alone — its integration fails as released — and the
runtime says so once, on stderr.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from functools import cache
from typing import Any

from botocore.session import get_session
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from functions.local.fastpaths.guard import Patch, Seam, files_differ, install_unless
from functions.local.lambdas import Pin

# The files read when writing this (moto 5.2.5 and 5.2.6 ship the same two).
WRITTEN_FOR = {
    state_task_service_sfn.__name__: {"520fdf7bf36646ba": "moto 5.2.5, 5.2.6"},
    state_task_service.__name__: {"20abc4186424ccef": "moto 5.2.5, 5.2.6"},
}
SERVICE = "stepfunctions"
_told: list[str] = []
# A stand-in child for pinned execute-routine nodes: it ends with its input's "output".
STAND_IN_NAME = "routine-pinned-child"  # never a routine's machine ("routines-<id>")
STAND_IN_DEFINITION = json.dumps(
    {
        "QueryLanguage": "JSONata",
        "Comment": "Stands in for the child routine of a pinned execute-routine node (routines test)",
        "StartAt": "pinned",
        "States": {"pinned": {"Type": "Pass", "Output": "{% $states.input.output %}", "End": True}},
    }
)
_lock = threading.Lock()
_pins: dict[str, tuple[str, dict[str, Pin]]] = {}  # parent execution ARN → (stand-in ARN, pins)


def pin(execution_arn: str, pins: dict[str, Pin], stand_in_arn: str) -> None:
    """During one execution, these execute-routine nodes start no child: a pinned error
    fails the node's Task with that error, a pinned output is the result of a stand-in
    child (``stand_in_arn``, a machine with :data:`STAND_IN_DEFINITION`), so the node runs
    its usual course (``.sync:2`` result, or ``{executionId}``)."""
    with _lock:
        _pins[execution_arn] = (stand_in_arn, dict(pins))


def unpin(execution_arn: str) -> None:
    with _lock:
        _pins.pop(execution_arn, None)


def _pinned(env: Any, parameters: dict[str, Any]) -> tuple[str, Pin] | None:
    if not _pins:
        return None
    execution = env.states.context_object.context_object_data.get("Execution") or {}
    with _lock:
        found = _pins.get(str(execution.get("Id")))
    if found is None:
        return None
    try:
        node = json.loads(parameters.get("input") or "{}")["meta"]["parentNodeId"]
    except (ValueError, KeyError, TypeError):
        return None
    pinned = found[1].get(str(node))
    return (found[0], pinned) if pinned is not None else None


@cache
def _operation(action: str) -> Any:
    """botocore's model of a Step Functions operation (``start_execution`` →
    StartExecution)."""
    name = "".join(part.capitalize() for part in action.split("_"))
    return get_session().get_service_model(SERVICE).operation_model(name)


def _millis(value: Any) -> Any:
    """Dates as AWS writes them in a task's result: epoch milliseconds."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: _millis(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_millis(item) for item in value]
    return value


def _normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    SEAM.originals["normalise_parameters"](self, parameters, boto_service_name, service_action_name)
    action = self._get_boto_service_action(service_action_name)
    self._to_boto_request(parameters, _operation(action).input_shape)
    if action == "start_execution" and not parameters.get("name"):
        parameters["name"] = str(uuid.uuid4())  # AWS names an unnamed execution so; moto "None"


def _normalise_response(
    self: StateTaskService,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    if not isinstance(self, StateTaskServiceSfn) or not isinstance(response, dict):
        SEAM.originals["normalise_response"](self, response, boto_service_name, service_action_name)
        return
    action = self._get_boto_service_action(service_action_name)
    self._from_boto_response(response, _operation(action).output_shape)
    converted = _millis(response)
    response.clear()
    response.update(converted)


def _eval_service_task(
    self: StateTaskServiceSfn,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    pinned = _pinned(env, normalised_parameters)
    if pinned is not None:
        stand_in, answer = pinned
        if answer.error is not None:
            details = TaskFailedEventDetails(
                error=answer.error,
                cause=answer.message,
                resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
            )
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=CustomErrorName(answer.error),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=details),  # type: ignore[typeddict-item]
                )
            )
        child_input = json.dumps({"output": answer.output}, separators=(",", ":"))
        normalised_parameters = {**normalised_parameters, "stateMachineArn": stand_in, "input": child_input}
    SEAM.originals["eval_service_task"](
        self, env, resource_runtime_part, normalised_parameters, state_credentials
    )


def _patches() -> list[Patch]:
    return [
        ("eval_service_task", StateTaskServiceSfn, "_eval_service_task", _eval_service_task),
        ("normalise_parameters", StateTaskServiceSfn, "_normalise_parameters", _normalise_parameters),
        ("normalise_response", StateTaskService, "_normalise_response", _normalise_response),
    ]


SEAM = Seam(
    "child-executions",
    "states:startExecution integrations with AWS's parameter and result names",
    _patches,
    parameters={
        "eval_service_task": (
            "self",
            "env",
            "resource_runtime_part",
            "normalised_parameters",
            "state_credentials",
        ),
        "normalise_parameters": ("self", "parameters", "boto_service_name", "service_action_name"),
        "normalise_response": ("self", "response", "boto_service_name", "service_action_name"),
    },
)


def changed() -> list[str]:
    """What differs from the code this was written for (empty: nothing)."""
    return files_differ(WRITTEN_FOR) or SEAM.changed()


def install() -> bool:
    """Install unless moto is not what this was written for (then say why, once)."""
    note = (
        "execute-routine nodes run on moto's own startExecution integration ({problems}): "
        "it may fail them with States.Runtime"
    )
    return install_unless(SEAM, [] if SEAM.installed else changed(), _told, note)


def uninstall() -> None:
    SEAM.uninstall()


__all__ = ["SEAM", "STAND_IN_DEFINITION", "STAND_IN_NAME", "changed", "install", "pin", "uninstall", "unpin"]
