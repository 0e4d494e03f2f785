"""The local runtime: the whole product in-process, on moto's AWS."""

from functions.local.imports import shared_models, shared_session, without_batch_package

shared_models()
with shared_session(), without_batch_package():  # see imports.py
    from functions.local.environment import LocalAWS
    from functions.local.runner import ExecutionResult, run_routine

__all__ = ["ExecutionResult", "LocalAWS", "run_routine"]
