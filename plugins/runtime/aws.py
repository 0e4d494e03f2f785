"""boto3 clients and resource names, created once per Lambda container.

Clients are built lazily and cached per process (the expensive part of a cold start),
and always through ``boto3.client`` so the same code runs on AWS and under moto.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from infra.names import APPROVALS_TABLE as APPROVALS
from infra.names import (
    ENV_APPROVALS_TABLE,
    ENV_NODE_LOGS_TABLE,
    ENV_PAYLOAD_BUCKET,
    ENV_PLUGIN_SECRET_PREFIX,
    NODE_LOGS_TABLE,
    PAYLOAD_BUCKET,
    PAYLOAD_PREFIX,
)


@cache
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (the local runtime starts a fresh moto per run)."""
    client.cache_clear()


def node_logs_table() -> str:
    return os.environ.get(ENV_NODE_LOGS_TABLE, NODE_LOGS_TABLE.name)


def approvals_table() -> str:
    return os.environ.get(ENV_APPROVALS_TABLE, APPROVALS.name)


def payload_bucket() -> str:
    return os.environ.get(ENV_PAYLOAD_BUCKET, PAYLOAD_BUCKET)


def payload_key(path: str) -> str:
    """Where a payload is stored in the bucket: under the prefix the deployed IAM policies
    allow (plugins and state machines may read and write nothing else)."""
    return f"{PAYLOAD_PREFIX}{path}"


def secret_id(name: str) -> str:
    """The Secrets Manager name of ``secrets.<name>``: deployed, under the stage's plugin
    secret prefix (the only secrets plugin functions may read); locally, the name itself."""
    return f"{os.environ.get(ENV_PLUGIN_SECRET_PREFIX, '')}{name}"
