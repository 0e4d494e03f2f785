"""DynamoDB's per-item atomicity on moto.

On AWS a conditional write is atomic: two writers racing on one item cannot both see
"absent" and both write, and a reader never sees an item half-written. moto checks the
condition and then writes, and builds items in place, with no lock, so threads (webhook
calls, the recorder, plugin Lambdas run by Step Functions' threads) can interleave. While
installed, every DynamoDB operation on moto's backend holds one process-wide lock — what
the idempotency table and the execution records rely on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from functions.local.fastpaths.guard import Patch, Seam

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
READS = ("get_item", "query", "scan")

_lock = threading.RLock()


def _locked(name: str) -> Callable[..., Any]:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return SEAM.originals[name](self, *args, **kwargs)

    return functools.wraps(getattr(DynamoDBBackend, name))(locked)


def _patches() -> list[Patch]:
    return [(name, DynamoDBBackend, name, _locked(name)) for name in (*WRITES, *READS)]


SEAM = Seam(
    "atomic-dynamodb",
    "one lock around every DynamoDB operation, as AWS makes each item's writes atomic",
    _patches,
    parameters=dict.fromkeys((*WRITES, *READS)),  # wrappers: any parameters pass through
)
install = SEAM.install
uninstall = SEAM.uninstall

__all__ = ["install", "uninstall"]
