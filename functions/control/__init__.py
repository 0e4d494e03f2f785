"""The control plane's logic behind the API's routes: saving routines, re-running and
stopping executions, an execution's events (``events.py``). A route parses its request,
calls one function here and answers; stores and settings come from the caller (the API
builds them once, functions/api/context.py), AWS clients from the one cached factory
(plugins.runtime.aws.client, which moto intercepts locally). Errors are classes of the tree
(:mod:`contract.errors`) that the API maps to statuses in one place
(functions/api/errors.py)."""

from functions.control.executions import NotRerunnable, NotRunning, NotStoppable, rerun, stop
from functions.control.routines import create, update

__all__ = ["NotRerunnable", "NotRunning", "NotStoppable", "create", "rerun", "stop", "update"]
