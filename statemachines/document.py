"""First pass over untrusted input: JSON-ness, size and depth, then the document's shape.

Nodes and connections are parsed one by one, so a malformed node is reported and the
rest of the document is still checked.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contract.limits import (
    MAX_CONNECTIONS,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_FILE_BYTES,
    MAX_NODES,
    MAX_VARIABLES,
)
from contract.problems import Code, Report, connection_path, join_path, node_path
from statemachines import jsontext
from statemachines.model import (
    EXECUTION_TYPES,
    MAX_ROUTINE_TIMEOUT_SECONDS,
    NODE_ID_PATTERN,
    ROUTINE_ID_PATTERN,
    Connection,
    Node,
)
from statemachines.pydantic_errors import report_pydantic

TOP_LEVEL = (
    "name",
    "description",
    "trigger",
    "variables",
    "nodes",
    "connections",
    "timeoutSeconds",
    "errorRoutine",
    "execution",
)
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_NODE_ID = re.compile(NODE_ID_PATTERN)
_ROUTINE_ID = re.compile(ROUTINE_ID_PATTERN)

TOO_DEEP = (
    f"nests deeper than the {MAX_DEPTH} levels of JSON a routine may have "
    "(each all/any of a condition takes two: the object and its list)"
)


@dataclass(slots=True)
class Parts:
    """The parts of a document that parsed, with the paths they are reported under."""

    nodes: dict[str, Node] = field(default_factory=dict)
    broken_node_ids: set[str] = field(default_factory=set)
    duplicate_ids: set[str] = field(default_factory=set)  # ids used by more than one node
    connections: list[tuple[int, Connection]] = field(default_factory=list)
    # Endpoints of connections that did not parse: (source id, target id), None if unreadable.
    broken_connections: list[tuple[str | None, str | None]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    # False when 'nodes' / 'variables' are unusable: what refers to them cannot be checked.
    nodes_known: bool = True
    variables_known: bool = True


def read_document(raw: bytes | str, report: Report) -> tuple[bool, Any]:
    """(ok, document) from the bytes or text a user gave, read as strict JSON
    (:mod:`statemachines.jsontext`); on failure the reasons are in ``report``, with the
    validator's codes and paths. The CLI reads files with it; the API maps the same
    refusals of a routine body to the same codes and paths."""
    try:
        text = raw if isinstance(raw, str) else jsontext.decode(raw)
        return True, jsontext.loads(text)
    except jsontext.JsonTextError as error:
        report_json_error(error, report)
        return False, None


def report_json_error(error: jsontext.JsonTextError, report: Report) -> None:
    """A routine document's strict-JSON refusals as validator problems: nesting is
    ``limit_exceeded`` where :func:`check_json` would put it (its message too); the rest
    ``invalid_document`` at the member concerned (``nodes[b].parameters`` for a repeated
    ``parameters`` key in node ``b``)."""
    deep = False
    for issue in error.issues:
        if issue.kind == jsontext.DEPTH:
            if not deep:  # a limit is reported once
                path = _too_deep_path(error.value) if error.parsed else ""
                report.error(Code.LIMIT_EXCEEDED, path, TOO_DEEP)
            deep = True
        else:
            path = _readable_path(error.value, issue.segments) if error.parsed else ""
            report.error(Code.INVALID_DOCUMENT, path, issue.message)


def check_json(document: Any, report: Report) -> bool:
    """Is this a JSON value of sane depth and size? Iterative: deep input cannot crash it.

    False when nothing else can safely be checked. A document over the size limit is
    reported and still checked (it is bounded by what could be read at all)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            report.error(Code.LIMIT_EXCEEDED, _too_deep_path(document), TOO_DEEP)
            return False
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                report.error(Code.INVALID_DOCUMENT, "", "object keys must be strings")
                return False
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, float) and not math.isfinite(value):
            report.error(Code.INVALID_DOCUMENT, "", "NaN and Infinity are not JSON numbers")
            return False
        elif not (value is None or isinstance(value, str | int | float | bool)):
            report.error(Code.INVALID_DOCUMENT, "", f"{type(value).__name__} is not a JSON value")
            return False
    # Measured as stored: compact JSON, UTF-8; formatting whitespace does not count.
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    try:
        size = len(text.encode())
    except UnicodeEncodeError as exc:
        # JSON escapes such as "\ud800" decode to unpaired surrogates: not storable text.
        report.error(
            Code.INVALID_DOCUMENT, "", f"text contains an unpaired surrogate ({exc.object[exc.start]!r})"
        )
        return False
    if size > MAX_DOCUMENT_BYTES:
        report.error(
            Code.LIMIT_EXCEEDED,
            "",
            f"the routine is {size:,} bytes as compact JSON (UTF-8, whitespace between tokens "
            f"not counted); routines are at most {MAX_DOCUMENT_BYTES:,} bytes",
        )
        # Still checked when it is no larger than a file may be; beyond, checking would cost
        # more than its answer is worth.
        return size <= MAX_FILE_BYTES
    return True


def _too_deep_path(document: Any) -> str:
    """Where the document first nests too deeply, down to the field that holds the deep
    tree (``nodes[c].parameters.condition``), so one error names one place. One
    iterative walk that stops there: deep input costs no more than it did to find."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    segments: tuple[str | int, ...] = ()
    while stack:
        value, segments = stack.pop()
        if len(segments) >= MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, (*segments, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*segments, i)) for i, v in enumerate(value))
    if segments[:1] == ("nodes",) and len(segments) >= 2 and isinstance(segments[1], int):
        return _readable_path(document, segments[:4])
    return join_path("", *segments[:2])


def _readable_path(document: Any, segments: tuple[str | int, ...]) -> str:
    """The validator's path of a place in a document: a node by its id when it has a
    usable one (``nodes[fetch].parameters``), else by its index (``nodes[1].id``)."""
    index = segments[1] if len(segments) >= 2 else None
    if segments[:1] == ("nodes",) and isinstance(index, int) and segments[2:3] != ("id",):
        nodes = document.get("nodes") if isinstance(document, dict) else None
        raw = nodes[index] if isinstance(nodes, list) and index < len(nodes) else None
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str) and _NODE_ID.match(raw_id):
            return node_path(raw_id, *segments[2:])
    return join_path("", *segments)


def check_top_level(document: dict[str, Any], report: Report) -> None:
    for key in document:
        if key not in TOP_LEVEL:
            report.error(Code.INVALID_DOCUMENT, join_path("", key), f"unknown field '{key}'")
    for key in ("name", "trigger", "nodes"):
        if key not in document:
            report.error(Code.INVALID_DOCUMENT, key, f"'{key}' is required")
    name = document.get("name")
    if "name" in document and (not isinstance(name, str) or not 1 <= len(name) <= 256):
        report.error(Code.INVALID_DOCUMENT, "name", "'name' must be a string of 1 to 256 characters")
    description = document.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 4096):
        report.error(
            Code.INVALID_DOCUMENT, "description", "'description' must be a string of at most 4096 characters"
        )
    timeout = document.get("timeoutSeconds")
    valid_timeout = (
        isinstance(timeout, int)
        and not isinstance(timeout, bool)
        and 1 <= timeout <= MAX_ROUTINE_TIMEOUT_SECONDS
    )
    if "timeoutSeconds" in document and not valid_timeout:
        report.error(
            Code.INVALID_DOCUMENT,
            "timeoutSeconds",
            f"'timeoutSeconds' must be a whole number of seconds from 1 to {MAX_ROUTINE_TIMEOUT_SECONDS:,} "
            f"(a Standard execution's year); got {json.dumps(timeout)[:40]}",
        )
    _check_error_routine(document, report)
    if "execution" in document and document["execution"] not in EXECUTION_TYPES:
        report.error(
            Code.INVALID_DOCUMENT,
            "execution",
            "'execution' must be 'standard', 'express' or 'auto' (the default); "
            f"got {json.dumps(document['execution'])[:40]}",
        )


def _check_error_routine(document: dict[str, Any], report: Report) -> None:
    """``errorRoutine``: a routine id. Whether it names an active error routine of the same
    owner is checked at activation (it may be saved before that routine exists)."""
    if "errorRoutine" not in document:
        return
    target = document["errorRoutine"]
    if not isinstance(target, str) or not _ROUTINE_ID.match(target):
        report.error(
            Code.INVALID_DOCUMENT,
            "errorRoutine",
            "'errorRoutine' must be a routine id (1 to 64 letters, digits, '_' or '-'); "
            f"got {json.dumps(target)[:40]}",
        )
        return
    trigger = document.get("trigger")
    if isinstance(trigger, dict) and trigger.get("type") == "error":
        report.error(
            Code.INVALID_DOCUMENT,
            "errorRoutine",
            "an error routine cannot name an errorRoutine of its own: its failures are recorded, "
            "never passed on (no chains)",
        )


def parse_parts(document: dict[str, Any], report: Report) -> Parts:
    parts = Parts()
    parts.variables = _variables(document.get("variables", {}), parts, report)
    if "nodes" in document:
        _nodes(document["nodes"], parts, report)
    else:  # reported once, as required (check_top_level)
        parts.nodes_known = False
    _connections(document.get("connections", []), parts, report)
    return parts


def _variables(value: Any, parts: Parts, report: Report) -> dict[str, Any]:
    if not isinstance(value, dict):
        report.error(Code.INVALID_DOCUMENT, "variables", "'variables' must be an object")
        parts.variables_known = False
        return {}
    if len(value) > MAX_VARIABLES:
        report.error(Code.LIMIT_EXCEEDED, "variables", f"at most {MAX_VARIABLES} variables")
    for name in value:
        if not VARIABLE_NAME.match(name):
            report.error(
                Code.INVALID_DOCUMENT,
                join_path("variables", name),
                "variable names start with a letter or '_', then letters, digits or '_'",
            )
    return value


def _nodes(value: Any, parts: Parts, report: Report) -> None:
    if not isinstance(value, list):
        report.error(Code.INVALID_DOCUMENT, "nodes", "'nodes' must be a list")
        parts.nodes_known = False
        return
    if not value:
        report.error(Code.INVALID_DOCUMENT, "nodes", "a routine needs at least one node")
    if len(value) > MAX_NODES:
        # Reported once; the nodes are still checked (the size limit bounds their number),
        # so connections to them are not mistaken for connections to nothing.
        report.error(
            Code.LIMIT_EXCEEDED, "nodes", f"{len(value):,} nodes; a routine has at most {MAX_NODES:,}"
        )
    for index, raw in enumerate(value):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        named = isinstance(raw_id, str) and bool(_NODE_ID.match(raw_id))
        base = node_path(str(raw_id)) if named else f"nodes[{index}]"
        if named and (raw_id in parts.nodes or raw_id in parts.broken_node_ids):
            report.error(
                Code.DUPLICATE_NODE_ID,
                base,
                f"node id '{raw_id}' is used by an earlier node (ids must be unique)",
            )
            parts.duplicate_ids.add(str(raw_id))
            continue
        try:
            node = Node.model_validate(raw)
        except ValidationError as exc:
            report_pydantic(exc, base, report)
            if named:
                parts.broken_node_ids.add(str(raw_id))
            continue
        parts.nodes[node.id] = node


def _connections(value: Any, parts: Parts, report: Report) -> None:
    if not isinstance(value, list):
        report.error(Code.INVALID_DOCUMENT, "connections", "'connections' must be a list")
        return
    if len(value) > MAX_CONNECTIONS:
        report.error(
            Code.LIMIT_EXCEEDED,
            "connections",
            f"{len(value):,} connections; a routine has at most {MAX_CONNECTIONS:,}",
        )
    for index, raw in enumerate(value):
        try:
            parts.connections.append((index, Connection.model_validate(raw)))
        except ValidationError as exc:
            report_pydantic(exc, connection_path(index), report)
            ends = raw if isinstance(raw, dict) else {}
            source, target = (ends.get(key) for key in ("sourceNodeId", "targetNodeId"))
            parts.broken_connections.append(
                (source if isinstance(source, str) else None, target if isinstance(target, str) else None)
            )
