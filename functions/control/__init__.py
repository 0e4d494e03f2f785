"""The control plane's logic behind the API's routes: saving routines, re-running and
stopping executions. A route parses its request, calls one function here and answers;
stores, settings and AWS clients come from the caller (the API builds them once,
functions/api/context.py). Errors are classes of the tree (:mod:`contract.errors`) that
the API maps to statuses in one place (functions/api/errors.py)."""

from functions.control.executions import NotRerunnable, NotRunning, NotStoppable, rerun, stop
from functions.control.routines import create, update

__all__ = ["NotRerunnable", "NotRunning", "NotStoppable", "create", "rerun", "stop", "update"]
