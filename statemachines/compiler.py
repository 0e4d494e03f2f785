"""Compile a routine: validate → analyse the graph → build the JSONata machine
(statemachines.machine) → check → report.

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
from statemachines.asl import render
from statemachines.express import choose
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
            compiled = compile_validated(validation, options or CompileOptions())
            # The build's warnings too (a loop bounded by the history, the branches it ran
            # one after another): what compiling learns is said when the routine is saved.
            validation.report.warnings = [Problem(**w) for w in compiled.report["warnings"]]
        except CompileError as exc:
            if exc.code == Code.INVALID_PARAMETER.value:  # a shape only compiling finds (a race)
                validation.report.error(Code.INVALID_PARAMETER, exc.path, exc.message)
            else:
                message = f"the routine cannot be deployed: {exc.message}"
                validation.report.error(Code.LIMIT_EXCEEDED, exc.path, message)
    return validation.report


def _first_merge(info: NodeInfo) -> bool:
    """A merge with mode "first" (statemachines.machine.race)."""
    return info.plugin.name == "merge" and info.parameters.get("mode") == "first"


def _check_races(topology: Topology, raced: set[str]) -> None:
    """Every merge with mode "first" became a race (statemachines.machine.race): a Parallel
    catching its error. Not when its branches never ran side by side (one after the other,
    their branches crossing), which would silently wait for all of them."""
    for node_id, info in topology.infos.items():
        first = _first_merge(info) and not info.node.disabled
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
    # An Express machine writes its own execution records (statemachines/machine/records.py).
    options = replace(options, execution_type=choice.type)
    build, machine = build_machine(validation.topology, routine.variables, options)
    _check_races(validation.topology, build.races)
    machine.comment = f"Routine '{routine.name}' ({options.routine_id}), compiled by routines"
    machine.timeout_seconds = routine.timeout_seconds
    definition = render(machine)
    # The validator's series-parallel warning is a guess; the build knows what it did.
    warnings = [w for w in validation.report.warnings if w.code != Warn.NOT_SERIES_PARALLEL.value]
    warnings += list(build.warnings.values())
    report = build_report(
        routine_body(json.loads(definition)),  # not an Express machine's record writes
        len(definition.encode()),
        build.state_nodes,
        warnings,
        options.function_arn(EVALUATOR),
        build_routes(build),
        build.decided,
        choice,
        {node_id: info.plugin.name for node_id, info in validation.topology.infos.items()},
    )
    return Compiled(definition, report)
