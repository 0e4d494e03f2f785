"""Can a routine run as an Express state machine? The reasons it cannot, each at its cause.

Express executions are cheap (billed per request and duration, not per state transition)
but differ from Standard ones in ways a routine can notice (issue #28):

- they end after 5 minutes (``States.Timeout``), where a Standard one may run a year;
- they cannot pause on a task token (``.waitForTaskToken``: approvals) or wait for a child
  execution (``.sync``: ``execute-routine`` with ``wait``);
- asynchronous Express executions run each state **at least once**: a plugin may run
  twice for one attempt, so every node with side effects must be safe to repeat.

:func:`express_reasons` lists what stands in the way; :func:`choose` turns the routine's
``execution`` setting into the machine type. Both are pure functions of the validated
routine: the same routine always gets the same answer.

Time is bounded from the routine, conservatively except for one stated assumption (see
:data:`PLUGIN_OVERHEAD_SECONDS` and :func:`_node_seconds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from contract.problems import Code, Problem, join_path, node_path
from plugins.sdk import Kind
from statemachines.model import Routine
from statemachines.topology import NodeInfo, Topology

# An Express execution ends, TIMED_OUT, after five minutes.
EXPRESS_MAX_SECONDS = 300
# One attempt of a plugin Lambda, when its node sets no timeoutSeconds (which Step
# Functions enforces, and which is then the bound): the plugin's own ``timeoutSeconds``
# parameter (the limit it puts on its slow part: http-request's request, the code node's
# code), plus this allowance for the rest of the attempt (a cold start, reading a secret,
# the node log, an S3 offload); a plugin with no such parameter does only that rest.
# This is an assumption, not a guarantee: the Lambda itself may run 15 minutes
# (infra/plugin_functions.py). Counting those 900 s would refuse Express to every routine
# whose nodes set no timeout; instead a hung attempt of a plugin that promised nothing
# ends an Express execution TIMED_OUT at 5 minutes, where a Standard one would fail the
# node at 15 (docs/cost.md). A node's timeoutSeconds makes the bound exact.
PLUGIN_OVERHEAD_SECONDS = 10
PLUGIN_LAMBDA_TIMEOUT_SECONDS = 900  # what an expression-valued timeoutSeconds may reach

APPROVAL = "approval"
EXECUTE_ROUTINE = "execute-routine"
WAIT = "wait"
LOOP = "loop"

MachineType = Literal["standard", "express"]


@dataclass(frozen=True, slots=True)
class ExecutionChoice:
    """The machine type a routine gets, what it asked for, and why not Express."""

    type: MachineType
    requested: str  # the routine's execution setting: standard | express | auto
    reasons: tuple[Problem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "requested": self.requested,
            "reasons": [reason_line(p) for p in self.reasons],
        }


def reason_line(problem: Problem) -> str:
    """One line per reason, as the compile report prints it."""
    return f"{problem.path}: {problem.message}" if problem.path else problem.message


def choose(routine: Routine, topology: Topology) -> ExecutionChoice:
    """``standard`` is Standard; ``auto`` is Express when nothing stands in the way; an
    ``express`` routine is Express (validation has refused it if anything stood in the way)."""
    if routine.execution == "standard":
        # What Express would also need is still given: the report shows both bills.
        asked = _problem("execution", "the routine asks for a Standard machine")
        return ExecutionChoice("standard", "standard", (asked, *express_reasons(routine, topology)))
    reasons = tuple(express_reasons(routine, topology))
    return ExecutionChoice("standard" if reasons else "express", routine.execution, reasons)


def check_express(routine: Routine, topology: Topology) -> list[Problem]:
    """Save-time errors of a routine that asks for ``execution: "express"`` but cannot be
    one: every reason, at its path (nothing of it is stored)."""
    if routine.execution != "express":
        return []
    return [
        Problem(p.code, p.path, f"execution 'express' is not possible: {p.message}")
        for p in express_reasons(routine, topology)
    ]


def express_reasons(routine: Routine, topology: Topology) -> list[Problem]:
    """Everything that makes the routine unsafe as an Express machine, in node order."""
    reasons: list[Problem] = []
    if getattr(routine.trigger, "respond", None) == "result":
        # The webhook waits for the result through DescribeExecution, which Express
        # executions do not support on AWS (moto answers it anyway).
        reasons.append(
            _problem(
                "trigger.respond",
                "the webhook answers with the result, which only a Standard execution reports",
            )
        )
    for info in _running(topology):
        reasons += _semantic_reasons(info)
    reasons += _time_reasons(routine, topology)
    return reasons


def _running(topology: Topology) -> list[NodeInfo]:
    """Nodes that run (a disabled node compiles to nothing, or to passing activation on)."""
    order = topology.order or list(topology.infos)
    return [topology.infos[n] for n in order if n in topology.infos and not topology.infos[n].node.disabled]


def _problem(path: str, message: str) -> Problem:
    # The code of a save-time refusal: Express's limits are AWS limits the routine exceeds.
    return Problem(Code.LIMIT_EXCEEDED.value, path, message)


def _semantic_reasons(info: NodeInfo) -> list[Problem]:
    name = info.plugin.name
    path = node_path(info.id)
    out: list[Problem] = []
    if name == APPROVAL:
        out.append(
            _problem(
                path, "an approval pauses on a task token (.waitForTaskToken), which Express machines cannot"
            )
        )
    elif name == EXECUTE_ROUTINE and _waits(info):
        out.append(
            _problem(
                join_path(path, "parameters", "wait"),
                "waiting for a child routine (.sync) is not possible in an Express machine; "
                "set wait to false to start it without waiting",
            )
        )
    if name == LOOP and info.parameters.get("mode") == "distributed":
        # Its child executions are a Map Run of their own, for lists too large to bound.
        out.append(
            _problem(
                join_path(path, "parameters", "mode"),
                "a distributed loop is for item lists too large to run within 5 minutes",
            )
        )
    # Plugins run as Lambdas and say whether running one twice is harmless (and which
    # settings of a node make it harmful). Control nodes compile into native states with
    # no side effects, except execute-routine, which starts an execution whatever its kind.
    for parameter, message in info.plugin.repeat_problems(info.parameters):
        where = join_path(path, "parameters", parameter) if parameter else path
        out.append(_problem(where, f"an Express machine may run a node twice (at least once): {message}"))
    if name == EXECUTE_ROUTINE and info.plugin.kind is not Kind.TASK and not info.plugin.repeat_safe:
        out.append(
            _problem(
                path,
                "an Express machine may run a node twice (at least once), which could start the "
                "child routine twice",
            )
        )
    return out


def _waits(info: NodeInfo) -> bool:
    """execute-routine's ``wait``, true unless it is literally false (an expression could
    be true at run time)."""
    declared = info.plugin.parameter("wait")
    default = declared.default if declared is not None and declared.default is not None else True
    return info.parameters.get("wait", default) is not False


# --- time -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Span:
    """A node's worst-case seconds (None: no bound) and what to tell the user about it."""

    seconds: float | None
    path: str = ""
    why: str = ""
    loops: list[Problem] = field(default_factory=list)  # reasons found inside loop bodies


def _time_reasons(routine: Routine, topology: Topology) -> list[Problem]:
    """The 5-minute limit. A routine whose own timeoutSeconds is at most 300 cannot pass
    it on either machine type; one above 300 asks for more than Express gives. Otherwise
    the worst case is bounded from the routine (:func:`_node_seconds`) along its longest
    path; each node that alone could pass 5 minutes is a reason, and so is a longest path
    that passes them when no single node does."""
    if routine.timeout_seconds is not None:
        if routine.timeout_seconds <= EXPRESS_MAX_SECONDS:
            return []
        return [
            _problem(
                "timeoutSeconds",
                f"the routine may run {routine.timeout_seconds:,} s; an Express execution ends after "
                f"{EXPRESS_MAX_SECONDS} s",
            )
        ]
    in_loops = {n for body in topology.loop_bodies.values() for n in body}
    top = [n for n in _order(topology) if n not in in_loops]
    reasons: list[Problem] = []
    total, path = _longest(topology, top, reasons)
    if not reasons and total is not None and total > EXPRESS_MAX_SECONDS:
        reasons.append(
            _problem(
                "nodes",
                f"the longest path ({_path_text(path)}) may run {_secs(total)} in the worst case; "
                f"an Express execution ends after {EXPRESS_MAX_SECONDS} s (set timeouts on its "
                f"nodes, or the routine's timeoutSeconds to at most {EXPRESS_MAX_SECONDS})",
            )
        )
    return reasons


def _order(topology: Topology) -> list[str]:
    return [n for n in (topology.order or list(topology.infos)) if n in topology.infos]


def _longest(topology: Topology, scope: list[str], reasons: list[Problem]) -> tuple[float | None, list[str]]:
    """Worst-case seconds of the longest path through ``scope`` (nodes in topological
    order, connected among themselves) and that path; appends the reasons of its nodes."""
    members = set(scope)
    finish: dict[str, float | None] = {}
    previous: dict[str, str | None] = {}
    for node_id in scope:
        span = _node_seconds(topology, topology.infos[node_id])
        reasons += span.loops
        if span.seconds is None or span.seconds > EXPRESS_MAX_SECONDS:
            reasons.append(_problem(span.path or node_path(node_id), span.why))
        before: str | None = None
        for edge in topology.graph.incoming[node_id]:
            if edge.source not in members or edge.source not in finish:
                continue
            if before is None or _later(finish[edge.source], finish[before]):
                before = edge.source
        start = 0.0 if before is None else finish[before]
        finish[node_id] = None if start is None or span.seconds is None else start + span.seconds
        previous[node_id] = before
    if not finish:
        return 0.0, []
    if any(s is None for s in finish.values()):
        return None, []
    last: str | None = max(finish, key=lambda n: finish[n] or 0.0)
    total = finish[last] if last is not None else 0.0
    path: list[str] = []
    while last is not None:
        path.append(last)
        last = previous[last]
    return total, path[::-1]


def _later(seconds: float | None, than: float | None) -> bool:
    """Whether a path ending at ``seconds`` is longer (None: unbounded, longest of all)."""
    if than is None:
        return False
    return seconds is None or seconds > than


def _path_text(path: list[str]) -> str:
    if len(path) <= 6:
        return " → ".join(path)
    return " → ".join([*path[:3], "…", *path[-2:]]) + f" ({len(path):,} nodes)"


def _node_seconds(topology: Topology, info: NodeInfo) -> _Span:
    """A node's worst case, bounded from what Step Functions enforces:

    - a plugin Lambda: its attempts (retry.maxAttempts) x one attempt (the node's
      timeoutSeconds, else PLUGIN_OVERHEAD_SECONDS' rule) + the retry delays (interval x
      backoff^k, each capped by maxDelaySeconds; jitter only shortens them). AWS's own
      retries of a refused invocation (throttling, Lambda service errors) are not counted:
      they happen when Lambda itself fails or is saturated, where an Express execution's
      timeout is the failure a Standard one reaches later — counting their 4 minutes of
      backoff would refuse Express to every routine of two plugin nodes;
    - a wait: its seconds; ``until`` or an expression has no bound known at compile time;
    - a loop: its items x its body's longest path. The number of items is known only for a
      literal list (then in rounds of maxConcurrency); otherwise any body that can take
      time (a plugin, a wait) has no bound. Bodies of control nodes only (if, switch,
      merge, stop) run in native states in milliseconds per item and count as nothing;
    - approval and waiting execute-routine nodes are reasons of their own (not counted
      here); other control nodes, and the evaluator Lambda of 'matches' conditions (our
      code on a bounded input), take no time worth counting.
    """
    path = node_path(info.id)
    if info.node.disabled:
        return _Span(0.0)
    name = info.plugin.name
    if name == WAIT:
        return _wait_seconds(info)
    if name == LOOP:
        return _loop_seconds(topology, info)
    if info.plugin.kind is not Kind.TASK:
        return _Span(0.0)
    attempt, limit = _attempt_seconds(info)
    retry = info.node.retry
    attempts = retry.max_attempts if retry is not None else 1
    delays = 0.0
    if retry is not None:
        for k in range(attempts - 1):
            delay = retry.interval_seconds * retry.backoff_rate**k
            if retry.max_delay_seconds is not None:
                delay = min(delay, retry.max_delay_seconds)
            delays += delay
    seconds = attempts * attempt + delays
    if attempts > 1:
        why = (
            f"{attempts} attempts of up to {limit} and {_secs(delays)} between them may take "
            f"{_secs(seconds)}; an Express execution ends after {EXPRESS_MAX_SECONDS} s"
        )
        where = join_path(path, "retry")
    else:
        why = f"one attempt may take up to {limit}; an Express execution ends after {EXPRESS_MAX_SECONDS} s"
        if info.node.timeout_seconds:
            where = join_path(path, "timeoutSeconds")
        elif info.plugin.parameter("timeoutSeconds") is not None:
            where = join_path(path, "parameters", "timeoutSeconds")
        else:
            where = path
    return _Span(seconds, where, why)


def _attempt_seconds(info: NodeInfo) -> tuple[float, str]:
    """One attempt's bound and how it was found (see PLUGIN_OVERHEAD_SECONDS)."""
    if info.node.timeout_seconds:
        return float(info.node.timeout_seconds), f"{info.node.timeout_seconds:,} s (its timeoutSeconds)"
    declared = info.plugin.parameter("timeoutSeconds")
    if declared is None:
        return float(
            PLUGIN_OVERHEAD_SECONDS
        ), f"{PLUGIN_OVERHEAD_SECONDS} s (assumed: the plugin sets no timeout)"
    value = info.parameters.get("timeoutSeconds", declared.default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        # An expression: anything the parameter allows, up to the Lambda's own timeout.
        value = declared.maximum if declared.maximum is not None else PLUGIN_LAMBDA_TIMEOUT_SECONDS
    seconds = float(value) + PLUGIN_OVERHEAD_SECONDS
    return seconds, f"{_secs(seconds)} (its parameter timeoutSeconds + {PLUGIN_OVERHEAD_SECONDS} s)"


def _wait_seconds(info: NodeInfo) -> _Span:
    path = node_path(info.id, "parameters")
    seconds = info.parameters.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return _Span(
            float(seconds),
            join_path(path, "seconds"),
            f"waits {seconds:,} s; an Express execution ends after {EXPRESS_MAX_SECONDS} s",
        )
    if "until" in info.parameters and info.parameters["until"] is not None:
        return _Span(
            None, join_path(path, "until"), "waits until a time, which may be more than 5 minutes away"
        )
    return _Span(
        None, join_path(path, "seconds"), "waits for seconds computed at run time, which may be more than 300"
    )


def _loop_seconds(topology: Topology, info: NodeInfo) -> _Span:
    body = topology.loop_bodies.get(info.id, set())
    scope = [n for n in _order(topology) if n in body and info.id == _innermost(topology, n)]
    inner: list[Problem] = []
    per_item, _ = _longest(topology, scope, inner)
    path = node_path(info.id)
    if per_item is None:
        # The body is unbounded already (its reasons say why): the loop adds nothing.
        return _Span(0.0, loops=inner)
    if per_item == 0:
        return _Span(0.0, loops=inner)
    bound = info.parameters.get("maxIterations")
    if info.parameters.get("until") is not None and isinstance(bound, int):
        # An until loop runs its iterations one after another, at most maxIterations.
        seconds = bound * per_item
        why = (
            f"{bound} iterations (maxIterations) of {_secs(per_item)} may take {_secs(seconds)}; "
            f"an Express execution ends after {EXPRESS_MAX_SECONDS} s"
        )
        return _Span(seconds, join_path(path, "parameters", "maxIterations"), why, inner)
    items = info.parameters.get("items")
    if not isinstance(items, list):
        return _Span(
            None,
            join_path(path, "parameters", "items"),
            f"each item may take {_secs(per_item)} and the number of items is known only at run "
            "time: the loop has no bound",
            inner,
        )
    concurrency = info.parameters.get("maxConcurrency", 10)
    width = len(items) if not isinstance(concurrency, int) or concurrency <= 0 else concurrency
    rounds = math.ceil(len(items) / max(1, width))
    seconds = rounds * per_item
    why = (
        f"{len(items)} items in {rounds} round(s) of {_secs(per_item)} may take {_secs(seconds)}; "
        f"an Express execution ends after {EXPRESS_MAX_SECONDS} s"
    )
    return _Span(seconds, path, why, inner)


def _innermost(topology: Topology, node_id: str) -> str | None:
    loops = topology.enclosing.get(node_id, ())
    return loops[-1] if loops else None


def _secs(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds == int(seconds) else f"{seconds:,.1f} s"


__all__ = [
    "EXPRESS_MAX_SECONDS",
    "PLUGIN_LAMBDA_TIMEOUT_SECONDS",
    "PLUGIN_OVERHEAD_SECONDS",
    "ExecutionChoice",
    "MachineType",
    "check_express",
    "choose",
    "express_reasons",
    "reason_line",
]
