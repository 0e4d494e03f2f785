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
    """Prints a line per node as its state finishes (a node's other states — its error
    port's, a large value's — print only when its own did not), and a line when an
    approval starts waiting."""

    def __init__(
        self, state_nodes: dict[str, str], stream: Any, approvals: dict[str, str] | None = None
    ) -> None:
        self.state_nodes = state_nodes
        self.stream = stream
        self.approvals = approvals or {}  # approval node → how it is decided (empty: not)
        self.started = time.monotonic()
        self._shown: set[str] = set()

    def __call__(self, event: dict[str, Any]) -> None:
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            node = self.state_nodes.get(entered["name"])
            if node in self.approvals and entered["name"] == node:
                self._line(node, self.approvals[node] or _how_to_decide(node))
            return
        details = event.get("stateExitedEventDetails")
        if details is None:
            if event["type"] in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
                self._line("execution", event["type"].removeprefix("Execution").lower())
            return
        node = self.state_nodes.get(details["name"])
        if node is None:
            return
        if details["name"] == node:
            self._shown.add(node)
            self._line(node, "done")
        elif node not in self._shown:
            self._shown.add(node)
            self._line(node, f"done ({details['name']})")

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
