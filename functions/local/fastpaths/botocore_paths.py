"""Fast paths through botocore's client side that change no request and no answer.

A node log's ``PutItem`` and the trace's ``Query`` go through botocore as any call does
(locally the bytes then go to moto in-process: :mod:`functions.local.fastpaths.direct_dynamodb`).
Profiling a warm loop over 100 items showed botocore's own per-call work at about a sixth
of the run, most of it repeated for values whose outcome is known in advance:

- every DynamoDB attribute is an AttributeValue structure holding one key, nearly always
  a string (``{"S": "…"}``, ``{"N": "1"}``), and botocore walks its dozen members three
  times: to validate it, to serialize it, and to parse it back from an answer. For a
  plain dict of one ``str`` under a string member with no length minimum, no host label
  and no JSON-value trait, the walks end exactly so: validation reports nothing (the
  member is known, no other member is required, a ``str`` of any length passes),
  serialization writes ``{wire name: value}``, and parsing a one-key dict holding a
  ``str`` under such a member's wire name gives ``{member: value}``. Those are done
  directly (and a map of them is validated, written and read without the dispatches per
  entry, its ``str`` keys unchecked where any ``str`` is a valid key); anything else
  (another kind of value, a second key, a str subclass, an unknown member, an error to
  report) takes botocore's own walk.

(The User-Agent header, once rebuilt and sanitized for every request, was kept here too;
botocore 1.44 keeps its request-independent parts itself.)

Applied while a local AWS runs (see :mod:`functions.local.fastpaths`). On AWS the same
calls take botocore's own paths, with the same results.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.parsers import BaseJSONParser, BaseRestParser, ResponseParser
from botocore.serialize import JSONSerializer
from botocore.utils import is_json_value_header
from botocore.validate import ParamValidator

from functions.local.fastpaths.guard import FastPath

MAX_ENTRIES = 10_000  # the shape cache is cleared when it reaches this

_lock = threading.Lock()
# id(structure shape) -> (shape, {member name: wire name}, {wire name: member name}) of
# its plain string members; the shape is held so that its id cannot be reused meanwhile.
_members: dict[int, tuple[Any, dict[str, str], dict[str, str]]] = {}


def _plain_strings(shape: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The string members of a structure whose value, a ``str``, passes validation
    unconditionally and is written and read as itself: ({member: wire}, {wire: member}).
    Both are empty for a structure that requires a member, a document or a union."""
    entry = _members.get(id(shape))
    if entry is not None and entry[0] is shape:
        return entry[1], entry[2]
    names: dict[str, str] = {}
    if not (shape.metadata.get("required") or shape.is_document_type or shape.is_tagged_union):
        wire = {name: member.serialization.get("name", name) for name, member in shape.members.items()}
        wire_names = list(wire.values())
        names = {
            name: wire[name]
            for name, member in shape.members.items()
            if _plain_string(member) and wire_names.count(wire[name]) == 1
        }
    by_wire = {json_name: name for name, json_name in names.items()}
    with _lock:
        if len(_members) >= MAX_ENTRIES:
            _members.clear()
        _members[id(shape)] = (shape, names, by_wire)
    return names, by_wire


def _one_string(value: Any) -> tuple[str, str] | None:
    """``(key, text)`` of a plain dict holding one plain ``str``; None for anything else."""
    if type(value) is dict and len(value) == 1:
        ((key, text),) = value.items()
        if type(text) is str:
            return key, text
    return None


def _validate_structure(validator: ParamValidator, params: Any, shape: Any, errors: Any, name: str) -> None:
    one = _one_string(params)
    if one is not None and type(validator) is ParamValidator and one[0] in _plain_strings(shape)[0]:
        return  # botocore's walk would report nothing: see the module's docstring
    _originals["validate_structure"](validator, params, shape, errors, name)


def _validate_map(validator: Any, param: Any, shape: Any, errors: Any, name: str) -> None:
    # botocore's _validate_map (behind its dict type check), without the walks that would
    # report nothing: a plain str key of a plain string key shape, a plain-string
    # AttributeValue-like value (as _validate_structure above).
    key_shape, value_shape = shape.key, shape.value
    if type(validator) is not ParamValidator or type(param) is not dict or not _plain_string(key_shape):
        _originals["validate_map"](validator, param, shape, errors, name)
        return
    strings = _plain_strings(value_shape)[0] if value_shape.type_name == "structure" else {}
    validate: Any = validator._validate  # type: ignore[attr-defined]  # botocore is untyped
    for key, value in param.items():
        if type(key) is not str:
            validate(key, key_shape, errors, f"{name} (key: {key})")
        one = _one_string(value)
        if one is None or one[0] not in strings:
            validate(value, value_shape, errors, f"{name}.{key}")


def _plain_string(shape: Any) -> bool:
    """A string shape any ``str`` passes: no length minimum, host label or JSON value."""
    return (
        shape.type_name == "string"
        and "min" not in shape.metadata
        and not shape.serialization.get("hostLabel")
        and not is_json_value_header(shape)
    )


def _serialize_structure(
    serializer: JSONSerializer, serialized: Any, value: Any, shape: Any, key: Any
) -> None:
    one = _one_string(value)
    if one is not None and key is not None and _plain_serializer(serializer):
        wire = _plain_strings(shape)[0].get(one[0])
        if wire is not None:
            wrapper = serializer.MAP_TYPE()
            wrapper[wire] = one[1]
            serialized[key] = wrapper
            return
    _originals["serialize_structure"](serializer, serialized, value, shape, key)


def _serialize_map(serializer: JSONSerializer, serialized: Any, value: Any, shape: Any, key: Any) -> None:
    # JSONSerializer._serialize_type_map, each plain-string AttributeValue-like value
    # written as _serialize_structure writes it, without the dispatch per entry.
    value_shape = shape.value
    if type(value) is not dict or value_shape.type_name != "structure" or not _plain_serializer(serializer):
        _originals["serialize_map"](serializer, serialized, value, shape, key)
        return
    strings = _plain_strings(value_shape)[0]
    serialize: Any = serializer._serialize  # type: ignore[attr-defined]  # botocore is untyped
    map_obj = serializer.MAP_TYPE()
    serialized[key] = map_obj
    for sub_key, sub_value in value.items():
        one = _one_string(sub_value)
        wire = strings.get(one[0]) if one is not None else None
        if wire is not None:
            wrapper = serializer.MAP_TYPE()
            wrapper[wire] = sub_value[one[0]]  # type: ignore[index]
            map_obj[sub_key] = wrapper
        else:
            serialize(map_obj, sub_value, value_shape, sub_key)


def _plain_serializer(serializer: Any) -> bool:
    """Strings are written by JSONSerializer's default (what the shortcut reproduces)."""
    kind: Any = type(serializer)
    base: Any = JSONSerializer  # botocore is untyped: its private methods are unknown to mypy
    return (
        getattr(kind, "_serialize_type_string", None) is None
        and kind._default_serialize is base._default_serialize
        and kind._serialize is base._serialize
    )


def _handle_structure(parser: BaseJSONParser, shape: Any, value: Any) -> Any:
    one = _one_string(value)
    if one is not None and _plain_parser(parser):
        member = _plain_strings(shape)[1].get(one[0])
        if member is not None:
            return {member: one[1]}
    return _originals["handle_structure"](parser, shape, value)


def _handle_map(parser: BaseJSONParser, shape: Any, value: Any) -> Any:
    # BaseJSONParser._handle_map, each str key of a plain string key shape read as itself
    # and each plain-string AttributeValue-like value as _handle_structure reads it.
    key_shape, value_shape = shape.key, shape.value
    if (
        type(value) is not dict
        or value_shape.type_name != "structure"
        or not _plain_string(key_shape)
        or not _plain_parser(parser)
    ):
        return _originals["handle_map"](parser, shape, value)
    by_wire = _plain_strings(value_shape)[1]
    parse: Any = parser._parse_shape  # type: ignore[attr-defined]  # botocore is untyped
    parsed = {}
    for key, item in value.items():
        one = _one_string(item)
        member = by_wire.get(one[0]) if one is not None else None
        if member is not None and type(key) is str:
            parsed[key] = {member: item[one[0]]}  # type: ignore[index]
        else:
            parsed[parse(key_shape, key)] = parse(value_shape, item)
    return parsed


def _plain_parser(parser: Any) -> bool:
    """Strings are read as themselves (what the shortcut reproduces)."""
    kind: Any = type(parser)
    # The REST parsers' string handler reads a string as itself unless it is a JSON-value
    # header, which the members taken above never are.
    handle = getattr(kind, "_handle_string", None)
    base: Any = ResponseParser
    rest: Any = BaseRestParser
    return kind._parse_shape is base._parse_shape and (handle is None or handle is rest._handle_string)


def _patches() -> list[tuple[str, Any, str, Any]]:
    return [
        ("validate_structure", ParamValidator, "_validate_structure", _validate_structure),
        ("validate_map", ParamValidator, "_validate_map", _validate_map),
        ("serialize_structure", JSONSerializer, "_serialize_type_structure", _serialize_structure),
        ("handle_structure", BaseJSONParser, "_handle_structure", _handle_structure),
        ("serialize_map", JSONSerializer, "_serialize_type_map", _serialize_map),
        ("handle_map", BaseJSONParser, "_handle_map", _handle_map),
    ]


def _forget() -> None:
    with _lock:
        _members.clear()


FAST_PATH = FastPath(
    "botocore-client",
    "botocore's walks over DynamoDB attribute values (validation, serialization, parsing)",
    written_for=(
        "botocore.context",
        "botocore.model",
        "botocore.parsers",
        "botocore.serialize",
        "botocore.utils",
        "botocore.validate",
    ),
    patches=_patches,
    on_uninstall=_forget,
)
FAST_PATHS = (FAST_PATH,)
_originals = FAST_PATH.originals
install = FAST_PATH.install
uninstall = FAST_PATH.uninstall


__all__ = ["FAST_PATH", "FAST_PATHS", "install", "uninstall"]
