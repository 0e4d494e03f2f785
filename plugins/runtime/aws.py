"""boto3 clients and resource names, created once per Lambda container.

Clients are built lazily and cached per process (the expensive part of a cold start),
and always through ``boto3.client`` so the same code runs on AWS and under moto.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any
from urllib.parse import urlparse

import boto3

from contract.names import APPROVALS_TABLE as APPROVALS
from contract.names import (
    ENV_APPROVALS_TABLE,
    ENV_NODE_LOGS_TABLE,
    ENV_PAYLOAD_BUCKET,
    ENV_PLUGIN_SECRET_PREFIX,
    NODE_LOGS_TABLE,
    PAYLOAD_BUCKET,
    PAYLOAD_PREFIX,
)

_REGIONAL_HOST = re.compile(r"^[a-z0-9-]+\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$")


@cache
def client(service: str, region: str | None = None) -> Any:
    """A client in the function's region, or in ``region`` (a resource named by ARN or
    URL is reached through a client of its own region, as AWS requires)."""
    if region is None:
        return boto3.client(service)  # type: ignore[call-overload]
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def region_of(name: str) -> str | None:
    """The region an ARN (``arn:aws:sns:eu-west-1:…``) or a regional endpoint URL
    (``https://sqs.eu-central-1.amazonaws.com/…``) names; None for plain names."""
    if name.startswith("arn:"):
        parts = name.split(":")
        return (parts[3] or None) if len(parts) > 3 else None
    match = _REGIONAL_HOST.match(urlparse(name).hostname or "") if "://" in name else None
    return match.group(1) if match else None


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
