"""The local runtime: the whole product in-process, on moto's AWS."""

from functions.local.regions import shared_session

with shared_session():  # moto's interpreter imports its EC2 model: see regions.py
    from functions.local.environment import LocalAWS
    from functions.local.runner import ExecutionResult, run_routine

__all__ = ["ExecutionResult", "LocalAWS", "run_routine"]
