"""Manual runs, and reading executions.

Runs start through :func:`functions.triggers.start_execution`, the path every trigger
takes (it writes the RUNNING execution record at once). Reads prefer the execution record
(the recorder completes it from Step Functions' status events); while it does not exist
or is not terminal yet, Step Functions is asked directly: status, times, error and output
from ``DescribeExecution``, the per-node trace rebuilt from the history and node logs —
when the definition the execution ran is the one of its version we compile
(``DescribeStateMachineForExecution``), else no trace.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from functions.activation import machines
from functions.activation.rollback import Rollback
from functions.activation.service import compile_record, tags
from functions.activation.settings import Settings
from functions.store import ConflictError, ExecutionRecord, ExecutionStore, NotFoundError, RoutineStore
from functions.store.executions import iso
from functions.trace import (
    build_trace,
    clean_error,
    shown_result,
    timed_out_error,
    trace_from_logs,
    transitions,
)
from functions.triggers import RunMeta, start_execution
from plugins.runtime.aws import client
from plugins.runtime.nodelog import read_logs
from statemachines.validator import analyse


def start(
    store: RoutineStore, owner: str, routine_id: str, trigger: Any, test: bool, settings: Settings
) -> str:
    """Start the active version (``test``: the latest saved version, on the routine's test
    machine, without activating it); the execution id."""
    if test:
        record = store.get(owner, routine_id)
        compiled = compile_record(record, settings, version=record.current_version)
        with Rollback() as rollback:
            arn = machines.deploy(
                settings,
                settings.machine_name(routine_id, test=True),
                compiled.definition,
                tags(record, record.current_version),
                rollback,
            )
            rollback.commit()
        version = record.current_version
    else:
        head = store.head(owner, routine_id)
        if head.activation is None or head.active_version is None:
            raise ConflictError(
                f"routine '{routine_id}' is not active: activate it, or start a test run with \"test\": true"
            )
        arn, version = head.activation["stateMachineArn"], head.active_version
    meta = RunMeta(owner, routine_id, version, "test" if test else "manual")
    started = start_execution(client("stepfunctions"), ExecutionStore(), arn, meta, trigger)
    return started.execution_id


def describe(store: RoutineStore, owner: str, exec_id: str, settings: Settings) -> dict[str, Any]:
    record = ExecutionStore().get(owner, exec_id)
    if record is not None and record.pending is not None:
        # An Express execution (statemachines/machine/records.py): Step Functions keeps
        # neither its description nor its history; its record is all there is.
        return _express(store, owner, record, settings)
    if record is not None and record.terminal:
        return record.to_json()
    if record is None:
        parsed = settings.routine_of_execution(exec_id)
        if parsed is None:
            raise NotFoundError(f"no execution '{exec_id}'")
        store.head(owner, parsed[0])  # another owner's execution: not found
    try:
        live = _from_step_functions(store, owner, exec_id, settings)
    except NotFoundError:
        if record is None:
            raise
        return record.to_json()  # Step Functions forgot it (a restarted local server)
    if record is None:
        return live
    # The record knows who started it; Step Functions may already know how it ended.
    return {**record.to_json(), **{k: v for k, v in live.items() if v is not None or k == "error"}}


def _express(store: RoutineStore, owner: str, record: ExecutionRecord, settings: Settings) -> dict[str, Any]:
    """The record of an Express execution; once its machine wrote its end and until the
    recorder's sweep settles it, with the trace and error the sweep will write (from the
    node logs), so a caller need not wait for the sweep."""
    shown = record.to_json()
    if not record.terminal:
        return _overdue(store, owner, record, shown)
    if record.nodes is not None or record.execution_arn is None:
        return shown
    if record.error is not None:
        shown["error"] = clean_error(record.error.get("type"), record.error.get("message"))
    shown["output"] = shown_result(record.output)
    try:
        version = store.get(owner, record.routine_id, record.version)
        compiled = compile_record(version, settings)
    except (RoutinesError, ClientError):
        return shown
    validation = analyse(version.document)
    assert validation.topology is not None and validation.routine is not None
    context = {"trigger": record.trigger, "vars": validation.routine.variables}
    shown["nodes"] = trace_from_logs(record.execution_arn, validation.topology, compiled.report, context)
    return shown


def _overdue(
    store: RoutineStore, owner: str, record: ExecutionRecord, shown: dict[str, Any]
) -> dict[str, Any]:
    """A RUNNING Express record past its limit and the sweep's grace: Step Functions
    stopped it (TIMED_OUT), as the recorder's next sweep will write; shown so now."""
    from functions.recorder.recorder import EXPRESS_TIMED_OUT, express_limit, sweep_grace_seconds

    try:
        document = store.get(owner, record.routine_id, record.version).document
    except RoutinesError:
        document = None
    limit = express_limit(document)
    if time.time() < record.started_at + limit + sweep_grace_seconds():
        return shown
    timeout = document.get("timeoutSeconds") if isinstance(document, dict) else None
    error = timed_out_error(timeout) if timeout is not None else EXPRESS_TIMED_OUT
    stopped = record.started_at + limit
    return {
        **shown,
        "status": "TIMED_OUT",
        "error": error,
        "stoppedAt": iso(stopped),
        "durationMs": limit * 1000,
    }


def list_executions(
    owner: str,
    routine_id: str,
    store: RoutineStore,
    status: str | None = None,
    limit: int = 20,
    token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, from the execution records."""
    store.head(owner, routine_id)  # another owner's routine: not found
    page = ExecutionStore().list(owner, routine_id, status=status, limit=limit, next_token=token)
    return [record.summary() for record in page.items], page.next_token


def _from_step_functions(store: RoutineStore, owner: str, exec_id: str, settings: Settings) -> dict[str, Any]:
    parsed = settings.routine_of_execution(exec_id)
    if parsed is None:
        raise NotFoundError(f"no execution '{exec_id}'")
    routine_id, test = parsed
    arn = settings.execution_arn(exec_id)
    sfn = client("stepfunctions")
    try:
        description = sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise NotFoundError(f"no execution '{exec_id}'") from None
        raise
    document = _json(description.get("input"))
    document = document if isinstance(document, dict) else {}
    meta = RunMeta.from_input(document)
    error = description.get("error")
    started, stopped = description.get("startDate"), description.get("stopDate")
    result: dict[str, Any] = {
        "executionId": exec_id,
        "routineId": routine_id,
        "version": meta.version if meta else None,
        "status": description["status"],
        "triggerType": meta.trigger_type if meta else ("test" if test else None),
        "startedAt": _iso(started),
        "stoppedAt": _iso(stopped),
        "durationMs": round((stopped - started).total_seconds() * 1000, 1) if started and stopped else None,
        "error": {"type": error, "message": description.get("cause", "")} if error else None,
        "executionArn": arn,
        "trigger": document.get("trigger"),
        "output": shown_result(_json(description.get("output"))),
        "nodes": None,
        "transitions": None,
    }
    if meta is None:
        return result
    try:
        record = store.get(owner, routine_id, meta.version)
        compiled = compile_record(record, settings)
        ran = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
    except (RoutinesError, ClientError):
        return result
    if ran != compiled.definition:
        return result  # not the definition of that version (e.g. a plugin changed since)
    validation = analyse(record.document)
    assert validation.topology is not None and validation.routine is not None
    history: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        history += page["events"]
    context = {"trigger": result["trigger"], "vars": validation.routine.variables}
    result["nodes"] = build_trace(validation.topology, compiled.report, history, read_logs(arn), context)
    result["transitions"] = transitions(history)
    return result


def _iso(value: datetime | None) -> str | None:
    return iso(value.timestamp()) if value else None


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
