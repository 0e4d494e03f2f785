"""The payload budget: the one rule that keeps every state payload under 256 KiB.

Step Functions fails an execution with ``States.DataLimitExceeded`` (which no ``Catch``
can route) when a state's input, output or result exceeds 256 KiB. The compiler knows how
many outputs a routine keeps in its document at once (its document slots: outputs never
live together share one, see statemachines.slots) and how many copies of the document a
Parallel's raw result holds (its branch count), so it gives every slot the same inline
budget::

    inline = ((LIMIT - RESERVE) // width - TRIGGER_INLINE) // slots

A Lambda whose output is larger stores it in S3 and returns a reference no larger than
the budget, keeping inline the few values native states of the routine read. The trigger
has its own fixed slot, applied by whoever starts the execution.
"""

from __future__ import annotations

from contract.errors import CompileError
from contract.limits import TRIGGER_INLINE_BYTES

PAYLOAD_LIMIT = 256 * 1024  # Step Functions' limit on any state's input, output or result
RESERVE_BYTES = 24 * 1024  # keys, loop item and index, execution context, error records
MIN_INLINE_BYTES = 512  # a reference and a few kept values must fit in a slot
LOOP_RESULT_BYTES = 256  # per-iteration results: a loop's result list holds one per item


def inline_bytes(slots: int, width: int) -> int:
    """The inline budget of each output slot, for ``slots`` stored outputs and Parallel
    states of at most ``width`` branches; a routine that cannot fit is refused."""
    share = (PAYLOAD_LIMIT - RESERVE_BYTES) // max(1, width) - TRIGGER_INLINE_BYTES
    budget = share // max(1, slots)
    if budget < MIN_INLINE_BYTES:
        raise CompileError(
            f"the routine keeps {slots} node outputs in its state document at once"
            + (f" and runs {width} branches in parallel" if width > 1 else "")
            + f": each would get {budget} bytes, less than the {MIN_INLINE_BYTES} a reference "
            "to S3 needs; read fewer node outputs after the same point, or join branches sooner"
        )
    return budget


def loop_result_bytes(budget: int) -> int:
    """The inline budget of a loop iteration's result (the Map collects one per item)."""
    return min(budget, LOOP_RESULT_BYTES)


def chunk_items(budget: int) -> int:
    """How many items a loop runs per Map when its results are read on: their results,
    each kept within ``loop_result_bytes``, fill at most one budget."""
    return max(1, budget // (loop_result_bytes(budget) + 1))


__all__ = [
    "LOOP_RESULT_BYTES",
    "MIN_INLINE_BYTES",
    "PAYLOAD_LIMIT",
    "RESERVE_BYTES",
    "chunk_items",
    "inline_bytes",
    "loop_result_bytes",
]
