"""``routines run FILE [--input JSON] [--json]``: execute a routine on the local AWS.

People get a live timeline (one line per node as its states finish) and a summary; programs
get DESIGN §8's JSON. Exit 0 when the execution SUCCEEDED, 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from statemachines import jsontext
from statemachines.problems import Report, join_path

ICONS = {"succeeded": "ok  ", "failed": "FAIL", "skipped": "skip"}
MAX_INPUT_BYTES = 10 * 1024 * 1024  # over its budget slot the input goes to S3 (offload.execution_input)


class InputError(ValueError):
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
    """Prints a line per state as it finishes, named after its node."""

    def __init__(self, state_nodes: dict[str, str], stream: Any) -> None:
        self.state_nodes = state_nodes
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        details = event.get("stateExitedEventDetails")
        if details is None:
            if event["type"] in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
                self._line("execution", event["type"].removeprefix("Execution").lower())
            return
        node = self.state_nodes.get(details["name"])
        if node is not None:
            self._line(node, f"done ({details['name']})" if details["name"] != node else "done")

    def _line(self, who: str, what: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"  {elapsed:7.2f}s  {who:<24} {what}", file=self.stream, flush=True)


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
) -> int:
    from functions.cli import startup
    from functions.local import LocalAWS
    from functions.local.runner import start_routine
    from statemachines.errors import CompileError, InvalidRoutineError

    trigger = parse_input(input_text)
    with LocalAWS() as aws:
        for secret, value in (secrets or {}).items():
            aws.put_secret(secret, value)
        try:
            execution = start_routine(aws, document, trigger)
        except InvalidRoutineError as exc:
            report = Report(errors=list(exc.problems))
            for problem in report.errors:
                print(f"{name}: {problem.code} {problem.path}: {problem.message}", file=sys.stderr)
            return 1
        except CompileError as exc:
            print(f"{name}: cannot compile: {exc}", file=sys.stderr)
            return 1
        startup.settle()  # the local AWS is up and the routine deployed
        timeline = None if as_json else Timeline(execution.compiled.report["stateNodes"], sys.stderr)
        if timeline is not None:
            print(f"running {name} on the local runtime", file=sys.stderr)
        result = execution.wait(timeline, timeout).to_json()
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print(summary(result))
    return 0 if result["status"] == "SUCCEEDED" else 1
