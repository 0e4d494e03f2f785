"""The idempotency token of a plugin attempt (issue #28).

Express machines run a node at least once: the same node may run twice for one attempt,
and a node's ``retry`` runs it again after a failure that may have had its effect. Both
must reach the receiver with the same token, so it can drop the repeat; a different node,
loop iteration or execution must not. The token is therefore made of the execution id,
the node id and the loop iteration — never of the attempt number, which a retry changes.

It is a SHA-256 hex digest (64 characters of [0-9a-f]) rather than the readable parts: an
execution id is an ARN of up to 2,048 characters, and the receivers' limits are tight —
SQS and SNS deduplication ids take at most 128 characters, SES tag values 256 of
[A-Za-z0-9_-], this product's own webhooks 255 printable characters.
"""

from __future__ import annotations

import hashlib
import json

from plugins.runtime.event import Invocation


def idempotency_key(invocation: Invocation) -> str:
    """The same for every attempt of one node in one iteration of one execution."""
    # JSON keeps the parts apart whatever characters they hold (no separator to collide).
    parts = [invocation.execution.id, invocation.node, invocation.iteration or ""]
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()
