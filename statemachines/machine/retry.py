"""The ``Retry`` of a Task: AWS's recommended retry of transient Lambda errors, a longer
wait for a throttled invocation, then the node's own policy (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from plugins.sdk.errors import LAMBDA_THROTTLED, LAMBDA_TRANSIENT, NOT_RETRYABLE
from statemachines.model import Node

# A throttled invocation waits for a reserved-concurrency slot: up to ~5 minutes over 8
# jittered retries (2 s doubling, capped at 60 s) before the error reaches the node.
THROTTLED_RETRY = {
    "ErrorEquals": [LAMBDA_THROTTLED],
    "IntervalSeconds": 2,
    "MaxAttempts": 8,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}


def retriers(node: Node | None, *, lambda_task: bool) -> list[dict[str, Any]]:
    """AWS's transient-Lambda retry, then the node's own policy for errors worth retrying."""
    out: list[dict[str, Any]] = []
    if lambda_task:
        out.append(
            {
                "ErrorEquals": list(LAMBDA_TRANSIENT),
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 2,
                "JitterStrategy": "FULL",
            }
        )
        out.append(dict(THROTTLED_RETRY))
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


__all__ = ["THROTTLED_RETRY", "retriers"]
