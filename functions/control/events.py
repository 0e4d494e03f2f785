"""An execution as a stream of events (``GET /executions/{id}/events`` serves them as
Server-Sent Events: functions/api/routes/events.py).

One event per node start, per node end and per execution status change, each with an
``id:`` derived from the execution history: ``<history event id>`` or
``<history event id>.<n>`` when several events are decided by the same history event.
The history only grows, and every event is decided by (and numbered after) the history
event that settles it, so the numbering is stable: a client that reconnects with
``Last-Event-ID`` gets exactly the events after that one.

- A node **starts** at the first state of it entered (``running``; ``waiting`` for a wait
  or approval node), numbered by that ``*StateEntered`` event.
- A node **ends** (succeeded, failed, skipped) once its trace status is final and nothing
  of it can run again: the execution moved on from its last event (an event follows it),
  the loops around it have ended, or the execution has ended. Nodes that are never a
  state (merge, disabled, skipped ones) end with the nodes before them. Loop bodies end
  once, when their loop does (iterations are grouped, as in the trace).
- The execution's **status**: ``RUNNING`` at ``ExecutionStarted``, and its terminal status
  last; the stream ends there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import RoutinesError
from functions.activation import Settings
from functions.activation.service import compile_record
from functions.control.services import Services
from functions.store import NotFoundError, stop_error, stopped_status
from functions.store.executions import iso
from functions.trace import (
    CANCELLED,
    EXECUTION_ENDED,
    FAILED,
    SKIPPED,
    SUCCEEDED,
    WAITING_PLUGINS,
    build_trace,
    clean_error,
    execution_history,
    shown_error,
)
from functions.triggers import RunMeta
from plugins.runtime.nodelog import read_logs
from statemachines.topology import Topology
from statemachines.validator import analyse

FINAL = (SUCCEEDED, FAILED, SKIPPED, CANCELLED)
TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
# Within the events one history event decides: ends of nodes started before it, then the
# node it starts, then ends of nodes it both starts and ends, then the execution's status.
END_BEFORE, START, END_AFTER, STATUS = range(4)

Seq = tuple[int, int]


@dataclass(slots=True, frozen=True)
class StreamEvent:
    seq: Seq
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.seq[0]) if self.seq[1] == 0 else f"{self.seq[0]}.{self.seq[1]}"

    def text(self) -> str:
        return f"id: {self.id}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n"

    @property
    def terminal(self) -> bool:
        return bool(self.data["type"] == "status" and self.data["status"] != "RUNNING")


def parse_id(text: str) -> Seq:
    head, _, tail = text.partition(".")
    return int(head), int(tail or 0)


def _at(timestamp: Any) -> str | None:
    if isinstance(timestamp, datetime):
        return iso(timestamp.timestamp())
    return None


def _owned_events(
    history: list[dict[str, Any]], state_nodes: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Node → its history events: its states' entries and exits, and what happened in
    them (Lambda attempts…: events whose ``previousEventId`` chain reaches the state's
    entry before any exit)."""
    by_id = {event["id"]: event for event in history}
    state_of: dict[int, str | None] = {}

    def state(event: dict[str, Any]) -> str | None:
        chain: list[int] = []
        found: str | None = None
        current: dict[str, Any] | None = event
        while current is not None:
            known = current["id"] in state_of
            if known:
                found = state_of[current["id"]]
                break
            chain.append(current["id"])
            if "stateEnteredEventDetails" in current:
                found = str(current["stateEnteredEventDetails"]["name"])
                break
            if "stateExitedEventDetails" in current or current["type"].startswith("Execution"):
                break
            current = by_id.get(current.get("previousEventId", -1))
        for event_id in chain:
            state_of[event_id] = found
        return found

    owned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in history:
        if "stateExitedEventDetails" in event:
            name: str | None = str(event["stateExitedEventDetails"]["name"])
        elif event["type"].startswith("Execution"):
            name = None
        else:
            name = state(event)
        node = state_nodes.get(name) if name is not None else None
        if node is not None:
            owned[node].append(event)
    return owned


def derive_events(
    history: list[dict[str, Any]],
    report: dict[str, Any],
    topology: Topology,
    trace: dict[str, dict[str, Any]],
) -> list[StreamEvent]:
    """Every event the history so far decides, in stream order (a pure function of the
    history and the trace built on it)."""
    if not history:
        return []
    owned = _owned_events(history, report["stateNodes"])
    followed = {event["previousEventId"] for event in history if "previousEventId" in event}
    follower: dict[int, int] = {}
    for event in history:
        follower.setdefault(event.get("previousEventId", -1), event["id"])
    ended = next((event for event in history if event["type"] in EXECUTION_ENDED), None)
    by_id = {event["id"]: event for event in history}
    rank = {node: index for index, node in enumerate(topology.order)}
    pending: list[tuple[int, int, int, dict[str, Any]]] = []  # (history id, phase, rank, data)

    first = history[0]
    if first["type"] == "ExecutionStarted":
        pending.append(
            (
                first["id"],
                STATUS,
                0,
                {"type": "status", "node": None, "status": "RUNNING", "at": _at(first["timestamp"])},
            )
        )
    decided: dict[str, int] = {}  # node → the history id its end is numbered by
    reached: dict[str, bool] = {}  # node → whether a node after it has started
    for node_id in reversed(topology.order):
        reached[node_id] = any(
            edge.target in owned or reached[edge.target] for edge in topology.graph.outgoing[node_id]
        )
    started: dict[str, int] = {}
    for node_id in topology.order:
        events = owned.get(node_id, [])
        info = topology.infos[node_id]
        if events:
            entry = events[0]
            started[node_id] = entry["id"]
            status = "waiting" if info.plugin.name in WAITING_PLUGINS else "running"
            pending.append(
                (
                    entry["id"],
                    START,
                    rank[node_id],
                    {"type": "node", "node": node_id, "status": status, "at": _at(entry["timestamp"])},
                )
            )
        entry_trace = trace.get(node_id) or {}
        if entry_trace.get("status") not in FINAL:
            continue
        loops = topology.enclosing.get(node_id, ())
        if any(loop not in decided for loop in loops):
            continue
        settled = [decided[loop] for loop in loops]
        if events:
            last = events[-1]["id"]
            if last in followed:
                settled += [last, follower[last]]
            elif ended is not None:
                settled += [last, ended["id"]]
            else:
                continue
        else:
            # Not a state, or never entered: while the execution runs, the trace can tell
            # only once a node after it ran (a branch not taken shows as skipped at the end).
            sources = [edge.source for edge in topology.graph.incoming[node_id]]
            if any(source not in decided for source in sources):
                continue
            if ended is None and not reached[node_id]:
                continue
            if ended is not None and not reached[node_id]:
                settled.append(ended["id"])
            settled += [decided[source] for source in sources] or [first["id"]]
        at = max(settled)
        decided[node_id] = at
        phase = END_AFTER if started.get(node_id) == at else END_BEFORE
        data: dict[str, Any] = {
            "type": "node",
            "node": node_id,
            "status": entry_trace["status"],
            "at": _at(by_id[at]["timestamp"]),
            "durationMs": entry_trace.get("durationMs") or 0,
        }
        error = shown_error(entry_trace.get("error"))
        if error is not None:
            data["error"] = error
        pending.append((at, phase, rank[node_id], data))
    if ended is not None:
        final: dict[str, Any] = {
            "type": "status",
            "node": None,
            "status": TERMINAL[ended["type"]],
            "at": _at(ended["timestamp"]),
        }
        details = next((value for key, value in ended.items() if key.endswith("EventDetails")), None)
        if isinstance(details, dict) and (details.get("error") or details.get("cause")):
            final["error"] = clean_error(details.get("error"), details.get("cause"))
            # Stopped while it waited on an approval: moto fails the waiting task with the
            # stop's error rather than aborting; the records say ABORTED, and so does this.
            final["status"] = stopped_status(final["status"], final["error"].get("type"))
        pending.append((ended["id"], STATUS, 0, final))
    pending.sort(key=lambda item: item[:3])
    out: list[StreamEvent] = []
    previous, index = -1, 0
    for history_id, _, _, data in pending:
        index = index + 1 if history_id == previous else 0
        previous = history_id
        out.append(StreamEvent((history_id, index), data))
    return out


def _from_record(record_json: dict[str, Any], order: list[str]) -> list[StreamEvent]:
    """Events of an ended execution whose history Step Functions no longer has (a
    restarted local server): its nodes' ends and its status, numbered 1…n."""
    events: list[dict[str, Any]] = []
    nodes = record_json.get("nodes") or {}
    for node_id in order or list(nodes):
        entry = nodes.get(node_id)
        if isinstance(entry, dict):
            data = {
                "type": "node",
                "node": node_id,
                "status": entry.get("status"),
                "at": record_json.get("stoppedAt"),
                "durationMs": entry.get("durationMs") or 0,
            }
            if entry.get("error"):
                data["error"] = shown_error(entry["error"])
            events.append(data)
    status: dict[str, Any] = {"type": "status", "node": None}
    status.update(status=record_json.get("status"), at=record_json.get("stoppedAt"))
    if record_json.get("error"):
        status["error"] = shown_error(record_json["error"])
    events.append(status)
    return [StreamEvent((n, 0), data) for n, data in enumerate(events, start=1)]


def execution_events(
    services: Services, settings: Settings, owner: str, execution_id: str
) -> list[StreamEvent]:
    """Every event so far of one of ``owner``'s executions (NotFoundError otherwise)."""
    store, sfn = services.routines, services.stepfunctions
    record = services.executions.get(owner, execution_id)
    if record is not None:
        routine_id = record.routine_id
    else:
        parsed = settings.routine_of_execution(execution_id)
        if parsed is None:
            raise NotFoundError(f"no execution '{execution_id}'")
        routine_id = parsed[0]
        store.head(owner, routine_id)  # another owner's routine: not found
    arn = (record.execution_arn if record is not None else None) or settings.execution_arn(execution_id)
    try:
        description = sfn.describe_execution(executionArn=arn)
        history = execution_history(sfn, arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "InvalidArn"):
            raise
        if record is None:
            raise NotFoundError(f"no execution '{execution_id}'") from None
        if not record.terminal:
            return []
        return _from_record(record.to_json(), [])
    document = json.loads(description.get("input") or "{}")
    meta = RunMeta.from_input(document)
    version = record.version if record is not None and record.version is not None else None
    if version is None and meta is not None:
        version = meta.version
    if version is None:
        raise NotFoundError(f"no routine version known for execution '{execution_id}'")
    try:
        routine = store.get(owner, routine_id, version)
        compiled = compile_record(routine, settings)
    except RoutinesError:
        raise NotFoundError(f"the routine version of execution '{execution_id}' is gone") from None
    validation = analyse(routine.document)
    assert validation.topology is not None and validation.routine is not None
    ended = any(event["type"] in EXECUTION_ENDED for event in history)
    if ended and record is not None and record.terminal and record.nodes:
        # The recorder's trace, built on this same (whole) history: no node logs to read
        # again (10,000 loop iterations are 10,000 log lines).
        trace: dict[str, dict[str, Any]] = record.nodes
    else:
        trigger = document.get("trigger") if isinstance(document, dict) else None
        run_context = {"trigger": trigger, "vars": validation.routine.variables}
        trace = build_trace(validation.topology, compiled.report, history, read_logs(arn), run_context)
    events = derive_events(history, compiled.report, validation.topology, trace)
    if events and events[-1].terminal and record is not None:
        final = events[-1].data
        if record.terminal:
            # The record is what every other view shows (who stopped it and why, a
            # timeout's limit): the stream ends as it does.
            final["status"] = record.status
            if record.error:
                final["error"] = shown_error(record.error)
        elif record.stopped_by and final["status"] == "ABORTED":
            # Ended by a stop the recorder has not written yet: said as it will say it.
            final["error"] = stop_error(record.stopped_by, record.stop_reason)
    return events
