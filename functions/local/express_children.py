"""Distributed loops whose child executions are Express, run the way moto can.

The compiler gives a Standard routine's distributed loop Express child executions when its
body is eligible (statemachines/machine/records.py: ``"ProcessorConfig": {"Mode":
"DISTRIBUTED", "ExecutionType": "EXPRESS"}``). moto's ASL parser accepts only STANDARD
there (checked on moto 5.2.6: ``CreateStateMachine`` fails with ``InvalidDefinition``,
"mismatched input '"EXPRESS"' expecting '"STANDARD"'"). While installed, moto's backend
validates, and its execution worker parses, such a processor as STANDARD (the parser
itself is left alone): the stored definition stays the one deployed on AWS (reads of it
compare equal), and the children run as Standard ones — the same states, the same
results; only the billing model and the 5-minute limit differ, which the compile report
says (``execution.localChildren``).
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from functions.local.fastpaths.guard import Patch, Seam

EXPRESS_CHILDREN = '"ExecutionType":"EXPRESS"'
AS_MOTO_RUNS_THEM = '"ExecutionType":"STANDARD"'


def as_moto_runs_it(definition: str) -> str:
    """The definition with Express child executions read as Standard ones. The compiler
    writes ProcessorConfig compactly and nothing else of a definition holds this text
    (every other string in it is quoted JSON: a quote inside is escaped)."""
    return definition.replace(EXPRESS_CHILDREN, AS_MOTO_RUNS_THEM)


def _validate_definition(definition: str) -> Any:
    return SEAM.originals["validate"].__func__(as_moto_runs_it(definition))


def _get_evaluation_entrypoint(self: Any) -> Any:
    # moto's own body, reading the definition as moto can run it.
    definition = self._evaluation_details.state_machine_details.definition
    return asl_parser.AmazonStateLanguageParser.parse(as_moto_runs_it(definition))[0]


def _patches() -> list[Patch]:
    return [
        ("validate", StepFunctionsParserBackend, "_validate_definition", staticmethod(_validate_definition)),
        ("entrypoint", ExecutionWorker, "_get_evaluation_entrypoint", _get_evaluation_entrypoint),
    ]


SEAM = Seam(
    "express-map-children",
    "a distributed Map with Express child executions runs them as Standard ones",
    _patches,
    parameters={"validate": ("definition",), "entrypoint": ("self",)},
)
install = SEAM.install
uninstall = SEAM.uninstall


__all__ = ["as_moto_runs_it", "install", "uninstall"]
