"""Fast paths through botocore's client side that change no request and no answer.

A node log's ``PutItem`` and the trace's ``Query`` go through botocore as any call does
(locally the bytes then go to moto in-process: :mod:`functions.local.direct_dynamodb`).
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
- the User-Agent header is rebuilt for every request, each of its ~15 components
  sanitized character by character (twice); ``sanitize_user_agent_string_component`` and
  a component's ``to_string`` are pure functions of their arguments and fields, so each
  distinct component is sanitized and written once. The whole header is a function of
  what ``UserAgentString.to_string`` reads: the creator's own fields (strings set when
  the client is built), six settings of the client's config, and the features
  registered for this request (joined in their set's order). It is kept per those
  values, that order included.

Applied while a local AWS runs (see :mod:`functions.local.accelerate`). On AWS the same
calls take botocore's own paths, with the same results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore import useragent
from botocore.context import get_context
from botocore.parsers import BaseJSONParser, BaseRestParser, ResponseParser
from botocore.serialize import JSONSerializer
from botocore.utils import is_json_value_header
from botocore.validate import ParamValidator

from functions.local.patching import PatchSet

MAX_ENTRIES = 10_000  # each cache is cleared when it reaches this (shapes, UA components)

_lock = threading.Lock()
# id(structure shape) -> (shape, {member name: wire name}, {wire name: member name}) of
# its plain string members; the shape is held so that its id cannot be reused meanwhile.
_members: dict[int, tuple[Any, dict[str, str], dict[str, str]]] = {}
_sanitized: dict[tuple[str, bool], str] = {}
_components: dict[tuple[str, str, str | None], str] = {}
_agents: dict[tuple[Any, ...], str] = {}
# What UserAgentString.to_string reads of its creator besides the client config and the
# client features (both read below): strings (or None) set when the client is built.
_AGENT_FIELDS = (
    "_platform_name",
    "_platform_version",
    "_platform_machine",
    "_python_version",
    "_python_implementation",
    "_execution_env",
    "_crt_version",
    "_session_user_agent_name",
    "_session_user_agent_version",
    "_session_user_agent_extra",
)
_MODIFY_COMPONENTS = useragent.modify_components


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


def _kept(cache: dict[Any, str], key: Any, compute: Callable[[], str]) -> str:
    """``compute()``, kept in ``cache`` under ``key`` (a full cache is cleared first)."""
    found = cache.get(key)
    if found is None:
        found = compute()
        with _lock:
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
            cache[key] = found
    return found


def _sanitize(raw_str: Any, allow_hash: Any) -> Any:
    # botocore passes both by keyword (raw_str=, allow_hash=): same names as its own.
    if type(raw_str) is not str or type(allow_hash) is not bool:
        return _originals["sanitize"](raw_str, allow_hash)
    return _kept(_sanitized, (raw_str, allow_hash), lambda: _originals["sanitize"](raw_str, allow_hash))


def _component_text(component: Any) -> Any:
    """``UserAgentComponent.to_string``: a pure function of the component's fields, asked
    twice per component per request; kept per (prefix, name, value) of plain strings. A
    component with a size limit (its truncation may log) is built by botocore each time."""
    if len(component) != 4:  # a botocore with other fields: its own method
        return _originals["component_text"](component)
    prefix, name, value, size_config = component
    if size_config is not None or type(prefix) is not str or type(name) is not str:
        return _originals["component_text"](component)
    if value is not None and type(value) is not str:
        return _originals["component_text"](component)
    return _kept(_components, (prefix, name, value), lambda: _originals["component_text"](component))


def _agent_key(agent: Any) -> tuple[Any, ...] | None:
    """Everything ``to_string`` reads, or None where it is not plain data."""
    fields = vars(agent)
    if len(fields) != len(_AGENT_FIELDS) + 2:  # a botocore with other fields
        return None
    values = tuple(fields.get(name, agent) for name in _AGENT_FIELDS)
    config = fields.get("_client_config", agent)
    if config is None:
        settings: tuple[Any, ...] = ()
    else:
        retries = getattr(config, "retries", None)
        settings = (
            hasattr(config, "_supplied_user_agent"),
            getattr(config, "_supplied_user_agent", None),
            getattr(config, "user_agent", None),
            bool(retries),
            retries.get("mode") if isinstance(retries, dict) else retries,
            bool(getattr(config, "endpoint_discovery_enabled", None)),
            getattr(config, "user_agent_appid", None),
            getattr(config, "user_agent_extra", None),
        )
    context = get_context()
    client_features = fields.get("_client_features", agent) or set()
    if type(client_features) is not set:
        return None
    # The features joined in the order to_string's own union of the same sets gives.
    features = tuple(client_features.union(set() if context is None else context.features))
    key = (*values, *settings, features)
    if not all(value is None or type(value) in (str, bool) for value in key[:-1]):
        return None
    if not all(type(feature) is str for feature in features):
        return None
    return key


def _agent_text(agent: Any) -> Any:
    """``UserAgentString.to_string``, kept per everything it reads."""
    if type(agent) is not useragent.UserAgentString or useragent.modify_components is not _MODIFY_COMPONENTS:
        return _originals["agent_text"](agent)
    key = _agent_key(agent)
    if key is None:
        return _originals["agent_text"](agent)
    return _kept(_agents, key, lambda: _originals["agent_text"](agent))


def _patches() -> list[tuple[str, Any, str, Any]]:
    return [
        ("validate_structure", ParamValidator, "_validate_structure", _validate_structure),
        ("validate_map", ParamValidator, "_validate_map", _validate_map),
        ("serialize_structure", JSONSerializer, "_serialize_type_structure", _serialize_structure),
        ("handle_structure", BaseJSONParser, "_handle_structure", _handle_structure),
        ("serialize_map", JSONSerializer, "_serialize_type_map", _serialize_map),
        ("handle_map", BaseJSONParser, "_handle_map", _handle_map),
        ("sanitize", useragent, "sanitize_user_agent_string_component", _sanitize),
        ("component_text", useragent.UserAgentComponent, "to_string", _component_text),
        ("agent_text", useragent.UserAgentString, "to_string", _agent_text),
    ]


def _forget() -> None:
    with _lock:
        _members.clear()
        _sanitized.clear()
        _components.clear()
        _agents.clear()


_patch_set = PatchSet(_patches, forget=_forget)
_originals = _patch_set.originals
install = _patch_set.install
uninstall = _patch_set.uninstall


__all__ = ["install", "uninstall"]
