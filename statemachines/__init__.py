"""Routines → Step Functions: the document model, validation, analysis and compilation.

Exports load lazily so that a plugin Lambda importing one small module (expressions,
errors) does not pay for the validator or compiler at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statemachines.cost import PRICES
    from statemachines.errors import InvalidRoutineError, RoutinesError
    from statemachines.express import ExecutionChoice, choose, express_reasons
    from statemachines.model import Connection, Node, Routine
    from statemachines.problems import Code, Problem, Report, Warn
    from statemachines.validator import validate_document, validate_routine

_EXPORTS = {
    "Code": "statemachines.problems",
    "Problem": "statemachines.problems",
    "Report": "statemachines.problems",
    "Warn": "statemachines.problems",
    "RoutinesError": "statemachines.errors",
    "InvalidRoutineError": "statemachines.errors",
    "Routine": "statemachines.model",
    "Node": "statemachines.model",
    "Connection": "statemachines.model",
    "validate_document": "statemachines.validator",
    "validate_routine": "statemachines.validator",
    "ExecutionChoice": "statemachines.express",
    "choose": "statemachines.express",
    "express_reasons": "statemachines.express",
    "PRICES": "statemachines.cost",
}
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'statemachines' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
