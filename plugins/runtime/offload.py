"""Large values go to S3; the workflow variable carries a small reference instead, so no
routine dies of Step Functions' 256 KiB limits (a variable's room, the Task's
``inlineBytes``, is planned by the compiler: statemachines/machine/walk.py).

A reference is ``{"$offloaded": "s3://bucket/key", "$bytes": n, ...kept}``: besides the
address it keeps, at their own JSON paths, the small values native expressions of the
routine read, which the compiler passes to the Task as ``keep``. When they do not fit its
room, the reference says ``"__partial"`` (the top-level fields left out) and the machine
asks a Lambda instead, which loads the whole value. Downstream Lambdas resolve references
transparently when they build their context.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contract.limits import TRIGGER_INLINE_BYTES
from contract.names import OFFLOADED, PARTIAL, STORED_RESULTS
from plugins.runtime.aws import client, payload_bucket, payload_key
from plugins.runtime.errors import UserError

REF = OFFLOADED
SIZE = "$bytes"
DEFAULT_THRESHOLD = 32 * 1024  # only for events without inlineBytes
Path = Sequence[str | int]


def threshold() -> int:
    return int(os.environ.get("ROUTINES_OFFLOAD_BYTES", DEFAULT_THRESHOLD))


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def wire_size(value: Any) -> int:
    """How large ``value`` is as a Lambda's result reaches Step Functions: the Python
    runtime writes it with ``json.dumps``' own separators (", ", ": "; awslambdaric's
    to_json), and moto measures it so too, ASCII escapes included. The widest of the ways
    it is written: an output is measured so before it is kept inline, or a value of many
    small fields compactly under the room failed with States.DataLimitExceeded."""
    return len(json.dumps(value, default=str).encode())


def offload_if_large(value: Any, key: str, limit: int | None = None, keep: Sequence[Path] = ()) -> Any:
    """``value`` itself, or a reference to it in S3 when its JSON exceeds ``limit``."""
    limit = threshold() if limit is None else limit
    if wire_size(value) <= limit:
        return value
    reference = reference_keeping(value, key, limit, keep)
    if wire_size(reference) > limit:
        # Only a loop's result list shares the room so finely (a variable's room divided
        # by the item count): even a reference per item would not fit. (Below SPILL_SHARE
        # such results are stored apart instead: plugins.runtime.handler.)
        raise UserError(
            f"the output is {reference[SIZE]:,} bytes and its share of the loop's results is "
            f"{limit:,} bytes, too little even for a reference to it in S3: loop over fewer items "
            "at once, or return smaller results"
        )
    return reference


def reference_keeping(value: Any, key: str, limit: int, keep: Sequence[Path] = ()) -> dict[str, Any]:
    """Write ``value`` to S3 under ``key``; the reference to it, keeping inline the values
    at ``keep`` that fit in ``limit`` bytes with it (``__partial``: the fields left out)."""
    reference = stored_reference(value, key)
    # Smallest values first, so a huge one left out does not take the others with it.
    # Room left for the kept values, after the reference and the list of fields left out.
    firsts = dict.fromkeys(sorted({str(p[0]) for p in keep if p}), True)
    room = limit - wire_size(reference) - wire_size({PARTIAL: firsts})
    chosen: list[Path] = []
    missing = [p for p in keep if p and kept_values(value, [p]) is None]  # absent: nothing to keep
    for path in sorted(keep, key=lambda p: wire_size(kept_values(value, [p]))):
        if path in missing:
            continue
        kept = kept_values(value, [*chosen, path])
        if isinstance(kept, dict) and wire_size(kept) <= room:
            chosen.append(path)
    kept = kept_values(value, chosen)
    if isinstance(kept, dict):
        reference.update({k: v for k, v in kept.items() if k not in (REF, SIZE, PARTIAL)})
    left_out = [p for p in keep if p not in chosen and p not in missing]
    if left_out:
        # Native states must ask a Lambda instead for what they read under these
        # top-level fields: {field: true}. When the value is not an object or is read
        # whole, every field read is marked (and the marker's presence says "not whole").
        whole = not isinstance(value, dict) or any(not p for p in left_out)
        reference[PARTIAL] = dict.fromkeys(
            sorted({str(p[0]) for p in (keep if whole else left_out) if p}), True
        )
    return reference


def stored_reference(value: Any, key: str) -> dict[str, Any]:
    """Write ``value`` to S3 under ``key``; the reference to it, nothing kept."""
    body = encode(value)
    bucket = payload_bucket()
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return {REF: f"s3://{bucket}/{key}", SIZE: len(body)}


def kept_values(value: Any, keep: Sequence[Path]) -> Any:
    """The part of ``value`` made of the values at ``keep`` (each at its own path);
    missing paths are left out, as a native state would find them missing anyway."""
    out: Any = None
    for path in sorted((list(p) for p in keep), key=len):
        found, current = True, value
        for step in path:
            found = _has(current, step)
            if not found:
                break
            current = current[step]
        if found:
            out = _place(out, path, current)
    return out


def _has(value: Any, step: str | int) -> bool:
    if isinstance(step, int):
        return isinstance(value, list) and 0 <= step < len(value)
    return isinstance(value, dict) and step in value


def _place(into: Any, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        items = into if isinstance(into, list) else []
        items += [None] * (step + 1 - len(items))
        items[step] = _place(items[step], rest, value)
        return items
    obj = into if isinstance(into, dict) else {}
    if step in obj and not rest:
        return obj
    obj[step] = _place(obj.get(step), rest, value)
    return obj


def result_key(execution_id: str, node: str, run: str, iteration: str) -> str:
    """Where a loop iteration's result stored apart is (its share of the loop's list too
    small: plugins.runtime.handler); :func:`gathered` reads them from there. ``run``: the
    loop run's random name, so that data cannot name another execution's results."""
    return payload_key(f"{execution_id.rsplit(':', 1)[-1]}/{node}/results/{run}/{iteration}.json")


def load_stored(keys: Sequence[str], threads: int = 16) -> list[tuple[bool, Any]]:
    """For each key, (True, the JSON value :func:`store` wrote under it) or (False, None)
    when there is none: read at once, ``threads`` at a time, by one client (a loop's
    results stored apart may be tens of thousands)."""
    s3 = client("s3")
    bucket = payload_bucket()

    def read(key: str) -> tuple[bool, Any]:
        try:
            return True, json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return False, None

    if len(keys) <= 1:
        return [read(key) for key in keys]
    with ThreadPoolExecutor(max_workers=min(threads, len(keys))) as pool:
        return list(pool.map(read, keys))


def store(value: Any, key: str) -> dict[str, str]:
    """Write ``value`` to S3 as JSON; its address as ``{"bucket", "key"}``."""
    bucket = payload_bucket()
    client("s3").put_object(Bucket=bucket, Key=key, Body=encode(value), ContentType="application/json")
    return {"bucket": bucket, "key": key}


def is_reference(value: Any) -> bool:
    """Whether ``value`` is a reference as :func:`store` writes it: an address in this
    deployment's payload bucket, under the payload prefix, with its size. A node's output
    that merely has a ``$offloaded`` field is data (it was read as an address, and loading
    it failed the run)."""
    if not (isinstance(value, dict) and isinstance(value.get(REF), str)):
        return False
    size = value.get(SIZE)
    return (
        isinstance(size, int)
        and not isinstance(size, bool)
        and value[REF].startswith(f"s3://{payload_bucket()}/{payload_key('')}")
    )


def load(value: Any) -> Any:
    """The value behind a reference, or a loop's results with those stored apart gathered
    (anything else is returned as is)."""
    if is_stored_results(value):
        return gathered(value)
    if not is_reference(value):
        return value
    bucket, _, key = value[REF].removeprefix("s3://").partition("/")
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


RUN_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_stored_results(value: Any) -> bool:
    """Whether ``value`` is a loop's results with some stored apart, exactly as a machine
    writes it (contract.names.STORED_RESULTS); data that merely has such a key is data."""
    if not (isinstance(value, dict) and set(value) == {STORED_RESULTS, "results", PARTIAL}):
        return False
    where = value[STORED_RESULTS]
    return (
        isinstance(where, dict)
        and set(where) == {"node", "execution", "run", "prefix"}
        and all(isinstance(text, str) for text in where.values())
        and RUN_NAME.fullmatch(where["run"]) is not None
        and isinstance(value["results"], list)
        and isinstance(value[PARTIAL], dict)
    )


def gathered(value: dict[str, Any]) -> list[Any]:
    """A loop's results (contract.names.STORED_RESULTS): each null among them is the result
    its iteration stored apart, read back from S3 — or a null result (nothing stored)."""
    where, results = value[STORED_RESULTS], list(value["results"])  # its shape checked
    missing = [index for index, result in enumerate(results) if result is None]
    keys = [
        result_key(where["execution"], where["node"], where["run"], f"{where['prefix']}{i}") for i in missing
    ]
    for index, (found, stored) in zip(missing, load_stored(keys), strict=True):
        if found:
            results[index] = stored
    return results


def load_key(key: str) -> Any:
    """The JSON value :func:`store` wrote under ``key`` in the payload bucket."""
    body = client("s3").get_object(Bucket=payload_bucket(), Key=key)["Body"].read()
    return json.loads(body)


def trigger_input(trigger: Any, name: str) -> Any:
    """The trigger as the execution input carries it. A trigger over its inline room
    (``TRIGGER_INLINE_BYTES``) is stored in S3 under ``name``; the reference keeps inline
    its smallest top-level fields that fit (what a Choice or a Map usually reads), and says
    ``__partial`` when it had to leave one out. Whoever starts an execution (local runner,
    API, webhook, scheduler) passes the trigger through this."""
    body = encode(trigger)
    if len(body) <= TRIGGER_INLINE_BYTES:
        return trigger
    bucket = payload_bucket()
    key = payload_key(f"{name}/trigger.json")
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    reference: dict[str, Any] = {REF: f"s3://{bucket}/{key}", SIZE: len(body)}
    fields = trigger if isinstance(trigger, dict) else {}
    used = len(encode(reference)) + len(encode({PARTIAL: dict.fromkeys(map(str, fields), True)}))
    for field, size in sorted(((k, len(encode({k: v}))) for k, v in fields.items()), key=lambda f: f[1]):
        if used + size > TRIGGER_INLINE_BYTES or field in (REF, SIZE, PARTIAL):
            break
        reference[field] = fields[field]
        used += size
    if not isinstance(trigger, dict):
        reference[PARTIAL] = {}  # nothing kept: every read asks a Lambda
    elif len(reference) - 2 < len(fields):  # the fields left out, as offload_if_large says
        reference[PARTIAL] = dict.fromkeys(sorted(f for f in fields if f not in reference), True)
    return reference


def execution_input(trigger: Any, name: str) -> str:
    """The input document of an execution (JSON text): ``{"trigger": ...}``, the trigger
    offloaded as :func:`trigger_input` says."""
    document = {"trigger": trigger_input(trigger, name)}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)


__all__ = [
    "execution_input",
    "gathered",
    "is_reference",
    "is_stored_results",
    "kept_values",
    "load",
    "load_key",
    "load_stored",
    "offload_if_large",
    "reference_keeping",
    "result_key",
    "store",
    "stored_reference",
    "trigger_input",
]
