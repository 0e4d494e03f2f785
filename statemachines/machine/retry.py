"""The ``Retry`` of a Task: one retrier for the errors of invoking a Lambda, then the node's
own policy (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from plugins.sdk.errors import LAMBDA_THROTTLED, LAMBDA_TRANSIENT, NOT_RETRYABLE
from statemachines.model import Node

# AWS's recommended retry of transient Lambda errors is 6 retries from 2 s, doubling
# (docs: "Handle Lambda service exceptions"). A throttled invocation waits longer: deployed
# plugin functions have reserved concurrency (infra), so a wide distributed Map waits for a
# slot instead of failing. One retrier does both — 8 jittered retries from 2 s, doubling,
# capped at 60 s (about 4 minutes before jitter) — because a Task's Retry is the largest
# part of a compiled machine (two retriers were ~30% of a 1,000-node routine's bytes):
# every retry AWS's retrier makes, this one makes, as soon or sooner.
LAMBDA_ERRORS = (*LAMBDA_TRANSIENT, LAMBDA_THROTTLED)
LAMBDA_RETRY: dict[str, Any] = {
    "ErrorEquals": list(LAMBDA_ERRORS),
    "IntervalSeconds": 2,
    "MaxAttempts": 8,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}


def retriers(node: Node | None, *, lambda_task: bool) -> list[dict[str, Any]]:
    """The retry of a Lambda's invocation errors, then the node's own policy for errors
    worth retrying."""
    out: list[dict[str, Any]] = []
    if lambda_task:
        out.append({**LAMBDA_RETRY, "ErrorEquals": list(LAMBDA_ERRORS)})
    policy = node.retry if node is not None else None
    if policy is not None and policy.max_attempts > 1:
        out.append({"ErrorEquals": list(NOT_RETRYABLE), "MaxAttempts": 0})
        retrier: dict[str, Any] = {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": policy.interval_seconds,
            "MaxAttempts": policy.max_attempts - 1,  # ours counts the first attempt; ASL's does not
            "BackoffRate": policy.backoff_rate,
        }
        if policy.max_delay_seconds is not None:
            retrier["MaxDelaySeconds"] = policy.max_delay_seconds
        if policy.jitter:
            retrier["JitterStrategy"] = "FULL"
        out.append(retrier)
    return out


__all__ = ["LAMBDA_RETRY", "retriers"]
