"""The contract every package shares (DESIGN §2-§4): the error tree, problems and the
paths to them, the expression and condition language, the document's limits, and the
names of the resources the deployed stack and the local runtime agree on.

It imports nothing of the project: ``plugins`` (and every plugin Lambda), ``statemachines``,
``functions`` and ``infra`` build on it, and a test (tests/test_layers.py) fails on any
import that goes the other way.
"""

from contract.errors import (
    CompileError,
    InvalidRoutineError,
    PluginDefinitionError,
    RoutinesError,
    UnknownPluginError,
)
from contract.problems import Code, Problem, Report, Warn, join_path, node_path

__all__ = [
    "Code",
    "CompileError",
    "InvalidRoutineError",
    "PluginDefinitionError",
    "Problem",
    "Report",
    "RoutinesError",
    "UnknownPluginError",
    "Warn",
    "join_path",
    "node_path",
]
