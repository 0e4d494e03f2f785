"""Compile a routine: validate → analyse the graph → emit ASL → check → report.

``compile_routine`` is the one entry point; every step is a pure function of the routine
(same routine and options ⇒ byte-identical definition).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from contract.errors import CompileError, InvalidRoutineError
from contract.names import EVALUATOR
from contract.problems import Code, Problem, Report, Warn
from plugins.sdk import PluginRegistry
from statemachines.asl import StateMachine, render
from statemachines.emitter import Emitter
from statemachines.express import ExecutionChoice, choose
from statemachines.machine import build_machine
from statemachines.machine import routes as build_routes
from statemachines.machine.race import RaceShapeError
from statemachines.machine.records import routine_body
from statemachines.options import CompileOptions
from statemachines.report import build_report
from statemachines.topology import NodeInfo, Topology
from statemachines.validator import Validation, analyse


@dataclass(frozen=True, slots=True)
class Compiled:
    definition: str  # the ASL, as deployed
    report: dict[str, Any]

    @property
    def asl(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.definition)
        return result


def compile_routine(
    document: Any, registry: PluginRegistry | None = None, options: CompileOptions | None = None
) -> Compiled:
    """The state machine of a routine document; :class:`InvalidRoutineError` if invalid."""
    validation = analyse(document, registry)
    return compile_validated(validation, options or CompileOptions())


def validate_for_save(
    document: Any, registry: PluginRegistry | None = None, options: CompileOptions | None = None
) -> Report:
    """Everything saving checks: the validator's report, plus ``limit_exceeded`` when the
    routine is valid but its state machine cannot be deployed (over 1 MB, too many
    states) — refused at save time rather than at activation."""
    validation = analyse(document, registry)
    if validation.report.valid:
        try:
            compile_validated(validation, options or CompileOptions())
        except CompileError as exc:
            if exc.code == Code.INVALID_PARAMETER.value:  # a shape only compiling finds (a race)
                validation.report.error(Code.INVALID_PARAMETER, exc.path, exc.message)
            else:
                message = f"the routine cannot be deployed: {exc.message}"
                validation.report.error(Code.LIMIT_EXCEEDED, exc.path, message)
    return validation.report


def emit(
    topology: Topology, variables: dict[str, Any], options: CompileOptions
) -> tuple[Emitter, StateMachine]:
    """Walk the routine into a state machine. The first walk allocates document slots
    (statemachines.slots); when outputs share one, a second walk names them for good. A
    node that could not keep its slot on another path compiles again in a slot of its own."""
    private: frozenset[str] = frozenset()
    while True:
        emitter = Emitter(topology, variables, options, private=private)
        machine = emitter.run()
        if emitter.slots.conflicts:
            private |= emitter.slots.conflicts
            continue
        keys = emitter.slots.final_keys()
        if keys is None:
            return emitter, machine
        emitter = Emitter(topology, variables, options, keys=keys, private=private)
        return emitter, emitter.run()


# Nodes only the JSONata compiler knows. Until it is the default (issue #23), a routine
# with one compiles to a JSONata machine whatever was asked: the trace, the recorder and
# the runner read which from the report's queryLanguage.
JSONATA_ONLY = frozenset({"execute-routine"})


def needs_jsonata(topology: Topology, choice: ExecutionChoice | None = None) -> bool:
    """Whether only the JSONata compiler can build the routine: a node it alone knows, or
    an Express machine (whose record-writing wrapper it alone builds)."""
    if choice is not None and choice.type == "express":
        return True
    return any(
        info.plugin.name in JSONATA_ONLY or _jsonata_only_mode(info) for info in topology.infos.values()
    )


def _jsonata_only_mode(info: NodeInfo) -> bool:
    """Modes of older nodes only the JSONata compiler builds (issue #27): a loop with
    ``until`` (statemachines.machine.repeat), a merge with mode "first" (.race)."""
    if info.plugin.name == "loop":
        return info.parameters.get("until") is not None
    return info.plugin.name == "merge" and info.parameters.get("mode") == "first"


def _check_races(topology: Topology, raced: set[str]) -> None:
    """Every merge with mode "first" became a race (statemachines.machine.race): a Parallel
    catching its error. Not when its branches never ran side by side (one after the other,
    their branches crossing), which would silently wait for all of them."""
    for node_id, info in topology.infos.items():
        first = info.plugin.name == "merge" and _jsonata_only_mode(info) and not info.node.disabled
        if first and node_id not in raced:
            raise RaceShapeError(
                f"the branches of merge '{node_id}' (mode 'first') do not run side by side "
                "(their branches cross before the merge): nothing can race",
                path=f"nodes[{node_id}].parameters.mode",
            )


def compile_validated(validation: Validation, options: CompileOptions) -> Compiled:
    if validation.routine is None or validation.topology is None:
        raise InvalidRoutineError(validation.report.errors)
    routine = validation.routine
    choice = choose(routine, validation.topology)
    if options.query_language == "JSONPath" and choice.type == "express" and choice.requested == "auto":
        # The previous compiler (--jsonpath) builds no record-writing wrapper: Standard.
        only = Problem(
            Code.LIMIT_EXCEEDED.value, "execution", "the JSONPath compiler builds Standard machines only"
        )
        choice = ExecutionChoice("standard", choice.requested, (only,))
    # An Express machine writes its own execution records: a wrapper only the JSONata
    # compiler builds (statemachines/machine/records.py).
    options = replace(options, execution_type=choice.type)
    if options.query_language != "JSONata" and needs_jsonata(validation.topology, choice):
        options = replace(options, query_language="JSONata")
    if options.query_language == "JSONata":
        build, machine = build_machine(validation.topology, routine.variables, options)
        _check_races(validation.topology, build.races)
        state_nodes, emitted, routes, decided = (
            build.state_nodes,
            build.warnings,
            build_routes(build),
            build.decided,
        )
    else:
        emitter, machine = emit(validation.topology, routine.variables, options)
        state_nodes, emitted, routes, decided = (
            emitter.state_nodes,
            emitter.warnings,
            emitter.routes,
            emitter.decided,
        )
    machine.comment = f"Routine '{routine.name}' ({options.routine_id}), compiled by routines"
    machine.timeout_seconds = routine.timeout_seconds
    definition = render(machine)
    # The validator's series-parallel warning is a guess; the emitter knows what it did.
    warnings = [w for w in validation.report.warnings if w.code != Warn.NOT_SERIES_PARALLEL.value]
    warnings += list(emitted.values())
    report = build_report(
        routine_body(json.loads(definition)),  # not an Express machine's record writes
        len(definition.encode()),
        state_nodes,
        warnings,
        options.function_arn(EVALUATOR),
        routes,
        decided,
        choice,
        {node_id: info.plugin.name for node_id, info in validation.topology.infos.items()},
    )
    return Compiled(definition, report)
