"""Manual runs and reading executions from Step Functions.

Until the recorder has written an execution record, Step Functions is the source of
truth: status, times, error and output from ``DescribeExecution``, the per-node trace
rebuilt from the history and node logs — when the definition the execution ran is the
one of the version we compile (``DescribeStateMachineForExecution``), else no trace.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.activation import machines
from functions.activation.rollback import Rollback
from functions.activation.service import compile_record, tags
from functions.activation.settings import Settings, execution_id
from functions.store import ConflictError, InvalidTokenError, NotFoundError, RoutineStore
from functions.trace import build_trace, transitions
from plugins.runtime.aws import client
from plugins.runtime.nodelog import read_logs
from statemachines.errors import RoutinesError
from statemachines.validator import analyse

LIST_CAP = 1000  # executions read per listing while listing comes from Step Functions


def start(
    store: RoutineStore, owner: str, routine_id: str, trigger: Any, test: bool, settings: Settings
) -> str:
    """Start the active version (``test``: the latest saved version, on the routine's test
    machine, without activating it); the execution id."""
    sfn = client("stepfunctions")
    if test:
        record = store.get(owner, routine_id)
        compiled = compile_record(record, settings)
        with Rollback() as rollback:
            arn = machines.deploy(
                settings,
                settings.machine_name(routine_id, test=True),
                compiled.definition,
                tags(record, record.current_version),
                rollback,
            )
            rollback.commit()
    else:
        head = store.head(owner, routine_id)
        if head.activation is None:
            raise ConflictError(
                f"routine '{routine_id}' is not active: activate it, or start a test run with \"test\": true"
            )
        arn = head.activation["stateMachineArn"]
    started = sfn.start_execution(
        stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps({"trigger": trigger})
    )
    return execution_id(started["executionArn"])


def describe(store: RoutineStore, owner: str, exec_id: str, settings: Settings) -> dict[str, Any]:
    parsed = settings.routine_of_execution(exec_id)
    if parsed is None:
        raise NotFoundError(f"no execution '{exec_id}'")
    routine_id, test = parsed
    head = store.head(owner, routine_id)  # another owner's execution: not found
    arn = settings.execution_arn(exec_id)
    sfn = client("stepfunctions")
    try:
        description = sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise NotFoundError(f"no execution '{exec_id}'") from None
        raise
    error = description.get("error")
    result: dict[str, Any] = {
        "executionId": exec_id,
        "routineId": routine_id,
        "test": test,
        "status": description["status"],
        "startedAt": _time(description.get("startDate")),
        "stoppedAt": _time(description.get("stopDate")),
        "input": _json(description.get("input")),
        "output": _json(description.get("output")),
        "error": {"type": error, "message": description.get("cause", "")} if error else None,
        "nodes": None,
        "transitions": None,
    }
    version = head.current_version if test else (head.active_version or head.current_version)
    try:
        record = store.get(owner, routine_id, version)
        compiled = compile_record(record, settings)
        ran = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
    except (RoutinesError, ClientError):
        return result
    if ran != compiled.definition:
        return result  # the machine was updated since: we cannot tell which version ran
    validation = analyse(record.document)
    assert validation.topology is not None and validation.routine is not None
    history = _history(arn)
    trigger = (result["input"] or {}).get("trigger") if isinstance(result["input"], dict) else None
    context = {"trigger": trigger, "vars": validation.routine.variables}
    result["nodes"] = build_trace(validation.topology, compiled.report, history, read_logs(arn), context)
    result["transitions"] = transitions(history)
    return result


def list_executions(
    store: RoutineStore,
    owner: str,
    routine_id: str,
    settings: Settings,
    status: str | None = None,
    limit: int = 20,
    token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, across the routine's machine and its test machine."""
    store.head(owner, routine_id)
    offset = _decode_offset(token) if token else 0
    sfn = client("stepfunctions")
    found: list[dict[str, Any]] = []
    for test in (False, True):
        kwargs: dict[str, Any] = {
            "stateMachineArn": settings.machine_arn(settings.machine_name(routine_id, test))
        }
        if status:
            kwargs["statusFilter"] = status
        try:
            for page in sfn.get_paginator("list_executions").paginate(**kwargs):
                found += [{**item, "test": test} for item in page["executions"]]
                if len(found) >= LIST_CAP:
                    break
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineDoesNotExist":
                raise
    found.sort(key=lambda item: item["startDate"], reverse=True)
    window = found[offset : offset + limit]
    items = [
        {
            "executionId": execution_id(item["executionArn"]),
            "routineId": routine_id,
            "test": item["test"],
            "status": item["status"],
            "startedAt": _time(item.get("startDate")),
            "stoppedAt": _time(item.get("stopDate")),
        }
        for item in window
    ]
    more = offset + limit < len(found)
    return items, _encode_offset(offset + limit) if more else None


def _history(arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=arn):
        events += page["events"]
    return events


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidTokenError("nextToken is not a token this API returned") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidTokenError("nextToken is not a token this API returned")
    return offset
