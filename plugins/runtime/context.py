"""The expression context of one invocation, built from the document slices the compiler
passed: ``{"trigger", "vars", "execution", "loop", "nodes", "secrets"}``.

Node outputs arrive as the state machine stored them; two shapes are normalized here so
expressions see DESIGN's contract: a Catch record ``{"Error", "Cause"}`` becomes
``{"error": {"type", "message"}}``, and S3 references are loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from contract.expressions import ExpressionError, Template, iter_strings, map_strings, parse_template
from plugins.runtime.errors import UserError
from plugins.runtime.event import Invocation
from plugins.runtime.offload import load

REDACTED = "[secret]"


def is_caught(value: Any) -> bool:
    """A Catch record as Step Functions writes it: ``{"Error", "Cause"}``."""
    return isinstance(value, dict) and "Error" in value and set(value) <= {"Error", "Cause"}


def error_record(value: Any) -> Any:
    """``{"error": {"type", "message"}}`` for a Catch record (anything else unchanged)."""
    if is_caught(value):
        return {"error": {"type": value["Error"], "message": error_message(value.get("Cause"))}}
    return value


def normalize(value: Any) -> Any:
    value = load(value)
    if isinstance(value, list) and any(isinstance(v, list | dict) for v in value):
        # A loop's results: each iteration's result may be a reference of its own.
        return [normalize(v) for v in value]
    return error_record(value)


def error_message(cause: Any) -> str:
    """The message inside a Catch ``Cause``: a Lambda error's JSON, or plain text."""
    if not isinstance(cause, str):
        return "" if cause is None else str(cause)
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])
    return cause


def build_context(event: Invocation, secrets: dict[str, Any]) -> dict[str, Any]:
    nodes = {}
    for node_id, value in (event.nodes or {}).items():
        if node_id in event.merged and isinstance(value, dict):
            # A merge holds the branches that ran; a branch of a Parallel that may not
            # have run arrives as its null default, so null entries are not branches.
            nodes[node_id] = {k: normalize(v) for k, v in value.items() if v is not None}
        else:
            nodes[node_id] = normalize(value)
    return {
        "trigger": load(event.trigger),  # a large trigger is stored in S3 by its starter
        "vars": event.vars,
        "execution": event.execution.model_dump(by_alias=True),
        # An until loop's previous result may be stored in S3 (the machine reads it
        # natively unless it lacks what an expression reads: then this Lambda does).
        "loop": {**event.loop, "previous": normalize(event.loop.get("previous"))}
        if isinstance(event.loop, dict) and "previous" in event.loop
        else event.loop,
        "nodes": nodes,
        "secrets": secrets,
    }


def templates(value: Any) -> Iterable[Template]:
    for _, text in iter_strings(value):
        if "{{" in text:
            yield parse_template(text)


def secret_names(value: Any) -> set[str]:
    """Names of the secrets an expression in ``value`` reads (``secrets.<name>...``)."""
    names = set()
    for template in templates(value):
        for expression in template.expressions:
            for ref in expression.references:
                if ref.root == "secrets" and ref.name:
                    names.add(ref.name)
    return names


def resolve(value: Any, context: dict[str, Any]) -> Any:
    """Render every template inside a JSON value: one whole expression yields the raw
    value, mixed text yields a string. Iterative, so deep values cannot overflow."""
    return map_strings(value, lambda text: _render(text, context) if "{{" in text else text)


def _render(text: str, context: dict[str, Any]) -> Any:
    try:
        return parse_template(text).render(context)
    except ExpressionError as exc:  # a type error and the like: the user's to fix
        raise UserError(f"expression failed: {exc}") from None
