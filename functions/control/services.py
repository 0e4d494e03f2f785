"""What the control plane works with, handed to it by its caller: the two stores and the
Step Functions client. The API builds one per container (functions/api/context.py), from
the stores' constructors and the one client factory (plugins.runtime.aws.client, which
moto intercepts locally); nothing under functions/control builds a store or a client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.store import ExecutionStore, RoutineStore


@dataclass(frozen=True, slots=True)
class Services:
    routines: RoutineStore
    executions: ExecutionStore
    stepfunctions: Any  # a boto3 Step Functions client
