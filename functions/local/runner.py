"""Run a routine on the local AWS: validate, compile, deploy, start, follow, trace."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import CompileError, InvalidRoutineError, RoutinesError
from contract.names import state_machine_prefix
from contract.problems import join_path, node_path
from functions.local import child_executions, compile_cache
from functions.local.environment import ACCOUNT, REGION, LocalAWS
from functions.local.errors import clean_error
from functions.local.lambdas import Pin
from functions.local.observe import observer as observe
from functions.local.slices import long_slices
from functions.trace import execution_history, routine_error, shown_result, timed_out_error, trace_execution
from plugins.builtin.control.execute_routine import NAME as EXECUTE_ROUTINE
from plugins.builtin.control.execute_routine import is_path, routine_id
from plugins.runtime.offload import execution_input
from statemachines.compiler import Compiled, compile_validated
from statemachines.machine.records import machine_type
from statemachines.options import CompileOptions
from statemachines.topology import Topology
from statemachines.validator import Validation, analyse

WAIT_SECONDS = 1.0  # the end wakes the runner; this only paces timeout checks
REPORT_SECONDS = 0.05  # how often a live timeline gets new events
STOP_GRACE_SECONDS = 2.0
TIMEOUT_ERROR = "Routines.LocalTimeout"

EventCallback = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class ExecutionResult:
    status: str
    output: Any
    error: str | None
    cause: str | None
    nodes: dict[str, dict[str, Any]]
    transitions: int
    execution_arn: str
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "output": self.output,
            "error": clean_error(self.error, self.cause) if self.error else None,
            "nodes": self.nodes,
            "transitions": self.transitions,
            "executionArn": self.execution_arn,
        }


@dataclass(slots=True)
class RunningExecution:
    aws: LocalAWS
    arn: str
    topology: Topology
    compiled: Compiled
    trigger: Any = None
    variables: dict[str, Any] = field(default_factory=dict)
    _seen: int = 0

    def history(self) -> list[dict[str, Any]]:
        return execution_history(self.aws.client("stepfunctions"), self.arn)

    def status(self) -> str:
        return str(self.aws.client("stepfunctions").describe_execution(executionArn=self.arn)["status"])

    def wait(self, on_event: EventCallback | None = None, timeout: float | None = None) -> ExecutionResult:
        with long_slices():  # the execution's threads take longer turns (functions.local.slices)
            return self._wait(on_event, timeout)

    def _wait(self, on_event: EventCallback | None, timeout: float | None) -> ExecutionResult:
        client = self.aws.client("stepfunctions")
        deadline = time.monotonic() + timeout if timeout else None
        stopped: float | None = None
        observer = observe(client, self.arn)
        aborted = False
        try:
            while True:
                ended = observer.wait(REPORT_SECONDS if on_event is not None else WAIT_SECONDS)
                if on_event is not None:
                    for event in observer.events_since(self._seen):
                        on_event(event)
                        self._seen += 1
                if ended:
                    break
                now = time.monotonic()
                if deadline is not None and now > deadline and stopped is None:
                    client.stop_execution(
                        executionArn=self.arn, error=TIMEOUT_ERROR, cause=f"no result after {timeout} s"
                    )
                    stopped = now
                elif stopped is not None and now - stopped > STOP_GRACE_SECONDS:
                    # moto does not stop an execution waiting for a task token: report it as
                    # aborted ourselves (its thread dies with the local AWS).
                    aborted = True
                    break
        finally:
            observer.close()
            self.aws.lambdas.unpin(self.arn)
            child_executions.unpin(self.arn)
        description = client.describe_execution(executionArn=self.arn)
        history = observer.history()
        if aborted:
            description = {**description, "status": "ABORTED", "error": TIMEOUT_ERROR}
            description["cause"] = f"no result after {timeout} s"
        if on_event is not None:
            for event in history[self._seen :]:
                on_event(event)
            self._seen = len(history)
        context = {"trigger": self.trigger, "vars": self.variables}
        trace = trace_execution(
            client, self.arn, self.topology, self.compiled.report, context, history, ended=True
        )
        output = shown_result(json.loads(description["output"])) if description.get("output") else None
        if description["status"] == "TIMED_OUT" and not description.get("error"):
            # Step Functions names no error for a machine past its TimeoutSeconds.
            error = timed_out_error(self.compiled.asl.get("TimeoutSeconds"))
            description = {**description, "error": error["type"], "cause": error["message"]}
        return ExecutionResult(
            description["status"],
            output,
            routine_error(description.get("error")),
            description.get("cause"),
            trace.nodes,
            trace.transitions,
            self.arn,
            history,
        )


class PinError(RoutinesError, ValueError):
    """A pin names no node of the routine, or a node that runs no Lambda of its own."""


def check_pins(topology: Topology, pins: dict[str, Pin]) -> None:
    for node_id in sorted(pins):
        info = topology.infos.get(node_id)
        if info is None:
            raise PinError(f"pinned node '{node_id}' is not a node of the routine")
        if not info.is_task and info.plugin.name != EXECUTE_ROUTINE:
            raise PinError(
                f"pinned node '{node_id}' is a '{info.plugin.name}' node, which compiles into Step "
                "Functions states: only plugin nodes (Lambda tasks) and execute-routine nodes can be pinned"
            )


def start_routine(
    aws: LocalAWS,
    document: Any,
    trigger: Any = None,
    routine_id: str = "local",
    *,
    pins: dict[str, Pin] | None = None,
    base: Path | None = None,
) -> RunningExecution:
    """Validate, compile, deploy and start. ``pins``: nodes whose Lambda is not run during
    this execution, answering with the pinned output or error instead (an execute-routine
    node starts no child). ``base``: the folder of the document's file, against which
    execute-routine nodes' paths are read; the child routines they name are deployed too."""
    validation = analyse(document, aws.registry)
    if validation.routine is None or validation.topology is None:
        raise InvalidRoutineError(validation.report.errors)
    if pins:
        check_pins(validation.topology, pins)
    options = CompileOptions(routine_id=routine_id, region=REGION, account=ACCOUNT)
    compiled = compile_cache.compiled(
        document, aws.registry, options, lambda: compile_validated(validation, options)
    )
    aws.provision(document)
    deploy_children(aws, validation.topology, base, tuple(pins or ()))
    client = aws.client("stepfunctions")
    name, machine_arn = aws.state_machine(compiled.definition)
    execution_name = uuid.uuid4().hex
    predicted = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}:{execution_name}"
    children = {n: p for n, p in (pins or {}).items() if not validation.topology.infos[n].is_task}
    if pins:  # registered before the start: the first task may be invoked at once
        aws.lambdas.pin(predicted, {n: p for n, p in pins.items() if n not in children})
    if children:
        stand_in = _deploy(aws, child_executions.STAND_IN_NAME, child_executions.STAND_IN_DEFINITION)
        child_executions.pin(predicted, children, stand_in)
    try:
        arn = client.start_execution(
            stateMachineArn=machine_arn,
            name=execution_name,
            input=execution_input(trigger, execution_name),
        )["executionArn"]
    except BaseException:
        aws.lambdas.unpin(predicted)
        child_executions.unpin(predicted)
        raise
    return RunningExecution(aws, arn, validation.topology, compiled, trigger, validation.routine.variables)


def deploy_children(
    aws: LocalAWS,
    topology: Topology,
    base: Path | None,
    pinned: Collection[str] = (),
    seen: dict[str, Path] | None = None,
) -> None:
    """Deploy the routines the execute-routine nodes name (not pinned ones), and theirs, as
    activation would: each as ``routines-<routine id>``. A path is read relative to
    ``base``; a routine id names a routine already deployed on this local AWS. A problem is
    a :class:`CompileError` at the node's ``routine`` parameter."""
    seen = {} if seen is None else seen
    for node_id in topology.order:
        info = topology.infos[node_id]
        if info.plugin.name != EXECUTE_ROUTINE or info.node.disabled or node_id in pinned:
            continue
        routine = str(info.parameters["routine"])
        child = routine_id(routine)
        where = join_path(node_path(node_id), "parameters", "routine")
        if not is_path(routine):
            try:
                aws.client("stepfunctions").describe_state_machine(stateMachineArn=_machine_arn(child))
            except ClientError:
                raise CompileError(
                    f"routine '{child}' is not deployed on the local runtime: name its file instead, "
                    "a path relative to this document (e.g. child.json)",
                    path=where,
                ) from None
            continue
        if base is None:
            raise CompileError(
                f"'{routine}' is a path, but this document was not read from a file: "
                "run the routine from its file, or name an active routine by its id",
                path=where,
            )
        path = (base / routine).resolve()
        known = seen.get(child)
        if known is not None:
            if known != path:
                raise CompileError(
                    f"'{routine}' ({path}) and {known} would both be routine '{child}' "
                    "(a routine's id is its file name): rename one",
                    path=where,
                )
            continue
        seen[child] = path
        document = _read_routine(path, where)
        validation = analyse(document, aws.registry)
        if validation.routine is None or validation.topology is None:
            first = validation.report.errors[0]
            raise CompileError(
                f"routine file {path} is invalid: {first.code} {first.path}: {first.message}", path=where
            )
        options = CompileOptions(routine_id=child, region=REGION, account=ACCOUNT)
        try:
            compiled = _compile(document, aws, validation, options)
        except CompileError as exc:
            raise CompileError(f"routine file {path} cannot compile: {exc}", path=where) from None
        aws.provision(document)
        deploy_children(aws, validation.topology, path.parent, (), seen)
        _deploy(aws, state_machine_prefix(None) + child, compiled.definition)


def _compile(document: Any, aws: LocalAWS, validation: Validation, options: CompileOptions) -> Compiled:
    return compile_cache.compiled(
        document, aws.registry, options, lambda: compile_validated(validation, options)
    )


def _machine_arn(child: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{state_machine_prefix(None)}{child}"


def _read_routine(path: Path, where: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise CompileError(f"cannot read {path}: {exc.strerror or exc}", path=where) from None
    except ValueError as exc:
        raise CompileError(f"{path} is not valid JSON: {exc}", path=where) from None


def _deploy(aws: LocalAWS, name: str, definition: str) -> str:
    """Create the state machine ``name``, or give it this definition; its ARN."""
    client = aws.client("stepfunctions")
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    try:
        current = client.describe_state_machine(stateMachineArn=arn)["definition"]
        if machine_type(current) != machine_type(definition):  # a type cannot change: replace
            client.delete_state_machine(stateMachineArn=arn)
            raise LookupError(name)
    except (ClientError, LookupError):
        return str(
            client.create_state_machine(
                name=name, definition=definition, roleArn=aws.role_arn, type=machine_type(definition)
            )["stateMachineArn"]
        )
    if current != definition:
        client.update_state_machine(stateMachineArn=arn, definition=definition)
    return arn


def run_routine(
    aws: LocalAWS,
    document: Any,
    trigger: Any = None,
    *,
    on_event: EventCallback | None = None,
    timeout: float | None = None,
    pins: dict[str, Pin] | None = None,
    base: Path | None = None,
) -> ExecutionResult:
    return start_routine(aws, document, trigger, pins=pins, base=base).wait(on_event, timeout)
