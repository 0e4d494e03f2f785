"""Large node outputs go to S3; the document carries a small reference instead, so no
routine dies of Step Functions' 256 KiB payload limit. Downstream Lambdas resolve
references transparently when they build their expression context."""

from __future__ import annotations

import json
import os
from typing import Any

from plugins.runtime.aws import client, payload_bucket

REF = "$offloaded"  # {"$offloaded": "s3://bucket/key", "bytes": n}
DEFAULT_THRESHOLD = 32 * 1024


def threshold() -> int:
    return int(os.environ.get("ROUTINES_OFFLOAD_BYTES", DEFAULT_THRESHOLD))


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def offload_if_large(value: Any, key: str) -> Any:
    """``value`` itself, or a reference to it in S3 when its JSON exceeds the threshold."""
    body = encode(value)
    if len(body) <= threshold():
        return value
    bucket = payload_bucket()
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return {REF: f"s3://{bucket}/{key}", "bytes": len(body)}


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(REF), str) and set(value) <= {REF, "bytes"}


def load(value: Any) -> Any:
    """The value behind a reference (anything else is returned as is)."""
    if not is_reference(value):
        return value
    bucket, _, key = value[REF].removeprefix("s3://").partition("/")
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)
