"""The control plane's logic behind the API's routes: saving routines; reading an
execution, deciding its approvals, re-running and stopping it; an execution's events
(``events.py``). A route parses its request, calls one function here and answers. What
these functions work with is handed to them: the stores and the Step Functions client as
one :class:`Services` (``services.py``), and the settings; the API builds both once per
container (functions/api/context.py), and nothing here builds a store or an AWS client.
Errors are classes of the tree (:mod:`contract.errors`) that the API maps to statuses in
one place (functions/api/errors.py)."""

from functions.control.executions import (
    NotRerunnable,
    NotRunning,
    NotStoppable,
    decide,
    describe,
    rerun,
    stop,
)
from functions.control.routines import create, update
from functions.control.services import Services

__all__ = [
    "NotRerunnable",
    "NotRunning",
    "NotStoppable",
    "Services",
    "create",
    "decide",
    "describe",
    "rerun",
    "stop",
    "update",
]
