"""The execution trace: every node of the routine with a status (DESIGN §3: skipped nodes
are listed too), built from the execution history, the node logs and the compile report.
One implementation for the local runner (`routines run`) and the recorder Lambda; it
imports no moto.

Nodes with states are observed directly (their states were entered, their Lambdas wrote
logs). Nodes compiled into no state (merge, disabled nodes, conditions decided at compile
time) are replayed with the routine's own rule — a node runs when an incoming connection
is active — using which port each observed node actually fired.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract.conditions import evaluate
from contract.names import EXPRESSION_FAILED, QUOTED_TEMPLATE, RERAISED_PREFIX
from plugins.runtime.context import normalize
from plugins.runtime.context import resolve as resolve_value
from plugins.runtime.nodelog import read_logs
from statemachines.machine.plan import variable_name
from statemachines.machine.records import WRAPPER_STATES
from statemachines.topology import NodeInfo, Topology

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"
# A node of a branch that lost a race into a merge with mode "first" (issue #27), which was
# running or still to run when the winner arrived: Step Functions cancelled it.
CANCELLED = "cancelled"
# While the execution runs: a node whose state is entered and not left is running (waiting,
# for a wait or approval node); a node after it that may still run is pending.
RUNNING, WAITING, PENDING = "running", "waiting", "pending"
WAITING_PLUGINS = ("wait", "approval")
EXECUTE_ROUTINE = "execute-routine"  # plugins.builtin.control.execute_routine
EXECUTION_ENDED = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
# How a Lambda attempt ends, as Step Functions saw it (a node log may come later, or never:
# a timed-out Lambda may still finish and log success after the state moved on).
ATTEMPT_ENDS = ("LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut")
MAX_CAUSE_WRAPS = 5  # wrapped causes: a Lambda's report inside a branch's inside a Map's


# What a user sees of an error: ``{"type", "message"}``, nothing more. Step Functions
# reports a Lambda failure with the Lambda's whole error report as the Cause — a JSON
# string with ``errorType``, ``errorMessage``, ``requestId`` and a ``stackTrace`` of the
# machine's file paths — and a failed Map iteration or Parallel branch may wrap that
# again. The user needs the type and the message; the trace stays in the node's log.
# Shared by the local runner, the recorder Lambda and the API (functions.local.errors
# re-exports them).


def json_or_text(text: str | None) -> Any:
    """An execution's input or output as Step Functions gives it (JSON text): the value,
    or the text itself when it is not JSON (moto returns a bare string output raw)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parsed(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def clean_message(cause: Any, depth: int = 0) -> str:
    """The human message inside a Cause (a JSON error report is unwrapped)."""
    if not cause:
        return ""
    if not isinstance(cause, str):
        return str(cause)
    report = _parsed(cause)
    if not isinstance(report, dict) or depth >= MAX_CAUSE_WRAPS:
        return _plain_expression_error(cause)
    for key in ("errorMessage", "Cause", "cause", "message"):
        value = report.get(key)
        if isinstance(value, str):
            return clean_message(value, depth + 1)
    return cause


# The Cause of an expression that failed in a state (contract.names.EXPRESSION_FAILED).
_QUERY_FAILED = re.compile(
    r"(?:An error occurred while executing the state '(?P<state>.*?)' \(entered at the event id #\d+\)\. )?"
    r"The JSONata expression '(?P<expression>.*)" + re.escape(EXPRESSION_FAILED) + r"(?P<why>.*)",
    re.DOTALL,
)


def _plain_expression_error(message: str) -> str:
    """A failed expression's cause, told as the machine's error records tell it
    (statemachines/machine/values.error_record): with the user's template where the
    machine's text quotes it, else the state."""
    found = _QUERY_FAILED.fullmatch(message)
    if found is None:
        return message
    template = re.search(QUOTED_TEMPLATE, found["expression"])
    if template is not None:
        return f"{template[1]} failed: {found['why']}"
    where = f" of state '{found['state']}'" if found["state"] else ""
    return f"an expression{where} failed: {found['why']}"


def routine_error(error: str | None) -> str | None:
    """The routine's own error name: the Express wrapper re-raises a ``States.*`` error
    under ``Routines.`` (a Fail state may not raise a name ASL reserves)."""
    if error and error.startswith(RERAISED_PREFIX + "States."):
        return error.removeprefix(RERAISED_PREFIX)
    return error


def clean_error(error: str | None, cause: str | None) -> dict[str, Any]:
    """``{"type", "message"}`` of an execution error; the type named inside a Lambda
    report wins over the generic one around it, and a failed child routine's own error
    wins over the ``States.TaskFailed`` of the execute-routine node that waited for it."""
    report = _parsed(cause) if cause else None
    if error == CHILD_FAILED and isinstance(report, dict) and _is_child(report):
        return child_error(report)
    kind = routine_error(error)
    if isinstance(report, dict) and isinstance(report.get("errorType"), str) and not error:
        kind = report["errorType"]
    return {"type": kind, "message": clean_message(cause)}


# A child execution an execute-routine node waited for (``startExecution.sync:2``) that
# failed, timed out or was stopped fails the node's Task with this error, and the child's
# DescribeExecution (AWS's names) as the Cause.
CHILD_FAILED = "States.TaskFailed"
CHILD_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.Aborted"}
CHILD_ENDS = {"TIMED_OUT": "timed out", "ABORTED": "was stopped"}


def _is_child(report: Any) -> bool:
    return isinstance(report, dict) and isinstance(report.get("ExecutionArn"), str) and "Status" in report


def child_error(report: dict[str, Any]) -> dict[str, Any]:
    """The error a failed child routine gives its execute-routine node: the child's own
    error type, and ``routine 'x' (execution …) failed: <its message>`` — the same record
    the node's Catch builds in the machine (statemachines.machine.subroutine.child_record)."""
    status = str(report.get("Status"))
    kind = report.get("Error")
    if not isinstance(kind, str) or not kind:
        kind = CHILD_ERRORS.get(status, CHILD_FAILED)
    message = report.get("Cause")
    if isinstance(message, str) and '"errorMessage"' in message:
        parsed = _parsed(message)
        message = parsed.get("errorMessage") if isinstance(parsed, dict) else message
    message = message if isinstance(message, str) else ""
    meta = report.get("Input", {}).get("meta") if isinstance(report.get("Input"), dict) else None
    routine = meta.get("routineId") if isinstance(meta, dict) else None
    if not isinstance(routine, str):
        routine = str(report.get("StateMachineArn", "")).rpartition(":")[2]
    execution = report["ExecutionArn"].partition(":execution:")[2]
    text = f"routine '{routine}' (execution {execution}) {CHILD_ENDS.get(status, 'failed')}"
    return {"type": kind, "message": f"{text}: {message}" if message else text}


def timed_out_error(timeout_seconds: Any) -> dict[str, Any]:
    """The error of an execution that ended TIMED_OUT: it ran past the routine's
    ``timeoutSeconds`` (the machine's TimeoutSeconds; Step Functions gives no message)."""
    if isinstance(timeout_seconds, int) and not isinstance(timeout_seconds, bool):
        message = f"the routine ran longer than its timeoutSeconds ({timeout_seconds} s)"
    else:
        message = "the execution exceeded its time limit"
    return {"type": "States.Timeout", "message": message}


def shown_error(error: Any) -> dict[str, Any] | None:
    """Any error of an execution or a node as a user sees it: ``{"type", "message"}``
    with the human message (no Lambda report, no stack trace); None stays None."""
    if error is None:
        return None
    if not isinstance(error, dict):
        return {"type": None, "message": clean_message(error)}
    return clean_error(error.get("type"), error.get("message"))


def shown_execution(result: dict[str, Any]) -> dict[str, Any]:
    """An execution (a record's JSON, or one described by Step Functions) with its error
    and every node's error as a user sees them. Changes ``result`` in place."""
    if "error" in result:
        result["error"] = shown_error(result["error"])
    for entry in (result.get("nodes") or {}).values():
        if isinstance(entry, dict) and entry.get("error") is not None:
            entry["error"] = shown_error(entry["error"])
    return result


def transitions(history: list[dict[str, Any]]) -> int:
    """State transitions Step Functions bills: one per state entered — the routine's own
    states, not an Express machine's record writes (statemachines/machine/records.py:
    Express bills none, and the routine as a Standard machine has no wrapper)."""
    return sum(
        1
        for event in history
        if event["type"].endswith("StateEntered")
        and event.get("stateEnteredEventDetails", {}).get("name") not in WRAPPER_STATES
    )


def execution_history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first (all pages)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


@dataclass(slots=True)
class ExecutionTrace:
    nodes: dict[str, dict[str, Any]]
    transitions: int
    history: list[dict[str, Any]] = field(repr=False)


def trace_execution(
    stepfunctions: Any,
    execution_arn: str,
    topology: Topology,
    report: dict[str, Any],
    context: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    *,
    ended: bool | None = None,
) -> ExecutionTrace:
    """The per-node trace of an execution, from its history and node logs (``ended``: see
    :func:`build_trace`)."""
    events = history if history is not None else execution_history(stepfunctions, execution_arn)
    nodes = build_trace(topology, report, events, read_logs(execution_arn), context, ended=ended)
    return ExecutionTrace(nodes, transitions(events), events)


def trace_from_logs(
    execution_arn: str, topology: Topology, report: dict[str, Any], context: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The trace of an ended **Express** execution, which has no history (AWS keeps none):
    plugin nodes as their node logs tell, control nodes replayed by the routine's own rules
    (a reached if/switch took the port its condition gives on the observed data)."""
    return build_trace(topology, report, [], read_logs(execution_arn), context, ended=True, replay=True)


# Control nodes that compile into states: without a history, a reached one is replayed.
REPLAYED = ("if", "switch", "loop", "wait", "stop", EXECUTE_ROUTINE)


def _replayed(
    info: NodeInfo, trace: dict[str, dict[str, Any]], context: dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    if info.plugin.name == "stop":
        return _from_states(info.id, info, [], []), set()
    if info.plugin.name in ("if", "switch"):
        return _entry(SUCCEEDED), {_decide(info, trace, context)}
    return _entry(SUCCEEDED), {"done", "body"} if info.plugin.name == "loop" else {"out"}


class _Observed:
    """What the history says about each node: states entered/exited, ports taken."""

    def __init__(self, report: dict[str, Any], history: list[dict[str, Any]], ended: bool | None) -> None:
        state_nodes: dict[str, str] = report["stateNodes"]
        routes: dict[str, dict[str, list[str]]] = report.get("routes", {})
        self.entered: dict[str, list[datetime]] = defaultdict(list)
        self.exited: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
        self.assigned: dict[str, list[str]] = defaultdict(list)  # node → its variable's values
        self.ports: dict[str, set[str]] = defaultdict(set)
        self.ambiguous: set[str] = set()
        self.ended = ended if ended is not None else any(e["type"] in EXECUTION_ENDED for e in history)
        # node → error of its last Lambda attempt, when that attempt timed out
        self.timed_out: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)  # execute-routine Tasks' events
        self._attempts(state_nodes, history)
        following: dict[int, str] = {}
        for event in history:
            if "stateEnteredEventDetails" in event and "previousEventId" in event:
                following[event["previousEventId"]] = event["stateEnteredEventDetails"]["name"]
        for event in history:
            if "stateEnteredEventDetails" in event:
                node = state_nodes.get(event["stateEnteredEventDetails"]["name"])
                if node:
                    self.entered[node].append(event["timestamp"])
            elif "stateExitedEventDetails" in event:
                details = event["stateExitedEventDetails"]
                node = state_nodes.get(details["name"])
                if node:
                    self.exited[node].append((event["timestamp"], details.get("output")))
                    # A JSONata machine keeps a node's output in its variable: the state's
                    # own output may be the execution's result, or its input handed on.
                    assigned = details.get("assignedVariables") or {}
                    if variable_name(node) in assigned:
                        self.assigned[node].append(assigned[variable_name(node)])
                ports = routes.get(details["name"], {}).get(following.get(event["id"], ""), [])
                if node and ports:
                    self.ports[node].update(ports)
                    if len(ports) > 1:
                        self.ambiguous.add(node)

    def _attempts(self, state_nodes: dict[str, str], history: list[dict[str, Any]]) -> None:
        """The nodes whose state's last Lambda attempt timed out, found by following
        ``previousEventId`` back from each attempt's end to the state it ran in (branches
        and iterations interleave). Per state: a retry that succeeded clears it, another
        state of the node (its error shaping) does not."""
        by_id = {event["id"]: event for event in history if "id" in event}
        last: dict[str, dict[str, Any] | None] = {}
        for event in history:
            if event["type"] in CALL_EVENTS and _details(event).get("resourceType") == "states":
                node = state_nodes.get(_entered_state(event, by_id))
                if node is not None:
                    self.calls[node].append(event)
            if event["type"] not in ATTEMPT_ENDS:
                continue
            state = _entered_state(event, by_id)
            if event["type"] == "LambdaFunctionTimedOut":
                details = event.get("lambdaFunctionTimedOutEventDetails") or {}
                last[state] = clean_error(details.get("error") or "States.Timeout", details.get("cause"))
            else:
                last[state] = None
        for state, error in last.items():
            node = state_nodes.get(state)
            if node is not None and error is not None:
                self.timed_out[node] = error


# The events of a Task on a Step Functions integration (execute-routine's child start).
CALL_EVENTS = ("TaskSubmitted", "TaskSucceeded", "TaskFailed", "TaskTimedOut")


def _details(event: dict[str, Any]) -> dict[str, Any]:
    kind = event["type"]
    details = event.get(kind[0].lower() + kind[1:] + "EventDetails")
    return details if isinstance(details, dict) else {}


def _subroutine(entry: dict[str, Any], calls: list[dict[str, Any]], info: NodeInfo) -> None:
    """An execute-routine node as its Task's events tell it: the child execution's id
    (``childExecutionIds`` too when it started several: retries, loop iterations) and,
    when its last attempt ended there, its output or error."""
    ids: list[str] = []
    outcome: dict[str, Any] | None = None
    for event in calls:
        details = _details(event)
        if event["type"] in ("TaskSubmitted", "TaskSucceeded"):
            result = _parsed(details.get("output") or "")
            arn = result.get("ExecutionArn") if isinstance(result, dict) else None
            if isinstance(arn, str) and arn.partition(":execution:")[2] not in ids:
                ids.append(arn.partition(":execution:")[2])
        elif event["type"] == "TaskFailed":
            report = _parsed(details.get("cause") or "")
            if _is_child(report) and report["ExecutionArn"].partition(":execution:")[2] not in ids:
                ids.append(report["ExecutionArn"].partition(":execution:")[2])
        if event["type"] != "TaskSubmitted":
            outcome = event
    if ids:
        entry["childExecutionId"] = ids[-1]
        if len(ids) > 1:
            entry["childExecutionIds"] = ids
    if outcome is None or entry["status"] in (RUNNING, WAITING, PENDING):
        return
    details = _details(outcome)
    if outcome["type"] == "TaskSucceeded":
        result = _parsed(details.get("output") or "")
        wait = info.parameters.get("wait", True) is not False
        output = (
            result.get("Output")
            if isinstance(result, dict) and wait
            else {"executionId": ids[-1] if ids else None}
        )
        entry.update(status=SUCCEEDED, output=normalize(output), error=None)
    else:
        entry.update(
            status=FAILED, output=None, error=clean_error(details.get("error"), details.get("cause"))
        )


def _entered_state(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str:
    """The name of the state an event happened in (empty: none found)."""
    seen = 0
    while event is not None and seen < 64:
        details = event.get("stateEnteredEventDetails")
        if details is not None:
            return str(details["name"])
        event = by_id.get(event.get("previousEventId", -1))  # type: ignore[assignment]
        seen += 1
    return ""


def build_trace(
    topology: Topology,
    report: dict[str, Any],
    history: list[dict[str, Any]],
    logs: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
    *,
    ended: bool | None = None,
    replay: bool = False,
) -> dict[str, dict[str, Any]]:
    """``context``: ``{"trigger", "vars"}`` of the execution, to decide conditions whose
    outcome the history cannot show. ``ended``: whether the execution has ended (None:
    as its history says; a caller that stopped it itself knows better). ``replay``: there
    is no history (:func:`trace_from_logs`)."""
    seen = _Observed(report, history, ended)
    with_states = set(report["stateNodes"].values())
    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        by_node[log["nodeId"]].append(log)
    trace: dict[str, dict[str, Any]] = {}
    fired: dict[str, set[str]] = {}
    winners: dict[str, str] = {}  # first merge → the source whose branch won its race
    for node_id in topology.order:
        info = topology.infos[node_id]
        if info.plugin.name == "merge" and info.parameters.get("mode") == "first" and not info.node.disabled:
            winner = _race(topology, node_id, trace, seen, fired)
            if winner is not None:
                winners[node_id] = winner
        unfinished = not seen.ended and len(seen.exited[node_id]) < len(seen.entered[node_id])
        if unfinished:  # still running: not failed, whatever its log or states say so far
            status = WAITING if info.plugin.name in WAITING_PLUGINS else RUNNING
            trace[node_id] = _entry(status)
            if info.plugin.name == EXECUTE_ROUTINE:  # the child it waits for, already
                _subroutine(trace[node_id], seen.calls[node_id], info)
            fired[node_id] = set()
        elif info.is_task and node_id in seen.timed_out and not topology.enclosing.get(node_id):
            # Step Functions gave up on it: what the routine saw, whatever the Lambda logged later
            trace[node_id] = {**_entry(FAILED), "error": seen.timed_out[node_id]}
            trace[node_id]["durationMs"] = _from_states(
                node_id, info, seen.entered[node_id], seen.exited[node_id]
            )["durationMs"]
            fired[node_id] = _task_ports(info, FAILED)
        elif info.is_task and by_node.get(node_id):
            trace[node_id] = _from_logs(by_node[node_id])
            fired[node_id] = _task_ports(info, trace[node_id]["status"])
        elif not seen.ended and _waits_on(topology, node_id, trace):
            trace[node_id] = _entry(PENDING)
            fired[node_id] = set()
        elif node_id in seen.entered:
            trace[node_id] = _from_states(
                node_id,
                info,
                seen.entered[node_id],
                seen.exited[node_id],
                # Executions of machines compiled before the JSONata compiler (their records
                # name "JSONPath") show no control-node output: their document is gone.
                seen.assigned[node_id] if report.get("queryLanguage") == "JSONata" else None,
            )
            if info.plugin.name == EXECUTE_ROUTINE:
                _subroutine(trace[node_id], seen.calls[node_id], info)
            if trace[node_id]["status"] == FAILED and trace[node_id]["error"] is None:
                trace[node_id]["error"] = _control_error(by_node.get(node_id, []), history)
                if trace[node_id]["error"] is None and _interrupted(history):
                    # Stopped or timed out while it waited: the node did not fail.
                    trace[node_id]["status"] = CANCELLED
            ports = seen.ports[node_id]
            if node_id in seen.ambiguous and not topology.enclosing.get(node_id):
                ports = {_decide(info, trace, context or {})}
            fired[node_id] = _control_ports(info, trace[node_id], ports)
        elif replay and info.plugin.name in REPLAYED and _active(topology, node_id, trace, fired):
            trace[node_id], fired[node_id] = _replayed(info, trace, context or {})
        elif node_id in with_states or not _active(topology, node_id, trace, fired):
            trace[node_id] = _entry(SKIPPED)
            fired[node_id] = set()
        elif info.node.disabled:
            trace[node_id] = {**_entry(SKIPPED), "disabled": True}
            fired[node_id] = {info.pass_through_port}
        else:  # merge, or a condition decided at compile time
            trace[node_id] = _entry(SUCCEEDED)
            fired[node_id] = {report.get("decided", {}).get(node_id, "out")}
            if info.plugin.name == "merge" and not topology.enclosing.get(node_id):
                trace[node_id]["output"] = _merged(topology, node_id, trace, winners.get(node_id))
        _shown_errors(trace[node_id])
        _caught_output(info, trace[node_id])
    return trace


def _shown_errors(entry: dict[str, Any]) -> None:
    """Every error of a trace entry as a user sees it, before outputs are built on it."""
    entry["error"] = shown_error(entry["error"])
    if entry.get("errors"):
        entry["errors"] = [shown_error(error) for error in entry["errors"]]


def _caught_output(info: NodeInfo, entry: dict[str, Any]) -> None:
    """A failed node whose error is caught (continue/route) has, as its output, what the
    nodes after it read: ``{"error": {type, message}}`` (DESIGN §4)."""
    if entry["status"] == FAILED and entry["error"] and info.node.on_error in ("continue", "route"):
        if entry.get("runs"):  # one output per loop iteration: only the failed ones change
            entry["output"] = [
                {"error": error} if error else output
                for output, error in zip(entry["output"], entry["errors"], strict=True)
            ]
        else:
            entry["output"] = {"error": entry["error"]}
    entry.pop("errors", None)


def _merged(
    topology: Topology, node_id: str, trace: dict[str, dict[str, Any]], winner: str | None = None
) -> dict[str, Any]:
    """A merge's output (DESIGN §4): the outputs of the branches that ran, by node id —
    with mode "first", of the branch that won."""
    out: dict[str, Any] = {}
    for edge in topology.graph.incoming[node_id]:
        if winner is not None and edge.source != winner:
            continue
        source = trace[edge.source]
        if source["status"] != SKIPPED and source["output"] is not None:
            out[edge.source] = source["output"]
    return out


def _race(
    topology: Topology,
    merge: str,
    trace: dict[str, dict[str, Any]],
    seen: _Observed,
    fired: dict[str, set[str]],
) -> str | None:
    """A race into a merge with mode "first" (statemachines.machine.race): the source whose
    branch arrived first (its states left earliest), or None while none has. The nodes of
    the other branches that had not finished are marked cancelled — running, waiting, or
    never started (a Lambda that answered after it lost counts as cancelled too) — except
    those a branch never meant to reach: it had ended without arriving (an approval
    rejected into nowhere), so they stay skipped."""
    sources = list(dict.fromkeys(e.source for e in topology.graph.incoming[merge]))
    arrived = [
        (seen.exited[s][-1][0], s)
        for s in sources
        if seen.exited[s] and len(seen.exited[s]) >= len(seen.entered[s])
    ]
    if not arrived:
        arrived = [(datetime.max, s) for s in sources if trace.get(s, {}).get("status") == SUCCEEDED]
    if not arrived:
        return None
    winner = min(arrived, key=lambda pair: (pair[0], topology.order.index(pair[1])))[1]
    graph = topology.graph

    def leads_to(source: str) -> int:
        return graph.bit(source) | topology.upstream.get(source, 0)

    others = 0
    for source in sources:
        if source != winner:
            others |= leads_to(source)
    for node in sorted(graph.members(others & ~leads_to(winner)), key=topology.order.index):
        entry = trace.get(node)
        if entry is None or topology.infos[node].node.disabled:
            continue
        finished = seen.exited[node] and len(seen.exited[node]) >= len(seen.entered[node])
        not_reached = (
            not seen.entered[node]
            and entry["status"] == SKIPPED
            and not _active(topology, node, trace, fired)
            and all(trace[e.source]["status"] != CANCELLED for e in graph.incoming[node])
        )
        if entry["status"] in (RUNNING, WAITING, PENDING) or (not finished and not not_reached):
            trace[node] = {**_entry(CANCELLED), "durationMs": entry.get("durationMs", 0)}
    return winner


def _control_error(logs: list[dict[str, Any]], history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Why a control node's state failed: its evaluator's log (a loop over a string), else
    the failure that ended the execution, with the message a user reads."""
    failed = [log for log in logs if log.get("status") == "failed"]
    if failed:
        return {"type": failed[-1].get("errorType"), "message": failed[-1].get("errorMessage")}
    for event in reversed(history):
        details = event.get("executionFailedEventDetails")
        if details is not None:
            return clean_error(details.get("error"), details.get("cause"))
    return None


def _interrupted(history: list[dict[str, Any]]) -> bool:
    """Whether the execution was stopped or ran out of time (nothing in it failed)."""
    return any(event.get("type") in ("ExecutionAborted", "ExecutionTimedOut") for event in history)


def _decide(info: NodeInfo, trace: dict[str, dict[str, Any]], context: dict[str, Any]) -> str:
    """The port an if/switch took, by the reference semantics on the observed data — for
    Choices whose branches all lead to the same state (only merges tell them apart)."""
    scope = {
        "trigger": context.get("trigger"),
        "vars": context.get("vars", {}),
        "nodes": {n: t["output"] for n, t in trace.items() if t["status"] != SKIPPED},
    }

    def resolve(value: Any) -> Any:
        return resolve_value(value, scope)

    if info.plugin.name == "if":
        return "true" if evaluate(info.parameters["condition"], resolve) else "false"
    for rule in info.parameters.get("rules", []):
        if evaluate(rule["condition"], resolve):
            return str(rule["port"])
    return "default"


def _waits_on(topology: Topology, node_id: str, trace: dict[str, dict[str, Any]]) -> bool:
    """Whether a node may still run: one of the nodes before it has not finished."""
    return any(
        trace[edge.source]["status"] in (RUNNING, WAITING, PENDING)
        for edge in topology.graph.incoming[node_id]
    )


def _entry(status: str) -> dict[str, Any]:
    return {"status": status, "output": None, "error": None, "durationMs": 0}


def _active(
    topology: Topology, node_id: str, trace: dict[str, dict[str, Any]], fired: dict[str, set[str]]
) -> bool:
    incoming = topology.graph.incoming[node_id]
    if not incoming:
        return True
    # A disabled node is skipped yet passes activation on (DESIGN §4): its fired port counts.
    return any(
        (trace[e.source]["status"] != SKIPPED or trace[e.source].get("disabled"))
        and e.port in fired.get(e.source, set())
        for e in incoming
    )


def _task_ports(info: NodeInfo, status: str) -> set[str]:
    if status == SUCCEEDED or info.node.on_error == "continue":
        return {p.name for p in info.plugin.output_ports(info.parameters) if p.name != "error"}
    return {"error"} if info.node.on_error == "route" else set()


def _control_ports(info: NodeInfo, entry: dict[str, Any], taken: set[str]) -> set[str]:
    name = info.plugin.name
    if name in ("if", "switch"):
        return taken
    if name == "approval":
        output = entry["output"]
        if isinstance(output, dict) and "error" in output:
            kind = output["error"].get("type")
            return {"timeout"} if kind == "States.Timeout" else {"error"}
        return taken
    if name in ("loop", EXECUTE_ROUTINE):
        if entry["status"] == SUCCEEDED or info.node.on_error == "continue":
            return {"done"} if name == "loop" else {"out"}
        return {"error"} if info.node.on_error == "route" else set()
    return {"out"} if entry["status"] == SUCCEEDED else set()


def _from_logs(logs: list[dict[str, Any]]) -> dict[str, Any]:
    runs: dict[tuple[int, ...], list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        iteration = log.get("iteration")
        runs[tuple(int(i) for i in iteration.split(".")) if iteration else ()].append(log)
    finals = [runs[key][-1] for key in sorted(runs)]
    errors = [_log_error(log) for log in finals]
    failed = [error for error in errors if error]
    outputs = [normalize(log.get("output")) for log in finals]
    return {
        "status": FAILED if failed else SUCCEEDED,
        "output": outputs[0] if len(finals) == 1 else outputs,
        "error": failed[0] if failed else None,
        "errors": errors,
        "durationMs": round(sum(float(log["durationMs"]) for log in finals), 1),
        "attempts": max(int(log["attempt"]) for log in logs),
        **({"runs": len(finals)} if len(finals) > 1 else {}),
    }


def _log_error(log: dict[str, Any]) -> dict[str, Any] | None:
    if log["status"] != "failed":
        return None
    return {"type": log.get("errorType"), "message": log.get("errorMessage")}


def shown_result(output: Any) -> Any:
    """The execution's result as users read it: node outputs the machine offloaded to S3
    (the result holds their references) loaded."""
    if isinstance(output, dict):
        return {key: normalize(value) for key, value in output.items()}
    return output


def _from_states(
    node_id: str,
    info: NodeInfo,
    entered: list[datetime],
    exited: list[tuple[datetime, Any]],
    assigned: list[str] | None = None,
) -> dict[str, Any]:
    """``assigned``: the values its states assigned to the node's variable (one per run: a
    node inside a loop runs once per iteration); None: no variables to read (no history,
    or a machine compiled before the JSONata compiler)."""
    duration = 0.0
    if entered and exited:
        duration = max(0.0, (exited[-1][0] - entered[0]).total_seconds() * 1000)
    output = None
    if len(assigned or ()) == 1:
        output = normalize(json.loads(assigned[0]))  # type: ignore[index]
    elif assigned:
        # A node inside a loop that ran more than once: which iteration assigned which
        # value the history does not say, so no output rather than a list out of order
        # (its tasks' runs, from their logs, are per iteration).
        output = None
    elif assigned is not None and exited and exited[-1][1]:
        # No variable (nobody reads the node): its last state hands on what it made (an
        # error record of a caught failure, a Map's results) — or, ending the execution,
        # builds the execution's result, which holds the node's output under its id.
        output = normalize(json.loads(exited[-1][1]))
        if info.plugin.name == "loop" and isinstance(output, dict) and "error" not in output:
            output = output.get(node_id)
    plugin, parameters = info.plugin.name, info.parameters
    if plugin == "stop" and parameters.get("status") != "fail":
        # Inside a Parallel or Map, a stop is a Fail state raising the error that ends
        # the execution; it never exits, yet the stop did what it was asked.
        return {"status": SUCCEEDED, "output": None, "error": None, "durationMs": 0}
    if plugin == "stop":
        error = {
            "type": parameters.get("error") or "RoutineStopped",
            "message": parameters.get("cause") or "",
        }
        return {"status": FAILED, "output": None, "error": error, "durationMs": 0}
    if len(exited) < len(entered):  # a state of the node failed (or was cancelled)
        return {"status": FAILED, "output": None, "error": None, "durationMs": round(duration, 1)}
    if plugin in ("if", "switch", "wait"):
        output = None  # the evaluator's answer is routing, not a node output
    # A caught failure's error record — of a plugin node, only a failure before its Lambda
    # ran (an expression of its Arguments): one that ran has node logs, read instead.
    caught = plugin in ("loop", EXECUTE_ROUTINE) or info.is_task
    if caught and isinstance(output, dict) and set(output) == {"error"}:
        error = output["error"]
        return {"status": FAILED, "output": output, "error": error, "durationMs": round(duration, 1)}
    return {"status": SUCCEEDED, "output": output, "error": None, "durationMs": round(duration, 1)}
