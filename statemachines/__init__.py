"""Routines → Step Functions: the document model, validation, analysis and compilation.

The error tree and problems live in :mod:`contract`, below every package; they are
re-exported here for callers that validate and compile.
"""

from contract.errors import InvalidRoutineError, RoutinesError
from contract.problems import Code, Problem, Report, Warn
from statemachines.cost import PRICES
from statemachines.express import ExecutionChoice, choose, express_reasons
from statemachines.model import Connection, Node, Routine
from statemachines.validator import validate_document, validate_routine

__all__ = [
    "PRICES",
    "Code",
    "Connection",
    "ExecutionChoice",
    "InvalidRoutineError",
    "Node",
    "Problem",
    "Report",
    "Routine",
    "RoutinesError",
    "Warn",
    "choose",
    "express_reasons",
    "validate_document",
    "validate_routine",
]
