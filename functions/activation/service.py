"""Activation: compile a saved version, deploy its state machine (with the role it runs
under: its own when it starts executions, functions/activation/roles.py), then its
trigger, and record it on the routine's head — all or nothing. Deactivation removes the
trigger (the machine and its role stay, for the executions still running); deleting a
routine deactivates it, then removes its state machines, their roles and its versions."""

from __future__ import annotations

import os
import time
from typing import Any

from contract.errors import InvalidRoutineError
from contract.names import ENV_STAGE
from functions.activation import error_routine, machines, subroutines, triggers
from functions.activation.rollback import Rollback
from functions.activation.settings import Settings
from functions.store import ExecutionStore, RoutineRecord, RoutineStore
from functions.store.executions import STOPPED_ERROR
from functions.store.routines import now
from functions.triggers import RunMeta
from plugins.sdk import PluginRegistry
from statemachines.compiler import Compiled, compile_validated
from statemachines.options import CompileOptions
from statemachines.validator import analyse


def compile_record(
    record: RoutineRecord,
    settings: Settings,
    registry: PluginRegistry | None = None,
    version: int | None = None,
) -> Compiled:
    """The state machine of a stored version. Saved versions were valid when saved; a
    plugin removed since makes them invalid now, reported like a save-time error. An
    Express machine records its executions under the routine's owner and ``version``
    when their input does not name them (statemachines/machine/records.py)."""
    validation = analyse(record.document, registry)
    if not validation.report.valid:
        raise InvalidRoutineError(validation.report.errors)
    options = CompileOptions(
        routine_id=record.routine_id,
        region=settings.region,
        account=settings.account,
        partition=settings.partition,
        stage=os.environ.get(ENV_STAGE) or None,  # deployed plugin functions are per stage
        owner=record.owner,
        version=version,
    )
    return compile_validated(validation, options)


def tags(record: RoutineRecord, version: int) -> dict[str, str]:
    return {
        "routines:owner": record.owner,
        "routines:routineId": record.routine_id,
        "routines:version": str(version),
    }


def activate(
    store: RoutineStore,
    owner: str,
    routine_id: str,
    settings: Settings,
    *,
    version: int | None = None,
    webhook_base: str = "",
    registry: PluginRegistry | None = None,
) -> dict[str, Any]:
    record = store.get(owner, routine_id, version)
    chosen = version or record.current_version
    if isinstance(record.document, dict):
        subroutines.check(store, owner, routine_id, record.document)
    compiled = compile_record(record, settings, registry, chosen)
    assert record.document is not None
    error_routine.check(store, owner, routine_id, record.document)
    previous = (record.activation or {}).get("trigger")
    with Rollback() as rollback:
        arn = machines.deploy(
            settings, settings.machine_name(routine_id), compiled.definition, tags(record, chosen), rollback
        )
        trigger = record.document["trigger"]
        meta = RunMeta(owner, routine_id, chosen, trigger["type"]).to_json()
        installation = triggers.Installation(routine_id, arn, settings, rollback, meta, webhook_base)
        state, shown = triggers.install(trigger, installation)
        if previous and not triggers.same_resources(previous, state):
            triggers.remove(previous)  # the edit changed the trigger's kind or bus
        activation = {"stateMachineArn": arn, "trigger": state, "activatedAt": now()}
        store.set_activation(owner, routine_id, chosen, activation)
        rollback.commit()
    return {
        "routineId": routine_id,
        "status": "active",
        "activeVersion": chosen,
        "stateMachineArn": arn,
        "trigger": record.document["trigger"],
        **shown,
    }


def deactivate(store: RoutineStore, owner: str, routine_id: str) -> dict[str, Any]:
    record = store.head(owner, routine_id)
    if record.activation:
        triggers.remove(record.activation.get("trigger") or {})
        store.set_activation(owner, routine_id, None, None)
    return {"routineId": routine_id, "status": "inactive", "activeVersion": None}


def delete(
    store: RoutineStore,
    owner: str,
    routine_id: str,
    settings: Settings,
    executions: ExecutionStore | None = None,
) -> None:
    """Deactivate the routine, stop its running executions and delete its machines (and
    roles), then the routine; given ``executions``, the records of the runs it stopped are
    closed ABORTED with the reason — no status event reaches the recorder from a machine
    that is gone."""
    deactivate(store, owner, routine_id)
    for test in (False, True):
        machines.delete(settings.machine_arn(settings.machine_name(routine_id, test)), settings)
    if executions is not None:
        _close_running(executions, owner, routine_id)
    store.delete(owner, routine_id)


def _close_running(executions: ExecutionStore, owner: str, routine_id: str) -> None:
    token: str | None = None
    while True:
        page = executions.list(owner, routine_id, status="RUNNING", limit=100, next_token=token)
        for record in page.items:
            error = {"type": STOPPED_ERROR, "message": f"stopped: {machines.DELETED_CAUSE}"}
            executions.record(record.aborted(error, time.time()))
        if not page.next_token:
            return
        token = page.next_token
