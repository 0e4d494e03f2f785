"""Express machines write their own execution records (issue #28 item 2).

An Express execution sends no "Execution Status Change" events and has no history, so the
recorder (functions/recorder) would never hear of its end. :func:`record_express` wraps a
finished JSONata machine so that every exit writes the record itself, with Step Functions'
native DynamoDB integration (``dynamodb:updateItem``, no Lambda)::

    Recorded? ─(an owner is known)─► Record RUNNING ─► Run routine ─► Record SUCCEEDED? ─► Record SUCCEEDED
        └─────────────(else)──────────────────────────────┘  │ Catch States.ALL   (else: Routine succeeded)
                                    Record FAILED? ─► Record FAILED ─► Routine failed (Fail: the same error)

- **Run routine** is a Parallel with one branch: the routine's own machine, unchanged. Its
  Catch (``States.ALL``) is the catch-all: whatever ends the body with an error (a node
  with ``onError: fail``, a ``stop`` with ``status: fail``, a States.* error) reaches
  **Record FAILED**, and **Routine failed** raises the same Error and Cause again, so the execution
  ends FAILED as it would have without the wrapper — a ``States.*`` error as
  ``Routines.States.*`` (ASL reserves the ``States.`` names; ``clean_error`` undoes it).
- The writes follow the record layout of functions/store/executions.py (docs/storage.md):
  the same keys and index attributes, ``statusRank`` (RUNNING 1, terminal 2) and
  ``revision`` (+1, so the store's optimistic writes notice), and the same rule: a write
  that would not raise the rank is refused (``DynamoDB.ConditionalCheckFailedException``,
  caught: the record was already as far along, e.g. timed out by the recorder's sweep).
- ``pending`` marks the record for the recorder's sweep: ``RUNNING`` while the execution
  runs (past the 5-minute bound it is TIMED_OUT), ``ENDED`` once the machine wrote its end
  (the recorder adds the trace from node logs, cleans the error, starts the error routine
  once, and removes the mark).
- Executions started by this product carry ``meta`` (owner, routine, version, trigger
  type) in their input (functions/triggers/start.py; Scheduler and rule targets too).
  Activation also compiles the owner and version in (``CompileOptions.owner/version``),
  for children of execute-routine nodes, whose meta names neither (their parent link is
  written). Without an owner (``routines run``) nothing is written: a record must have
  one, as the recorder's rule for Standard machines says.
- The wrapper's states are not the routine's: the compile report and ``transitions``
  count the routine's own (:func:`routine_body`, functions/trace.py).

A Standard routine gets no wrapper; :func:`express_children` makes its distributed loops'
child executions Express where their body allows (issue #28 item 4).

The record's bodies are JSON text, as the store writes them: ``trigger`` with the RUNNING
write, ``output`` (the execution's result) or ``error`` (``{type, message}`` with the raw
Cause; the recorder shows the human message) with the terminal one.
"""

from __future__ import annotations

import json
from typing import Any

from contract.names import EXECUTIONS_TABLE, RERAISED_PREFIX, table_name
from contract.problems import Code, Problem, node_path
from statemachines.asl import State, StateMachine
from statemachines.express import EXPRESS_MAX_SECONDS, _longest, _semantic_reasons
from statemachines.options import CompileOptions
from statemachines.topology import Topology

RECORDED = "Recorded?"
RECORD_RUNNING = "Record RUNNING"
RUN = "Run routine"
SUCCEEDED_CHOICE = "Record SUCCEEDED?"
RECORD_SUCCEEDED = "Record SUCCEEDED"
FAILED_CHOICE = "Record FAILED?"
RECORD_FAILED = "Record FAILED"
SUCCEEDED = "Routine succeeded"
FAILED = "Routine failed"
# State names node ids cannot take (ids have no spaces or '?'): the wrapper never collides.
WRAPPER_STATES = (
    RECORDED,
    RECORD_RUNNING,
    RUN,
    SUCCEEDED_CHOICE,
    RECORD_SUCCEEDED,
    FAILED_CHOICE,
    RECORD_FAILED,
    SUCCEEDED,
    FAILED,
)
PENDING_RUNNING, PENDING_ENDED = "RUNNING", "ENDED"
CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
# DynamoDB's transient errors, retried as AWS recommends for the integration.
TRANSIENT = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
]
RANKS = {"RUNNING": 1, "SUCCEEDED": 2, "FAILED": 2}
# Attribute names written through placeholders (DynamoDB reserves some words).
NAMES = {"#status": "status", "#revision": "revision", "#version": "version", "#pending": "pending"}

# Where the wrapper's states find the execution's facts ($states.context is the same in
# every state of the execution).
_META = "$states.input.meta"
_ID = "$states.context.StateMachine.Name & ':' & $states.context.Execution.Name"
_STARTED_MS = "$toMillis($states.context.Execution.StartTime)"
_ISO = "'[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z'"


def _s(expression: str) -> str:
    return "{% " + expression + " %}"


def _literal(value: str) -> str:
    return json.dumps(value)  # a JSON string is a JSONata string literal


class _Facts:
    """JSONata expressions of what every write records: from the execution input's
    ``meta``, else from the machine's own deployment (activation compiles the owner and
    version in: a child an execute-routine node started carries no owner in its meta)."""

    def __init__(self, options: CompileOptions, meta: str) -> None:
        self.meta = meta
        self.owner = self._or(f"{meta}.ownerId", options.owner)
        self.routine = self._or(f"{meta}.routineId", options.routine_id)
        version = f"{meta}.version"
        if options.version is not None:
            version = f"($exists({meta}.version) ? {meta}.version : {options.version})"
        self.version = f"$string({version})"
        self.trigger = f"($exists({meta}.triggerType) ? {meta}.triggerType : 'manual')"

    @staticmethod
    def _or(path: str, fallback: str | None) -> str:
        return f"($exists({path}) ? {path} : {_literal(fallback)})" if fallback else path

    def known(self, value: str) -> str:
        """Whether an execution can be recorded: it has an owner (and a routine)."""
        parts = [f"$exists({value}.meta.ownerId)", f"$exists({value}.meta.routineId)"]
        return "true" if "$exists" in self.owner else " and ".join(parts)


def _identity(facts: _Facts) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The SET clauses and values every write carries, so that any one of them alone makes
    a complete, listable record (the RUNNING write may have been skipped or lost)."""
    started_iso = f"$fromMillis({_STARTED_MS}, {_ISO})"
    clauses = [
        "ownerId = :owner",
        "routineId = :routine",
        "#version = :version",
        "triggerType = :trigger",
        "executionArn = :arn",
        "startedAt = :startedAt",
        "startedEpoch = :startedEpoch",
        "routineKey = :routineKey",
        "startKey = :startKey",
        "redriveCount = if_not_exists(redriveCount, :zero)",
        "updatedAt = :now",
        "#revision = if_not_exists(#revision, :zero) + :one",
    ]
    values = {
        ":owner": ("S", facts.owner),
        ":routine": ("S", facts.routine),
        ":version": ("N", facts.version),
        ":trigger": ("S", facts.trigger),
        ":arn": ("S", "$states.context.Execution.Id"),
        ":startedAt": ("S", started_iso),
        ":startedEpoch": ("N", f"$string({_STARTED_MS} / 1000)"),
        ":routineKey": ("S", f"{facts.owner} & '#' & {facts.routine}"),
        ":startKey": ("S", f"{started_iso} & '#' & {_ID}"),
        ":now": ("N", "$string($millis() / 1000)"),
        ":zero": ("N", "'0'"),
        ":one": ("N", "'1'"),
    }
    return clauses, values


def _object(values: dict[str, tuple[str, str]]) -> str:
    """A JSONata object of DynamoDB attribute values ``{name: {type: expression}}``."""
    return "{" + ", ".join(f'"{k}": {{"{t}": {e}}}' for k, (t, e) in values.items()) + "}"


def _write(
    options: CompileOptions,
    status: str,
    meta: str,
    extra: list[str],
    extra_values: dict[str, tuple[str, str]],
    names: dict[str, str],
) -> dict[str, Any]:
    """updateItem Arguments: the record of this execution at ``status`` unless the stored
    one is as far along (RUNNING may repeat what a starter wrote: its rank is equal).
    A child execution's link to its parent (its meta's parentExecutionId/parentNodeId) is
    set only when there is one: DynamoDB refuses values an expression does not use, so
    the expression and its values are built together, in JSONata."""
    facts = _Facts(options, meta)
    clauses, values = _identity(facts)
    clauses += [
        "#status = :status",
        "statusRank = :rank",
        "routineStatusKey = :statusKey",
        "#pending = :pending",
        *extra,
    ]
    values.update(
        {
            ":status": ("S", _literal(status)),
            ":rank": ("N", _literal(str(RANKS[status]))),
            ":statusKey": ("S", f"{facts.owner} & '#' & {facts.routine} & '#{status}'"),
            ":pending": ("S", _literal(PENDING_RUNNING if status == "RUNNING" else PENDING_ENDED)),
            **extra_values,
        }
    )
    # Set only when the input has them: DynamoDB refuses values an expression does not use,
    # so each optional clause and its values are chosen together, in JSONata.
    optional = [
        (
            f"$exists({meta}.parentExecutionId)",
            ", parentExecutionId = :parent",
            {":parent": ("S", f"{meta}.parentExecutionId")},
        ),
        (
            f"$exists({meta}.parentNodeId)",
            ", parentNodeId = :parentNode",
            {":parentNode": ("S", f"{meta}.parentNodeId")},
        ),
        (f"$exists({meta}.rerunOf)", ", rerunOf = :rerunOf", {":rerunOf": ("S", f"{meta}.rerunOf")}),
    ]
    update = " & ".join(
        [_literal("SET " + ", ".join(clauses))]
        + [f"({when} ? {_literal(text)} : '')" for when, text, _ in optional]
    )
    merged = ", ".join(
        [_object(values)] + [f"({when} ? {_object(more)} : {{}})" for when, _, more in optional]
    )
    compare = "<=" if status == "RUNNING" else "<"
    return {
        "TableName": table_name(EXECUTIONS_TABLE, options.stage),
        "Key": {"executionId": {"S": _s(_ID)}},
        "UpdateExpression": _s(update),
        "ConditionExpression": f"attribute_not_exists(executionId) OR statusRank {compare} :rank",
        "ExpressionAttributeNames": {**NAMES, **names},
        "ExpressionAttributeValues": _s(f"$merge([{merged}])"),
    }


def _task(options: CompileOptions, arguments: dict[str, Any], fields: dict[str, Any]) -> State:
    resource = f"arn:{options.partition}:states:::dynamodb:updateItem"
    retry = [{"ErrorEquals": TRANSIENT, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}]
    return State("Task", {"Resource": resource, "Arguments": arguments, "Retry": retry, **fields})


def record_express(machine: StateMachine, options: CompileOptions) -> StateMachine:
    """``machine`` (a finished top-level JSONata machine) inside the record-writing wrapper."""
    body = StateMachine(machine.start_at, machine.states)
    facts = _Facts(options, _META)

    def _has_owner(value: str) -> str:
        return _s(facts.known(value))

    stopped = "$string($millis() / 1000)"
    states: dict[str, State] = {
        RECORDED: State(
            "Choice",
            {"Choices": [{"Condition": _has_owner("$states.input"), "Next": RECORD_RUNNING}], "Default": RUN},
        ),
        RECORD_RUNNING: _task(
            options,
            _write(
                options,
                "RUNNING",
                _META,
                ["#trigger = if_not_exists(#trigger, :body)"],  # a starter's may be whole
                {":body": ("S", "$string($states.input.trigger)")},
                {"#trigger": "trigger"},
            ),
            {
                # The RUNNING record is a convenience (listed at once, swept if it never
                # ends): its failure must not stop the routine.
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": RUN, "Output": _s("$states.input")}],
                "Output": _s("$states.input"),
                "Next": RUN,
            },
        ),
        RUN: State(
            "Parallel",
            {
                "Branches": [body],
                "Output": _s('{"output": $states.result[0], "meta": $states.input.meta}'),
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Next": FAILED_CHOICE,
                        "Output": _s('{"error": $states.errorOutput, "meta": $states.input.meta}'),
                    }
                ],
                "Next": SUCCEEDED_CHOICE,
            },
        ),
        SUCCEEDED_CHOICE: State(
            "Choice",
            {
                "Choices": [{"Condition": _has_owner("$states.input"), "Next": RECORD_SUCCEEDED}],
                "Default": SUCCEEDED,
            },
        ),
        RECORD_SUCCEEDED: _task(
            options,
            _write(
                options,
                "SUCCEEDED",
                _META,
                ["stoppedEpoch = :stopped", "#output = :body"],
                {":stopped": ("N", stopped), ":body": ("S", "$string($states.input.output)")},
                {"#output": "output"},
            ),
            {
                "Catch": [
                    # Already terminal (the sweep timed it out): the result is still the result.
                    {"ErrorEquals": [CONDITION_FAILED], "Next": SUCCEEDED, "Output": _s("$states.input")},
                    # The result could not be recorded (too large for an item): a FAILED
                    # record says so rather than none at all.
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Next": RECORD_FAILED,
                        "Output": _s(
                            '{"error": {"Error": "Routines.RecordFailed", "Cause": '
                            '"the execution succeeded but its result could not be recorded: " & '
                            '$states.errorOutput.Error}, "meta": $states.input.meta}'
                        ),
                    },
                ],
                "Output": _s("$states.input"),
                "Next": SUCCEEDED,
            },
        ),
        SUCCEEDED: State("Succeed", {"Output": _s("$states.input.output")}),
        FAILED_CHOICE: State(
            "Choice",
            {
                "Choices": [{"Condition": _has_owner("$states.input"), "Next": RECORD_FAILED}],
                "Default": FAILED,
            },
        ),
        RECORD_FAILED: _task(
            options,
            _write(
                options,
                "FAILED",
                _META,
                ["stoppedEpoch = :stopped", "#error = :error"],
                {
                    ":stopped": ("N", stopped),
                    ":error": (
                        "S",
                        '$string({"type": $states.input.error.Error, '
                        '"message": $exists($states.input.error.Cause) ? $states.input.error.Cause : ""})',
                    ),
                },
                {"#error": "error"},
            ),
            {
                # Recorded or not, the execution ends with the body's own error.
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": FAILED, "Output": _s("$states.input")}],
                "Output": _s("$states.input"),
                "Next": FAILED,
            },
        ),
        FAILED: State(
            "Fail",
            {
                # The body's error again — a States.* one under RERAISED_PREFIX, since a
                # Fail state may not raise a name ASL reserves (the record keeps the name).
                "Error": _s(
                    "($e := $states.input.error.Error; "
                    f"$substring($e, 0, 7) = 'States.' ? {_literal(RERAISED_PREFIX)} & $e : $e)"
                ),
                "Cause": _s("$exists($states.input.error.Cause) ? $states.input.error.Cause : ''"),
            },
        ),
    }
    wrapped = StateMachine(RECORDED, states, machine.comment, machine.timeout_seconds, machine.query_language)
    return wrapped


STANDARD, EXPRESS = "STANDARD", "EXPRESS"


def routine_body(definition: dict[str, Any]) -> dict[str, Any]:
    """The routine's own machine inside a wrapped definition (itself when not wrapped):
    what the compile report counts — the transitions the routine would bill as a Standard
    machine, which has no wrapper, and its states (the wrapper's add no Lambda, only a few
    milliseconds of an Express execution's duration)."""
    if definition.get("StartAt") != RECORDED:
        return definition
    body = dict(definition["States"][RUN]["Branches"][0])
    for key in ("QueryLanguage", "TimeoutSeconds", "Comment"):
        if key in definition:
            body[key] = definition[key]
    return body


# --- the finished machine ---------------------------------------------------------------


def finish_machine(
    machine: StateMachine, state_nodes: dict[str, str], topology: Topology, options: CompileOptions
) -> StateMachine:
    """The last pass over a finished top-level JSONata machine: an Express routine's is
    wrapped to write its own records (:func:`record_express`); a Standard routine's
    distributed loops run their child executions as Express where the body allows
    (:func:`express_children`)."""
    if options.execution_type == "express":
        return record_express(machine, options)
    express_children(machine, state_nodes, topology)
    return machine


def child_reasons(topology: Topology, loop: str) -> list[Problem]:
    """Why the body of distributed loop ``loop`` cannot run as Express child executions:
    the reasons a whole routine could not (statemachines/express.py) — a node that pauses
    or waits for a child routine, a node not safe to run twice, a nested distributed
    loop — and one item's longest path past 5 minutes (or without a bound)."""
    body = topology.loop_bodies.get(loop, set())
    order = [n for n in (topology.order or list(topology.infos)) if n in body]
    reasons: list[Problem] = []
    for node in order:
        info = topology.infos[node]
        if not info.node.disabled:
            reasons += _semantic_reasons(info)
    direct = [n for n in order if (topology.enclosing.get(n) or (None,))[-1] == loop]
    per_item, _ = _longest(topology, direct, reasons)
    if per_item is None or per_item > EXPRESS_MAX_SECONDS:
        reasons.append(
            Problem(Code.LIMIT_EXCEEDED.value, node_path(loop), "one item may run longer than 5 minutes")
        )
    return reasons


def express_children(machine: StateMachine, state_nodes: dict[str, str], topology: Topology) -> list[str]:
    """Give each distributed Map whose loop body is eligible (:func:`child_reasons`)
    ``"ExecutionType": "EXPRESS"`` — the usual AWS pattern for large fan-outs: a child
    execution is billed per request and duration, not per transition. Its items run
    synchronously inside the Map Run, so an Express child's failure fails the Map as a
    Standard one's does; the 5-minute limit is what the eligibility checks. The loop
    nodes changed, in order."""
    changed: list[str] = []
    for name, state in _all_states(machine):
        processor = state.fields.get("ItemProcessor") if state.type == "Map" else None
        config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
        if not isinstance(config, dict) or config.get("Mode") != "DISTRIBUTED":
            continue
        loop = state_nodes.get(name)
        if loop is None or loop not in topology.infos or child_reasons(topology, loop):
            continue
        config["ExecutionType"] = EXPRESS
        changed.append(loop)
    return changed


def _all_states(machine: StateMachine | dict[str, Any]) -> list[tuple[str, State]]:
    """Every state of a machine, its Parallel branches and Map processors, as State."""
    states = machine.states if isinstance(machine, StateMachine) else machine.get("States", {})
    out: list[tuple[str, State]] = []
    for name, state in states.items():
        if not isinstance(state, State):
            state = State(state["Type"], {k: v for k, v in state.items() if k != "Type"})
        out.append((name, state))
        for branch in state.fields.get("Branches", []):
            out += _all_states(branch)
        processor = state.fields.get("ItemProcessor")
        if processor is not None:
            out += _all_states(processor)
    return out


def machine_type(definition: str) -> str:
    """The type a compiled definition is deployed as: EXPRESS for a machine that writes its
    own records (the compiler wraps exactly the routines whose choice is Express), else
    STANDARD — read from the definition, so no deploy path can pick the wrong one."""
    try:
        start = json.loads(definition).get("StartAt")
    except (ValueError, AttributeError):
        return STANDARD
    return EXPRESS if start == RECORDED else STANDARD


__all__ = [
    "EXPRESS",
    "PENDING_ENDED",
    "PENDING_RUNNING",
    "STANDARD",
    "WRAPPER_STATES",
    "child_reasons",
    "express_children",
    "finish_machine",
    "machine_type",
    "record_express",
    "routine_body",
]
