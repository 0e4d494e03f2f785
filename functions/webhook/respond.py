"""``respond: "result"``: the webhook caller waits for the execution's end.

The webhook Lambda polls ``DescribeExecution`` (on AWS as under ``routines serve``, where
the same function runs in-process against the local Step Functions) until the execution
ends or ``respondTimeoutSeconds`` pass:

- SUCCEEDED → ``200`` with the execution's result (its output) as the body;
- FAILED at a ``stop`` node with ``status: "fail"`` → that node's ``httpStatus`` (400…599,
  default 500) with ``{"error": {"type", "message"}}`` (the stop's error name and cause);
- any other end — a node failed, TIMED_OUT, ABORTED → ``502`` ``{"error"}``: the hook
  worked, the routine behind it did not (as a gateway answers for a failed upstream);
- still running at the deadline → ``202 {"executionId"}``, as without ``respond``.

Every answer names the execution in the ``X-Execution-Id`` header.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from functions.store import NotFoundError, RoutineStore
from functions.trace import clean_error, json_or_text, timed_out_error
from functions.triggers.start import RunMeta
from plugins.runtime.aws import client
from statemachines.compiler import compile_validated
from statemachines.model import DEFAULT_RESPOND_TIMEOUT_SECONDS, MAX_RESPOND_TIMEOUT_SECONDS
from statemachines.options import CompileOptions
from statemachines.validator import analyse

EXECUTION_HEADER = "X-Execution-Id"
ROUTINE_FAILED = 502
DEFAULT_STOP_STATUS = 500
FIRST_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 1.0
# Left of the Lambda's own time for answering (a 202 rather than a Lambda timeout).
MARGIN_MILLIS = 2000
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DEFAULT_ERRORS = {
    "ABORTED": {"type": "States.Aborted", "message": "the execution was stopped"},
    "FAILED": {"type": "Error", "message": "the execution failed"},
}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def respond_timeout(options: dict[str, Any]) -> float | None:
    """Seconds to wait for the result, per the activation's webhook options; None: answer
    202 at once."""
    if options.get("respond") != "result":
        return None
    seconds = options.get("respondTimeoutSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        seconds = DEFAULT_RESPOND_TIMEOUT_SECONDS
    return float(min(max(seconds, 1), MAX_RESPOND_TIMEOUT_SECONDS))


def execution_arn(state_machine_arn: str, execution_id: str) -> str:
    """``arn:…:stateMachine:<name>`` and ``<name>:<execution>`` → the execution's ARN."""
    return state_machine_arn.split(":stateMachine:", 1)[0] + ":execution:" + execution_id


def await_result(
    state_machine_arn: str, execution_id: str, meta: RunMeta, timeout: float, context: Any = None
) -> Answer:
    """Wait up to ``timeout`` seconds (and never past the Lambda's own time) for the
    execution to end; the answer for the caller."""
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        timeout = min(timeout, max(0.0, (context.get_remaining_time_in_millis() - MARGIN_MILLIS) / 1000))
    deadline = time.monotonic() + timeout
    arn = execution_arn(state_machine_arn, execution_id)
    stepfunctions = client("stepfunctions")
    headers = {EXECUTION_HEADER: execution_id}
    pause = FIRST_POLL_SECONDS
    while True:
        description = stepfunctions.describe_execution(executionArn=arn)
        status = description["status"]
        if status in TERMINAL:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Answer(202, {"executionId": execution_id}, headers)
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, MAX_POLL_SECONDS)
    if status == "SUCCEEDED":
        return Answer(200, json_or_text(description.get("output")), headers)
    document = _document(meta)
    if status == "TIMED_OUT":
        error = timed_out_error(document.get("timeoutSeconds") if document else None)
        return Answer(ROUTINE_FAILED, {"error": error}, headers)
    if description.get("error") or description.get("cause"):
        error = clean_error(description.get("error"), description.get("cause"))
        error["type"] = error["type"] or "Error"
    else:
        error = dict(DEFAULT_ERRORS.get(status, DEFAULT_ERRORS["FAILED"]))
    code = ROUTINE_FAILED
    if status == "FAILED" and document is not None:
        stop = _failing_stop(stepfunctions, arn, meta, document)
        if stop is not None:
            wanted = stop.get("httpStatus", DEFAULT_STOP_STATUS)
            valid = isinstance(wanted, int) and not isinstance(wanted, bool) and 400 <= wanted <= 599
            code = wanted if valid else DEFAULT_STOP_STATUS
    return Answer(code, {"error": error}, headers)


def _failing_stop(
    stepfunctions: Any, arn: str, meta: RunMeta, document: dict[str, Any]
) -> dict[str, Any] | None:
    """The parameters of the ``stop`` node (``status: "fail"``) the execution ended at, or
    None when it ended at anything else. The history's last Fail state, mapped to its node
    by the compile report (a stop inside a branch or loop ends at its top-level copy)."""
    history = stepfunctions.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=20)
    entered = next(
        (
            event["stateEnteredEventDetails"]["name"]
            for event in history.get("events", [])
            if event.get("type") == "FailStateEntered" and "stateEnteredEventDetails" in event
        ),
        None,
    )
    if entered is None:
        return None
    state_nodes = _state_nodes(meta.routine_id, meta.version, json.dumps(document))
    node_id = state_nodes.get(entered)
    for node in document.get("nodes") or []:
        if isinstance(node, dict) and node.get("id") == node_id and node.get("plugin") == "stop":
            parameters = node.get("parameters") or {}
            return dict(parameters) if parameters.get("status") == "fail" else None
    return None


@lru_cache(maxsize=64)
def _state_nodes(routine_id: str, version: int, document: str) -> dict[str, str]:
    """State name → node id of a routine version (deterministic; cached per container)."""
    validation = analyse(json.loads(document))
    report = compile_validated(validation, CompileOptions(routine_id=routine_id)).report
    return dict(report.get("stateNodes") or {})


def _document(meta: RunMeta) -> dict[str, Any] | None:
    try:
        document = RoutineStore().get(meta.owner_id, meta.routine_id, meta.version).document
    except (NotFoundError, ClientError):
        return None
    return document if isinstance(document, dict) else None
