"""What a routine's executions cost at list prices, as Standard and as Express machines.

The prices are in one table, :data:`PRICES`, with the date they were read and where.
Everything else follows from what the compile report counts on the machine's paths
(statemachines.report): state transitions, Lambda invocations and the memory of the
functions invoked, and the seconds of literal Wait states. Figures are bounds over the
paths (``min``: the cheapest path, ``max``: the costliest; retries not counted), per
execution; a loop's iterations are given per item (``perLoopItem``), since their number
is known only at run time.

- **Standard** bills every state transition (a distributed loop's child executions are
  Standard executions that bill theirs: per item, like an inline loop's iterations).
- **Express** bills one request per execution plus its duration x its memory (rounded
  up to 100 ms and to 64 MB chunks). The duration is an estimate: each Lambda
  invocation takes :data:`ASSUMED_LAMBDA_MS`, waits their seconds, native states nothing.
- **Lambda** (both): one request per invocation plus :data:`ASSUMED_LAMBDA_MS` x the
  function's memory (arm64, as deployed: infra/runtime.py).

Free tiers are ignored; the first (most expensive) tier of tiered prices is used.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Prices:
    """US dollars, us-east-1, on-demand list prices."""

    read: str  # the date these were read from the sources
    region: str
    sources: tuple[str, ...]
    standard_transition: float  # Step Functions Standard, per state transition
    express_request: float  # Step Functions Express, per execution started
    express_gb_second: float  # Express duration, first tier (first 1,000 GB-hours a month)
    express_billing_ms: int  # Express duration is rounded up to this
    express_memory_chunk_mb: int  # Express memory is billed in chunks of this
    express_base_memory_mb: int  # an execution's memory: this + definition + payloads
    lambda_request: float
    lambda_gb_second: float  # arm64, first tier (first 7.5 billion GB-seconds a month)


PRICES = Prices(
    read="2026-12-06",
    region="us-east-1",
    sources=(
        "https://aws.amazon.com/step-functions/pricing/",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    standard_transition=0.025 / 1000,  # $0.025 per 1,000 state transitions
    express_request=1.00 / 1e6,  # $1.00 per million requests
    express_gb_second=0.06 / 3600,  # $0.06 per GB-hour = $0.00001667 per GB-second
    express_billing_ms=100,
    express_memory_chunk_mb=64,
    express_base_memory_mb=50,  # "50 MB + definition size + execution data size x Map/Parallel steps"
    lambda_request=0.20 / 1e6,  # $0.20 per million requests
    lambda_gb_second=0.0000133334,  # arm64
)

# Assumed billed duration of one plugin invocation (warm; a cold start costs more).
ASSUMED_LAMBDA_MS = 150
# Memory of the deployed functions (infra/plugin_functions.py: MEMORY_MB, default 512 MB;
# the code node's function has room for its child process). A test keeps them equal.
LAMBDA_MEMORY_MB = 512
LAMBDA_MEMORY_MB_BY_PLUGIN = {"code": 3008 + 512}
PER = 1_000_000  # prices are given per million executions (or loop items)


def lambda_memory_mb(plugin: str) -> int:
    return LAMBDA_MEMORY_MB_BY_PLUGIN.get(plugin, LAMBDA_MEMORY_MB)


@dataclass(frozen=True, slots=True)
class PathCount:
    """What one path through a machine (or a loop iteration) enters and invokes."""

    transitions: int = 0
    lambdas: int = 0
    lambda_mb: int = 0  # the memory of every function invoked, summed
    wait_seconds: float = 0.0  # literal Wait states (a computed wait counts nothing)

    def __add__(self, other: PathCount) -> PathCount:
        return self._each(other, operator.add)

    def least(self, other: PathCount) -> PathCount:
        """Each count's smaller value (the bounds of a path may come from different paths)."""
        return self._each(other, min)

    def most(self, other: PathCount) -> PathCount:
        return self._each(other, max)

    def _each(self, other: PathCount, combine: Callable[[Any, Any], Any]) -> PathCount:
        """Each count of this path combined with the same count of ``other``."""
        return PathCount(
            combine(self.transitions, other.transitions),
            combine(self.lambdas, other.lambdas),
            combine(self.lambda_mb, other.lambda_mb),
            combine(self.wait_seconds, other.wait_seconds),
        )


@dataclass(frozen=True, slots=True)
class Span:
    """The fewest and most of everything counted, over every path."""

    low: PathCount
    high: PathCount


def lambda_cost(count: PathCount, prices: Prices = PRICES) -> float:
    gb_seconds = count.lambda_mb / 1024 * ASSUMED_LAMBDA_MS / 1000
    return count.lambdas * prices.lambda_request + gb_seconds * prices.lambda_gb_second


def standard_cost(count: PathCount, prices: Prices = PRICES) -> float:
    """Step Functions' part of a Standard execution (or iteration): its transitions."""
    return count.transitions * prices.standard_transition


def express_duration_ms(count: PathCount) -> float:
    return count.lambdas * ASSUMED_LAMBDA_MS + count.wait_seconds * 1000


def express_memory_mb(definition_bytes: int, prices: Prices = PRICES) -> int:
    """The billed memory of an execution: the base and the definition, in whole chunks
    (payloads held by Map and Parallel states are not known at compile time)."""
    used = prices.express_base_memory_mb + definition_bytes / (1024 * 1024)
    return math.ceil(used / prices.express_memory_chunk_mb) * prices.express_memory_chunk_mb


def express_cost(count: PathCount, memory_mb: int, prices: Prices = PRICES, *, request: bool = True) -> float:
    """Step Functions' part of an Express execution: its request and its duration
    (``request=False``: an inline loop iteration, which only lengthens the execution)."""
    billed_ms = math.ceil(express_duration_ms(count) / prices.express_billing_ms) * prices.express_billing_ms
    if request:
        billed_ms = max(billed_ms, prices.express_billing_ms)
    duration = billed_ms / 1000 * memory_mb / 1024 * prices.express_gb_second
    return (prices.express_request if request else 0.0) + duration


def _bounds(low: float, high: float) -> dict[str, float]:
    return {"min": round(low * PER, 4), "max": round(high * PER, 4)}


def _counts(span: Span, field: str) -> dict[str, Any]:
    return {"min": getattr(span.low, field), "max": getattr(span.high, field)}


def cost_report(
    chosen: str,
    span: Span,
    loops: dict[str, tuple[Span, str | None]],
    definition_bytes: int,
    prices: Prices = PRICES,
) -> dict[str, Any]:
    """The report's ``cost``: both machine types, per execution and per loop item, in
    dollars per million. ``loops``: node → (one iteration, the child execution type of a
    distributed loop or None for an inline one)."""
    memory = express_memory_mb(definition_bytes, prices)

    def standard(count: PathCount) -> float:
        return standard_cost(count, prices) + lambda_cost(count, prices)

    def express(count: PathCount) -> float:
        return express_cost(count, memory, prices) + lambda_cost(count, prices)

    per_item: dict[str, Any] = {}
    for node, (item, child) in loops.items():
        per_item[node] = _loop_item(item, child, memory, prices)
    return {
        "chosen": chosen,
        "currency": "USD",
        "region": prices.region,
        "pricesRead": prices.read,
        "sources": list(prices.sources),
        "assumptions": {"lambdaMs": ASSUMED_LAMBDA_MS, "expressMemoryMb": memory},
        "lambdaInvocations": _counts(span, "lambdas"),
        "lambdaPerMillion": _bounds(lambda_cost(span.low, prices), lambda_cost(span.high, prices)),
        "standard": {
            "transitions": _counts(span, "transitions"),
            "perMillion": _bounds(standard(span.low), standard(span.high)),
        },
        "express": {
            "requests": 1,
            "durationMs": {"min": express_duration_ms(span.low), "max": express_duration_ms(span.high)},
            "perMillion": _bounds(express(span.low), express(span.high)),
        },
        "perLoopItem": per_item,
    }


def _loop_item(item: Span, child: str | None, memory: int, prices: Prices) -> dict[str, Any]:
    """One loop item, per million items. An inline iteration is part of its execution:
    transitions under Standard, duration under Express. A distributed loop's item is a
    child execution of its own type, whatever the parent's."""

    def inline_express(count: PathCount) -> float:
        return express_cost(count, memory, prices, request=False) + lambda_cost(count, prices)

    def standard(count: PathCount) -> float:
        return standard_cost(count, prices) + lambda_cost(count, prices)

    def express_child(count: PathCount) -> float:
        return express_cost(count, memory, prices) + lambda_cost(count, prices)

    out: dict[str, Any] = {
        "mode": "distributed" if child else "inline",
        "transitions": _counts(item, "transitions"),
        "lambdaInvocations": _counts(item, "lambdas"),
    }
    if child is None:
        out["standard"] = {"perMillion": _bounds(standard(item.low), standard(item.high))}
        out["express"] = {"perMillion": _bounds(inline_express(item.low), inline_express(item.high))}
        return out
    child_cost = express_child if child == "EXPRESS" else standard
    both = {"perMillion": _bounds(child_cost(item.low), child_cost(item.high))}
    out["childExecutions"] = {"type": child.lower(), "perItem": 1}
    out["standard"] = dict(both)
    out["express"] = dict(both)
    return out


__all__ = [
    "ASSUMED_LAMBDA_MS",
    "LAMBDA_MEMORY_MB",
    "LAMBDA_MEMORY_MB_BY_PLUGIN",
    "PER",
    "PRICES",
    "PathCount",
    "Prices",
    "Span",
    "cost_report",
    "express_cost",
    "express_duration_ms",
    "express_memory_mb",
    "lambda_cost",
    "lambda_memory_mb",
    "standard_cost",
]
