"""The local runtime: the whole product in-process, on moto's AWS."""

from functions.local.fastpaths import fast_paths
from functions.local.fastpaths.imports import lean_imports

with lean_imports():  # see fastpaths/imports.py
    fast_paths()  # imports moto's interpreter, which the fast paths replace parts of
    from functions.local.environment import LocalAWS
    from functions.local.runner import ExecutionResult, run_routine

__all__ = ["ExecutionResult", "LocalAWS", "run_routine"]
