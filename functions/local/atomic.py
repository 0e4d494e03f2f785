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

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
READS = ("get_item", "query", "scan")

_lock = threading.RLock()
_originals: dict[str, Callable[..., Any]] = {}
_users = 0  # nested local AWS instances share the patch


def install() -> None:
    global _users
    _users += 1
    if _originals:
        return
    for name in (*WRITES, *READS):
        original = getattr(DynamoDBBackend, name)
        _originals[name] = original

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with _lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


def uninstall() -> None:
    global _users
    _users = max(0, _users - 1)
    if _users:
        return
    for name, original in _originals.items():
        setattr(DynamoDBBackend, name, original)
    _originals.clear()
