"""The evaluator: what ASL cannot compute exactly, for control nodes.

``if``/``switch`` → ``{"port"}`` (the reference semantics of conditions), ``loop`` →
``{"items"}``, ``wait`` → ``{"seconds"}`` or ``{"timestamp"}``. The compiler routes a
Choice on the answer, so this Lambda is one transition more and nothing else.

It also turns a caught error into the record users read (``{"caught": …}`` events, on
``Catch`` paths only): a Lambda's ``Cause`` is JSON with a Python stack trace, which must
never reach node outputs, loop results or the execution's result.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contract.conditions import evaluate
from contract.limits import LOOP_ITEMS_BYTES, TOO_MANY_RESULTS
from plugins.runtime.aws import payload_key
from plugins.runtime.context import error_record
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, invoke
from plugins.runtime.observability import tracer
from plugins.runtime.offload import DEFAULT_THRESHOLD, encode, load_key, store, wire_size
from plugins.sdk import default_registry

JSON_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a number", float: "a number", dict: "an object"}


def _identity(value: Any) -> Any:
    return value


def json_type_name(value: Any) -> str:
    """How a user calls the JSON type of ``value`` ("a string"), never a Python class."""
    if value is None:
        return "null"
    return JSON_TYPE_NAMES.get(type(value), "a list" if isinstance(value, list) else "an unknown value")


def loop_items(items: Any) -> list[Any]:
    if not isinstance(items, list):
        raise UserError(f"loop items must be a list; got {json_type_name(items)}")
    return items


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    plugin = run.invocation.plugin
    if plugin == "if":
        return {"port": "true" if evaluate(parameters["condition"], _identity) else "false"}
    if plugin == "switch":
        for rule in parameters.get("rules", []):
            if evaluate(rule["condition"], _identity):
                return {"port": rule["port"]}
        return {"port": "default"}
    if plugin == "loop":
        return _loop(parameters, run)
    if plugin == "wait":
        if "seconds" in parameters:
            seconds = parameters["seconds"]
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise UserError(f"'seconds' must be a non-negative number, got {seconds!r}")
            return {"seconds": int(seconds)}
        until = parameters.get("until")
        if not isinstance(until, str) or not _is_timestamp(until):
            raise UserError(f"'until' must be an ISO 8601 timestamp with a time zone, got {until!r}")
        return {"timestamp": until}
    raise UserError(f"the evaluator has nothing to compute for '{plugin}' nodes")


def _is_timestamp(text: str) -> bool:
    """What a Wait's Timestamp accepts: an ISO 8601 date-time with its offset ("…Z")."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in text.upper() and parsed.tzinfo is not None


def _loop(parameters: dict[str, Any], run: RunContext) -> Any:
    """A loop's items; for a distributed Map, the items in S3 (whole, or in chunks); for a
    chunked loop, a chunk's results stored, or all of them collected in order."""
    invocation = run.invocation
    if invocation.results is not None:  # a chunk's: stored where the collection finds it
        store(invocation.results, f"{invocation.prefix}/{invocation.offset:012d}.json")
        return None
    if invocation.collect is not None:
        offsets = load_key(f"{invocation.collect}/offsets.json")
        return [
            result for offset in offsets for result in load_key(f"{invocation.collect}/{offset:012d}.json")
        ]
    items = loop_items(parameters.get("items"))
    if not invocation.spill and (size := wire_size({"items": items})) > LOOP_ITEMS_BYTES:
        # An inline loop holds its items in a variable: read back from S3, they must fit.
        raise UserError(
            f"loop over a list of {size:,} bytes: an inline loop holds at most "
            f"{LOOP_ITEMS_BYTES // 1024} KiB of items (a state machine variable): give the loop "
            '"mode": "distributed", whose iterations read the list from S3'
        )
    if invocation.limit is not None and len(items) > invocation.limit and invocation.limit_of == "results":
        raise UserError(f"loop over {len(items)} {TOO_MANY_RESULTS}")  # as the items guard says
    if invocation.limit is not None and len(items) > invocation.limit:
        # As the items guard says it of a list kept inline (statemachines/machine/loops.py).
        raise UserError(
            f"loop over {len(items)} items: an inline loop of this body runs at most "
            f"{invocation.limit:,} iterations within the 25,000 events of the history of a Standard "
            'execution; give the loop "mode": "distributed" (each iteration a child execution with '
            "a history of its own), or run the routine as Express"
        )
    if not invocation.spill:
        return {"items": items}
    largest = max(items, key=wire_size, default=None)
    if largest is not None and (size := wire_size(largest)) > LOOP_ITEMS_BYTES:
        # Each iteration of a distributed loop is a child execution whose input holds its item.
        raise UserError(
            f"item {items.index(largest)} of the loop is {size:,} bytes: an iteration of a distributed "
            f"loop gets its item in its input, which holds at most {LOOP_ITEMS_BYTES // 1024} KiB of it"
        )
    prefix = payload_key(f"{invocation.execution.id.rsplit(':', 1)[-1]}/{invocation.node}/{uuid.uuid4().hex}")
    if invocation.chunk is None:  # for a distributed Map's ItemReader; the count is for
        return {**store(items, f"{prefix}/items.json"), "count": len(items)}  # the results' share
    # A chunked loop: each child execution runs a chunk and stores its results under the
    # prefix, by offset; the collection reads them in the order of offsets.json.
    parts = chunks(items, invocation.chunk, invocation.inline_bytes or DEFAULT_THRESHOLD)
    store([part["offset"] for part in parts], f"{prefix}/offsets.json")
    return {**store(parts, f"{prefix}/items.json"), "prefix": prefix}


def chunks(items: list[Any], most: int, budget: int) -> list[dict[str, Any]]:
    """``items`` as ``{"offset", "items"}`` chunks of at most ``most`` items and about
    ``budget`` bytes of JSON each (an item larger than that is a chunk of its own)."""
    out: list[dict[str, Any]] = []
    current: list[Any] = []
    size, offset = 1, 0  # the list's brackets, and a comma before each item but the first
    for item in items:
        item_size = len(encode(item)) + 1
        if current and (len(current) >= most or size + item_size > budget):
            out.append({"offset": offset, "items": current})
            offset += len(current)
            current, size = [], 1
        current.append(item)
        size += item_size
    if current:
        out.append({"offset": offset, "items": current})
    return out


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> Any:
    if isinstance(event, dict) and "caught" in event:
        return error_record(event["caught"])  # no node log: the failed node wrote its own
    name = event.get("plugin") if isinstance(event, dict) else None
    definition = default_registry().find(str(name))
    if definition is None:
        raise UserError(f"unknown control node '{name}'")
    return invoke(definition, execute, event, context, check_output=False)
