"""``routines run FILE [--input JSON] [--json]``: execute a routine on the local AWS.

People get a live timeline (one line per node as it finishes, and one when an approval
starts waiting, saying how to decide it) and a summary; programs get DESIGN §8's JSON.
``--approve NODE`` / ``--reject NODE`` decide an approval each time it waits, as the API
would. A cron routine run without ``--input`` gets the trigger a firing now would give.
Exit 0 when the execution SUCCEEDED, 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from contract.problems import Report, join_path
from functions.cli.errors import UsageError
from statemachines import jsontext

ICONS = {"succeeded": "ok  ", "failed": "FAIL", "skipped": "skip", "cancelled": "cncl"}
MAX_INPUT_BYTES = 10 * 1024 * 1024  # over its inline room the input goes to S3 (offload.execution_input)


class InputError(UsageError):
    """--input is not usable JSON."""


def parse_input(text: str | None) -> Any:
    if text is None:
        return {}
    if len(text.encode()) > MAX_INPUT_BYTES:
        raise InputError(
            f"--input is larger than {MAX_INPUT_BYTES} bytes (the largest trigger a local run accepts)"
        )
    try:
        return jsontext.loads(text)
    except jsontext.JsonTextError as error:
        issue = error.issues[0]
        where = f" at {join_path('input', *issue.segments)}" if issue.segments else ""
        raise InputError(f"--input{where}: {issue.message}") from None


class Timeline:
    """Prints a line per node as its own state finishes — ``done``, or ``failed: <error>``
    when its last attempt failed (a caught failure or one that ends the run) — a line per
    failed attempt that is retried, and a line when an approval starts waiting. A node's
    other states (its error port's, a race's, a large value's) print nothing: the summary
    after the run has every node."""

    FAILURES = ("LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut")
    SUCCESSES = ("LambdaFunctionSucceeded", "TaskSucceeded")

    def __init__(
        self, state_nodes: dict[str, str], stream: Any, approvals: dict[str, str] | None = None
    ) -> None:
        self.state_nodes = state_nodes
        self.stream = stream
        self.approvals = approvals or {}  # approval node → how it is decided (empty: not)
        self.started = time.monotonic()
        self._state_of: dict[int, str] = {}  # history event id → the state it belongs to
        self._failed: dict[str, str] = {}  # node → its last attempt's error, while it failed

    def __call__(self, event: dict[str, Any]) -> None:
        state = self._state(event)
        node = self.state_nodes.get(state) if state is not None else None
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            if node in self.approvals and entered["name"] == node:
                self._line(node, self.approvals[node] or _how_to_decide(node))
            return
        if event["type"] in self.FAILURES and node is not None and state == node:
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            error = str(details.get("error") or "failed")
            if node in self._failed:
                self._line(node, f"attempt failed: {self._failed[node]}")  # the one before was retried
            self._failed[node] = error
            return
        if event["type"] in self.SUCCESSES and node is not None:
            if node in self._failed:
                self._line(node, f"attempt failed: {self._failed.pop(node)}")  # retried, then succeeded
            return
        exited = event.get("stateExitedEventDetails")
        if exited is None:
            if event["type"] in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
                for failing, error in self._failed.items():
                    self._line(failing, f"failed: {error}")
                self._failed.clear()
                self._line("execution", event["type"].removeprefix("Execution").lower())
            return
        if node is not None and exited["name"] == node:
            failed = self._failed.pop(node, "")
            self._line(node, f"failed: {failed}" if failed else "done")

    def _state(self, event: dict[str, Any]) -> str | None:
        """The state an event belongs to: its own name when it enters or exits one, else
        that of the event before it (a Lambda's scheduled, started, failed events)."""
        named = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if named is not None:
            state: str | None = str(named["name"])
        else:
            state = self._state_of.get(int(event.get("previousEventId") or 0))
        if state is not None and "id" in event:
            self._state_of[int(event["id"])] = state
        return state

    def _line(self, who: str, what: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"  {elapsed:7.2f}s  {who:<24} {what}", file=self.stream, flush=True)


def _how_to_decide(node: str) -> str:
    return (
        f"waits for a decision: run again with --approve {node} or --reject {node}, "
        f"or decide it through routines serve (POST /executions/ID/approvals/{node})"
    )


def cron_trigger(document: Any, given: Any) -> Any:
    """A cron routine's trigger as a firing now gives it (``scheduledTime``, ``timezone``,
    ``schedule``), with what ``--input`` gave laid over it."""
    trigger = document.get("trigger") if isinstance(document, dict) else None
    if not isinstance(trigger, dict) or trigger.get("type") != "cron" or not isinstance(given, dict):
        return given
    from datetime import UTC, datetime

    from functions.triggers.cron import cron_trigger_data

    return {**cron_trigger_data(trigger, datetime.now(UTC).replace(microsecond=0)), **given}


def summary(result: dict[str, Any]) -> str:
    lines = [f"status: {result['status']}   transitions: {result['transitions']}"]
    for node_id, node in result["nodes"].items():
        line = f"  {ICONS.get(node['status'], node['status'])}  {node_id:<24} {node['durationMs']:>8.1f} ms"
        if node.get("error"):
            line += f"  {node['error'].get('type')}: {node['error'].get('message')}"
        elif node["status"] == "succeeded" and node.get("output") is not None:
            text = json.dumps(node["output"], ensure_ascii=False)
            line += "  " + (text if len(text) <= 80 else text[:77] + "...")
        lines.append(line)
    if result.get("error"):
        lines.append(f"error: {result['error']['type']}: {result['error']['message']}")
    return "\n".join(lines)


def run_file(
    name: str,
    document: Any,
    input_text: str | None,
    as_json: bool,
    timeout: float | None = None,
    secrets: dict[str, str] | None = None,
    decisions: dict[str, bool] | None = None,
) -> int:
    from contract.errors import CompileError, InvalidRoutineError
    from functions.cli import startup
    from functions.local import LocalAWS
    from functions.local.runner import start_routine
    from functions.testing.approvals import ApprovalAnswers

    trigger = cron_trigger(document, parse_input(input_text))
    decisions = decisions or {}
    with LocalAWS() as aws:
        for secret, value in (secrets or {}).items():
            aws.put_secret(secret, value)
        try:
            execution = start_routine(
                aws,
                document,
                trigger,
                # execute-routine nodes may name a child by its file, next to this one
                base=Path(name).parent if name != "-" else None,
            )
        except InvalidRoutineError as exc:
            report = Report(errors=list(exc.problems))
            for problem in report.errors:
                print(f"{name}: {problem.code} {problem.path}: {problem.message}", file=sys.stderr)
            return 1
        except CompileError as exc:
            print(f"{name}: cannot compile: {exc}", file=sys.stderr)
            return 1
        startup.settle()  # the local AWS is up and the routine deployed
        approvals = {
            node: ("decided by --approve" if decisions[node] else "decided by --reject")
            if node in decisions
            else ""
            for node, info in execution.topology.infos.items()
            if info.plugin.name == "approval"
        }
        unknown = sorted(set(decisions) - set(approvals))
        if unknown:
            aws.client("stepfunctions").stop_execution(executionArn=execution.arn)
            raise InputError(f"--approve/--reject name no approval node of the routine: {', '.join(unknown)}")
        timeline = (
            None if as_json else Timeline(execution.compiled.report["stateNodes"], sys.stderr, approvals)
        )
        if timeline is not None:
            print(f"running {name} on the local runtime", file=sys.stderr)
        answers = {node: (approve, None) for node, approve in decisions.items()}
        with ApprovalAnswers(aws, execution.arn, answers, by="routines run"):
            result = execution.wait(timeline, timeout).to_json()
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print(summary(result))
    return 0 if result["status"] == "SUCCEEDED" else 1
