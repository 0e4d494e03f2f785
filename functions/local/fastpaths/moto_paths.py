"""Fast paths through moto's request/response layer that change no response.

Saves 19% of chain1000 (without it +24%; benchmarks/local_speed.py --fastpaths, 2026-12-07).

Every boto3 call the product makes locally (a node log's PutItem, the trace's Query, an
S3 put) still goes through botocore and moto's HTTP layer; profiling showed two pure
computations repeated on every call there:

- moto's response serializer looks up each member of each output structure under up to
  a dozen aliases, each found by instantiating six alias providers. For a plain ``dict``
  value (what DynamoDB's responses are made of: a Query of 100 node logs has ~12,000
  member look-ups) the aliases depend only on the shape and the member name, never on
  the dict's contents: they are worked out once per (shape, member) and tried in the
  same order against the dict (``dict.get`` instead of a raised and caught KeyError for
  each absent one), with the same response transformers applied after.
- ``call_action`` lists every function of the response class (``inspect.getmembers``)
  to ask whether the action is one of them; the answer is read from the class directly.
- a DynamoDB Query on a table's own key lists (and sorts) every item of the table, then
  keeps those with the asked partition key: reading one execution's node logs cost more
  with every execution run before it. The listing it asks for is given from that key's
  own items instead (moto keeps them apart, keyed by the equal key), sorted by the same
  key; the query's filter then keeps the same items in the same order.
- a DynamoDB Query's answer holds one AttributeValue structure per attribute of each
  item (a dozen members each, every one looked up); an AttributeValue is a dict with one
  key, mostly a string (``{"S": "…"}``, ``{"N": "1"}``). For a plain dict holding just one
  key of a string member, that no other member's aliases name, the walk adds exactly
  ``{key: value}``: that is written directly (the members' shapes get the same
  ``parent`` the walk gives them, when first seen), and in a map of them (an item)
  without the two dispatches per entry.
- moto's JSON request parser walks each AttributeValue of a DynamoDB request the same
  way (every member looked up under its wire name). For a plain dict holding one string
  under the wire name of a string member that no other member has, the walk gives
  ``{member: value}``: that is built directly (and, in a map of them, without the two
  dispatches per entry).
- a DynamoDB item is built attribute by attribute into a dict that, at each one, sums the
  sizes of all attributes already in it (quadratic: a tenth of a node log's PutItem).
  While an item is built nothing else touches it, so the sum is kept as it grows; the
  limit check at each attribute is the same comparison against the same total.

- moto's DynamoDB model wraps every attribute in a ``DynamoType`` and asks it, through
  a chain of ``is_list()``/``is_map()``/``is_set()``… calls, for its size (every put and
  every read), its comparable value (every key comparison of a query's sort) and a copy
  (every item a query returns). For a string or number held as a ``str`` — what node
  logs are made of — the chain ends at the same answer every time: built from a one-key
  dict, the type and value as given; size, the UTF-8 length of a string or a number's
  stored size (``number_size`` of its text); comparable value, the string itself or
  ``Decimal`` of the number's text; a deep copy of any scalar (string, number, binary, boolean, null), a new
  ``DynamoType`` of the same type holding the same immutable value. Those are answered
  directly. An item's copy copies its attributes that way (moto's copy goes through
  ``copy.deepcopy``'s dispatch for each), its size is the same sum without a generator,
  and turning a query's items into plain dicts for the serializer (``dynamo_to_dict``)
  writes ``{type: value}`` for such an attribute and walks plain dicts directly.
- moto draws each request id as 52 ``random.choice`` calls on its seedable generator
  (each one or more 32-bit words of its Mersenne Twister). The same words are drawn in
  bulk and read in the same order: the same characters, so a seeded moto gives the same
  ids (see ``_random_string``).

- every PutItem asks, for each attribute of the item, whether it is one of the table's key
  attributes: ``Table.attribute_keys`` is a property that lists them anew each time
  (twice per attribute). It is listed once per call; nothing changes the table's keys
  while a put is validated. An attribute holding one string, number or boolean cannot
  hold the empty set the check looks for, so only other values are checked, by moto.
- a write's answer is mostly empty (a PutItem without ReturnValues answers ``{}``), and
  moto builds a serializer, walks the operation's output shape and encodes the JSON for
  it each time. For an empty plain dict, no response transformers and the plain JSON
  serializer, the answer (status, headers, body) depends only on the serializer class,
  the operation and moto's pretty-printing setting: it is serialized by moto once per
  those and given as a copy after.
- ``call_action`` turns the action's name into the handler method's name
  (``camelcase_to_underscores``, character by character) on every call: a pure
  function of the name, kept per name.

Anything else (objects, dict subclasses, another picker) takes moto's own code.
"""

from __future__ import annotations

import copy
import inspect
import random
import string
import threading
from decimal import Decimal
from functools import lru_cache
from typing import Any

from moto import settings as moto_settings
from moto.core import responses as moto_responses
from moto.core.constants import MISSING
from moto.core.parse import BaseJSONParser, RequestParser
from moto.core.responses import ActionResult
from moto.core.serialize import (
    DEFAULT_ALIAS_PROVIDERS,
    AttributePickerContext,
    BaseJSONSerializer,
    ResponseSerializer,
    XFormedAttributePicker,
)
from moto.core.utils import get_value as moto_get_value
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import utilities as dynamodb_utilities
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize, number_size
from moto.moto_api._internal.moto_random import MotoRandom

from functions.local.fastpaths.guard import FastPath

ITEM_SIZE_LIMIT = 405_000  # LimitedSizeDict.__setitem__'s (test_local_moto_paths probes it)

_lock = threading.Lock()
# (id(shape), id(its parent), member name) -> (shape, parent, keys): the shape and parent
# are held so that their ids cannot be reused while the entry exists.
_aliases: dict[tuple[int, int, str], tuple[Any, Any, tuple[str, ...]]] = {}
MAX_ALIASES = 50_000


def _keys(picker: XFormedAttributePicker, shape: Any, key: str) -> tuple[str, ...] | None:
    """The keys moto's picker would try, in order, for a plain dict (None: not cacheable)."""
    parent = getattr(shape, "parent", None)
    cache_key = (id(shape), id(parent), key)
    entry = _aliases.get(cache_key)
    if entry is not None and entry[0] is shape and entry[1] is parent:
        return entry[2]
    try:
        # Any plain dict gives the same answer: no dict has a Meta, all are named "dict".
        keys = tuple(picker.get_possible_keys(AttributePickerContext(obj={}, key=key, shape=shape)))
    except Exception:  # moto would meet it lazily, perhaps not at all: let moto decide
        return None
    with _lock:
        if len(_aliases) >= MAX_ALIASES:
            _aliases.clear()
        _aliases[cache_key] = (shape, parent, keys)
    return keys


def _get_value(serializer: ResponseSerializer, value: Any, key: str, shape: Any) -> Any:
    picker = serializer._value_picker
    if (
        type(value) is not dict
        or type(picker) is not XFormedAttributePicker
        or picker.alias_providers is not DEFAULT_ALIAS_PROVIDERS
    ):
        return _originals["get_value"](serializer, value, key, shape)
    keys = _keys(picker, shape, key)
    if keys is None:
        return _originals["get_value"](serializer, value, key, shape)
    # From here on, exactly AttributePicker.__call__ (moto's get_value of a plain key on a
    # plain dict is a lookup that catches KeyError: dict.get, without raising).
    for possible_key in keys:
        if "." in possible_key:
            found = moto_get_value(value, possible_key, MISSING)
        else:
            found = value.get(possible_key, MISSING)
        if found is not MISSING:
            break
    else:
        found = None
    if picker.response_transformers:
        key_path = f"{'.'.join(serializer.path)}.{key}"
        for transform_path, transform in picker.response_transformers.items():
            if key_path.endswith(transform_path):
                found = transform(found)
                break
    return found


# id(structure shape) -> (shape, {member name: serialized name} of its single-key members)
_scalars: dict[int, tuple[Any, dict[str, str]]] = {}


def _scalar_members(serializer: ResponseSerializer, shape: Any) -> dict[str, str] | None:
    """The string members a one-key dict may be written for directly: those whose own
    aliases include their name and no other member's aliases do (None: not cacheable)."""
    entry = _scalars.get(id(shape))
    if entry is not None and entry[0] is shape:
        return entry[1]
    picker = serializer._value_picker
    keys: dict[str, tuple[str, ...]] = {}
    for name, member in shape.members.items():
        member.parent = shape  # what the walk sets on each member before looking it up
        found = _keys(picker, member, name)
        if found is None:
            return None
        keys[name] = found
    scalars = {
        name: serializer.get_serialized_name(member, name)
        for name, member in shape.members.items()
        if member.type_name == "string"
        and name in keys[name]
        and not any(name in other for key, other in keys.items() if key != name)
    }
    with _lock:
        if len(_scalars) >= MAX_ALIASES:
            _scalars.clear()
        _scalars[id(shape)] = (shape, scalars)
    return scalars


def _json_structure(
    serializer: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
) -> None:
    if (
        key
        and type(value) is dict
        and len(value) == 1
        and not shape.is_document_type
        and _plain_picker(serializer)
        and not serializer._value_picker.response_transformers
    ):
        ((name, item),) = value.items()
        if type(item) is str:
            scalars = _scalar_members(serializer, shape)
            if scalars is not None and name in scalars:
                wrapper = serializer.MAP_TYPE()
                wrapper[scalars[name]] = item
                serialized[serializer.get_serialized_name(shape, key)] = wrapper
                return
    _originals["json_structure"](serializer, serialized, value, shape, key)


def _json_map(serializer: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
    """``BaseJSONSerializer._serialize_type_map``, with each entry that
    ``_json_structure``'s shortcut writes (a one-key string AttributeValue-like dict)
    written here, without the two dispatches per entry (an item of a Query's answer)."""
    value_shape = shape.value
    kind: Any = type(serializer)
    if (
        type(value) is not dict
        or value_shape.type_name != "structure"
        or value_shape.is_document_type
        or kind._serialize is not ResponseSerializer._serialize
        or kind._serialize_type_structure is not _json_structure
        or not _plain_picker(serializer)
        or serializer._value_picker.response_transformers
    ):
        _originals["json_map"](serializer, serialized, value, shape, key)
        return
    map_obj: Any = serializer.MAP_TYPE()
    serializer._default_serialize(serialized, map_obj, shape, key)
    scalars = _scalar_members(serializer, value_shape)
    for sub_key, sub_value in value.items():
        if scalars is not None and sub_key and type(sub_value) is dict and len(sub_value) == 1:
            ((name, item),) = sub_value.items()
            if type(item) is str and name in scalars:
                wrapper = serializer.MAP_TYPE()
                wrapper[scalars[name]] = item
                map_obj[serializer.get_serialized_name(value_shape, sub_key)] = wrapper
                continue
        serializer._serialize(map_obj, sub_value, value_shape, sub_key)


def _plain_picker(serializer: Any) -> bool:
    """The serializer looks members up with moto's default picker, writes them with the
    base JSON methods (what the shortcut above reproduces)."""
    picker = serializer._value_picker
    kind: Any = type(serializer)
    return (
        type(picker) is XFormedAttributePicker
        and picker.alias_providers is DEFAULT_ALIAS_PROVIDERS
        and kind._serialize_type_string is BaseJSONSerializer._serialize_type_string
        and kind._default_serialize is ResponseSerializer._default_serialize
        and kind.get_serialized_name is ResponseSerializer.get_serialized_name
    )


# id(structure shape) -> (shape, {wire name: member name} of its string members whose
# wire name no other member shares)
_wire_names: dict[int, tuple[Any, dict[str, str]]] = {}


def _string_members(shape: Any) -> dict[str, str]:
    entry = _wire_names.get(id(shape))
    if entry is not None and entry[0] is shape:
        return entry[1]
    wire = [(member.serialization.get("name", name), name, member) for name, member in shape.members.items()]
    names = [json_name for json_name, _, _ in wire]
    strings = {
        json_name: name
        for json_name, name, member in wire
        if member.type_name == "string" and names.count(json_name) == 1
    }
    with _lock:
        if len(_wire_names) >= MAX_ALIASES:
            _wire_names.clear()
        _wire_names[id(shape)] = (shape, strings)
    return strings


def _string_member(parser: Any, strings: dict[str, str], value: Any) -> Any:
    """``{member: text}`` for a plain dict holding one ``str`` under the wire name of one
    of ``strings`` (what the walk builds: a string parses as itself); None otherwise."""
    if type(value) is dict and len(value) == 1:
        ((json_name, text),) = value.items()
        name = strings.get(json_name) if type(text) is str else None
        if name is not None:
            parsed = parser.MAP_TYPE()
            parsed[name] = text
            return parsed
    return None


def _json_parse_structure(parser: Any, shape: Any, value: Any) -> Any:
    if type(value) is dict and len(value) == 1 and not shape.is_document_type and _plain_parser(parser):
        parsed = _string_member(parser, _string_members(shape), value)
        if parsed is not None:
            return parsed
    return _originals["json_parse_structure"](parser, shape, value)


def _parse_map(parser: Any, shape: Any, value: Any) -> Any:
    # RequestParser._parse_map, with each one-key string AttributeValue-like value built
    # as _json_parse_structure builds it (and each str key read as itself).
    if (
        type(value) is not dict
        or not isinstance(parser, BaseJSONParser)
        or shape.key.type_name != "string"
        or not _plain_parser(parser)
    ):
        return _originals["parse_map"](parser, shape, value)
    value_shape = shape.value
    plain = value_shape.type_name == "structure" and not value_shape.is_document_type
    strings = _string_members(value_shape) if plain else {}
    parse: Any = parser._parse_shape  # moto's parser is untyped
    parsed = parser.MAP_TYPE()
    for key, item in value.items():
        member = _string_member(parser, strings, item) if strings else None
        if member is not None:
            parsed[key] = member
        else:
            parsed[parse(shape.key, key)] = parse(value_shape, item)
    return parsed


def _plain_parser(parser: Any) -> bool:
    """The parser reads strings with moto's default handler (what the shortcut assumes)."""
    kind: Any = type(parser)
    return (
        getattr(kind, "_parse_string", None) is None
        and kind._default_handle is RequestParser._default_handle
        and kind._parse_shape is RequestParser._parse_shape
    )


class _FunctionNames:
    """``name in method_names_from_class(cls)``, answered without listing the class:
    ``inspect.getmembers(cls, isfunction)`` holds ``name`` exactly when looking ``name``
    up on the class gives a plain function (a plain ``type`` metaclass has none)."""

    __slots__ = ("clazz",)

    def __init__(self, clazz: Any) -> None:
        self.clazz = clazz

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.clazz, name, None))


def _method_names(clazz: Any) -> Any:
    if type(clazz) is not type:
        return _originals["method_names"](clazz)
    return _FunctionNames(clazz)


def _item_init(item: Item, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """``Item.__init__``, with LimitedSizeDict's running size summed once per attribute."""
    item.hash_key = hash_key
    item.range_key = range_key
    limited = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        added = bytesize(key) + typed.size()
        if total + added > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(limited, key, typed)
        total += added
    item.attrs = limited


_query = threading.local()  # (table, partition key) of the query running on this thread


def _table_query(table: Table, *args: Any, **kwargs: Any) -> Any:
    hash_key = args[0] if args else kwargs.get("hash_key")
    index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
    if index_name or not isinstance(hash_key, DynamoType):
        return _originals["table_query"](table, *args, **kwargs)
    _query.hint = (table, hash_key)
    try:
        return _originals["table_query"](table, *args, **kwargs)
    finally:
        _query.hint = None


def _all_items(table: Table) -> list[Item]:
    hint = getattr(_query, "hint", None)
    if hint is None or hint[0] is not table:
        return _originals["all_items"](table)  # type: ignore[no-any-return]
    _query.hint = None  # the query's own listing only
    bucket = table.items.get(hint[1])  # a plain get: moto's defaultdict gains no key
    if bucket is None:
        return []
    items = list(bucket.values()) if table.range_key_attr else [bucket]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


# DynamoDB's scalar types: a deep copy of one holds the same (immutable) value.
_SCALARS = frozenset({"S", "N", "B", "BOOL", "NULL"})


def _dynamo_init(value: DynamoType, type_as_dict: Any) -> None:
    if type(type_as_dict) is dict and len(type_as_dict) == 1:
        ((kind, text),) = type_as_dict.items()
        if type(text) is str and (kind == "S" or kind == "N"):
            value.type = kind  # what DynamoType.__init__ sets for a one-key dict, a scalar
            value.value = text
            return
    _originals["dynamo_init"](value, type_as_dict)


def _dynamo_size(value: DynamoType) -> int:
    text = value.value
    if type(text) is str:
        if value.type == "S":
            return len(text.encode("utf-8"))  # bytesize
        if value.type == "N":
            return number_size(text)  # number_size(str(value))
    return _originals["dynamo_size"](value)  # type: ignore[no-any-return]


def _cast_value(value: DynamoType) -> Any:
    text = value.value
    if type(text) is str:
        if value.type == "S":
            return text
        if value.type == "N":
            return Decimal(text)
    return _originals["cast_value"].fget(value)


def _dynamo_deepcopy(value: DynamoType, memo: dict[int, Any]) -> DynamoType:
    # A copy of what moto 5.2.5's DynamoType holds: its type and value (a DynamoType with
    # other fields, from another moto, is copied by moto).
    if value.type not in _SCALARS or id(value) in memo or len(value.__dict__) != 2:
        return _originals["dynamo_deepcopy"](value, memo)  # type: ignore[no-any-return]
    result = value.__class__.__new__(value.__class__)
    memo[id(value)] = result
    result.type = value.type
    result.value = value.value
    return result


def _item_deepcopy(item: Item, memo: dict[int, Any]) -> Item:
    # moto 5.2.5's Item.__deepcopy__, with each attribute copied by _dynamo_deepcopy (an
    # item with other fields than that moto's, from another moto, is copied by moto).
    if id(item) in memo or item.__dict__.keys() != _ITEM_FIELDS:
        return _originals["item_deepcopy"](item, memo)  # type: ignore[no-any-return]
    result: Any = item.__class__.__new__(item.__class__)
    memo[id(item)] = result
    result.hash_key = copy.deepcopy(item.hash_key, memo)
    result.range_key = copy.deepcopy(item.range_key, memo)
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for key, value in item.attrs.items():
        copied = _dynamo_deepcopy(value, memo) if type(value) is DynamoType else copy.deepcopy(value, memo)
        dict.__setitem__(attrs, key, copied)
    result.attrs = attrs
    return result  # type: ignore[no-any-return]


_ITEM_FIELDS = {"hash_key", "range_key", "attrs"}


def _item_size(item: Item) -> int:
    total = 0
    for key, value in item.attrs.items():
        total += bytesize(key) + value.size()
    return total


def _dynamo_to_dict(value: Any) -> Any:
    kind = type(value)
    if kind is DynamoType:
        text = value.value
        if type(text) is str and (value.type == "S" or value.type == "N"):
            return {value.type: text}
    elif kind is dict or kind is LimitedSizeDict:  # neither has a to_json: moto walks it so
        return {key: _dynamo_to_dict(item) for key, item in value.items()}
    return _originals["dynamo_to_dict"](value)


def _random_string(
    generator: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
) -> str:
    pool = _ALPHANUMERIC if include_digits else string.ascii_letters
    if not _WORD_DRAWS:
        below = generator._randbelow  # type: ignore[attr-defined]
        text = "".join([pool[below(len(pool))] for _ in range(length)])
        return text.lower() if lower_case else text
    # choice(pool) is pool[_randbelow(62)]: getrandbits(6) until below 62, and each
    # getrandbits(6) is the top 6 bits of the generator's next 32-bit word. Words are drawn
    # in bulk (getrandbits(32 * n) holds the next n words, the first in the lowest bits) and
    # read in order, skipping the rejected ones as _randbelow would redraw: the same words
    # give the same characters, and no more words are drawn than _randbelow would draw
    # (at least one per character still missing). A word's top 6 bits are the top 6 bits
    # of its highest byte (every fourth byte, little-endian), so each word is read by
    # translating that byte: to its character, or to nothing for a rejected draw.
    table = _TABLES[pool]
    drawn = b""
    while len(drawn) < length:
        missing = length - len(drawn)
        words = generator.getrandbits(32 * missing).to_bytes(4 * missing, "little")
        drawn += words[3::4].translate(table).replace(b"\x00", b"")
    decoded = drawn.decode("ascii")
    return decoded.lower() if lower_case else decoded


def _byte_table(pool: str) -> bytes:
    """A byte → the pool's character for the draw its top bits make (0: rejected)."""
    shift = 8 - len(pool).bit_length()
    return bytes(ord(pool[b >> shift]) if b >> shift < len(pool) else 0 for b in range(256))


_ALPHANUMERIC = string.ascii_letters + string.digits
_TABLES = {pool: _byte_table(pool) for pool in (_ALPHANUMERIC, string.ascii_letters)}


# The word-by-word reading above holds for CPython's Mersenne Twister with the
# getrandbits-based _randbelow (what MotoRandom inherits).
_WORD_DRAWS = (
    getattr(MotoRandom, "_randbelow", None) is getattr(random.Random, "_randbelow_with_getrandbits", 0)
    and MotoRandom.getrandbits is random.Random.getrandbits
)


def _put_empty_attrs(field_updates: Any, table: Any) -> None:
    """``validate_put_has_empty_attrs``: the table's key names listed once."""
    if not table or type(field_updates) is not dict:
        return _originals["put_empty_attrs"](field_updates, table)  # type: ignore[no-any-return]
    keys = table.attribute_keys
    for name, value in field_updates.items():
        if name in keys:
            continue
        if type(value) is dict and len(value) == 1 and type(next(iter(value.values()))) in (str, bool):
            continue  # moto's check finds neither an empty set nor a nested value in it
        _originals["put_empty_attrs"]({name: value}, table)
    return None


def _defining(kind: type) -> type:
    """The class whose ``execute_result`` instances of ``kind`` run (not a subclass's own)."""
    return next(klass for klass in kind.__mro__ if "execute_result" in vars(klass))


# (serializer class, id(operation model), pretty) -> (operation model, status, headers, body)
_empty_answers: dict[tuple[Any, int, Any], tuple[Any, Any, dict[str, Any], Any]] = {}


def _execute_result(result: ActionResult, context: Any) -> Any:
    """``ActionResult.execute_result``, an empty answer serialized once (see above)."""
    serializer: Any = context.serializer_class
    if (
        type(result._result) is not dict
        or result._result
        or _defining(type(result)) is not ActionResult
        or getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
        or not issubclass(serializer, BaseJSONSerializer)
        or serializer._serialize_result is not ResponseSerializer._serialize_result
        or serializer._serialized_result_to_response is not BaseJSONSerializer._serialized_result_to_response
        or context.operation_model.has_event_stream_output
    ):
        return _originals["execute_result"](result, context)
    operation = context.operation_model
    key = (serializer, id(operation), moto_settings.PRETTIFY_RESPONSES)
    entry = _empty_answers.get(key)
    if entry is None or entry[0] is not operation:
        status, headers, body = _originals["execute_result"](result, context)
        entry = (operation, status, dict(headers), body)
        with _lock:
            if len(_empty_answers) >= MAX_ALIASES:
                _empty_answers.clear()
            _empty_answers[key] = entry
    return entry[1], dict(entry[2]), entry[3]


@lru_cache(maxsize=1024)
def _underscored(name: str) -> str:
    return _originals["camelcase"](name)  # type: ignore[no-any-return]


def _camelcase(argument: Any) -> Any:
    if type(argument) is not str:
        return _originals["camelcase"](argument)
    return _underscored(argument)


def _patches() -> list[tuple[str, Any, str, Any]]:
    return [
        ("put_empty_attrs", dynamodb_responses, "validate_put_has_empty_attrs", _put_empty_attrs),
        ("camelcase", moto_responses, "camelcase_to_underscores", _camelcase),
        ("execute_result", ActionResult, "execute_result", _execute_result),
        ("get_value", ResponseSerializer, "get_value", _get_value),
        ("json_structure", BaseJSONSerializer, "_serialize_type_structure", _json_structure),
        ("json_map", BaseJSONSerializer, "_serialize_type_map", _json_map),
        ("json_parse_structure", BaseJSONParser, "_parse_structure", _json_parse_structure),
        ("parse_map", RequestParser, "_parse_map", _parse_map),
        ("method_names", moto_responses, "method_names_from_class", _method_names),
        ("item_init", Item, "__init__", _item_init),
        ("table_query", Table, "query", _table_query),
        ("all_items", Table, "all_items", _all_items),
        ("dynamo_init", DynamoType, "__init__", _dynamo_init),
        ("dynamo_size", DynamoType, "size", _dynamo_size),
        ("cast_value", DynamoType, "cast_value", property(_cast_value)),
        ("dynamo_deepcopy", DynamoType, "__deepcopy__", _dynamo_deepcopy),
        ("random_string", MotoRandom, "get_random_string", _random_string),
        ("item_deepcopy", Item, "__deepcopy__", _item_deepcopy),
        ("item_size", Item, "size", _item_size),
        # moto's own recursion goes through the module's name, the handler's through its import.
        ("dynamo_to_dict", dynamodb_utilities, "dynamo_to_dict", _dynamo_to_dict),
        ("responses_dynamo_to_dict", dynamodb_responses, "dynamo_to_dict", _dynamo_to_dict),
    ]


def _forget() -> None:
    _underscored.cache_clear()
    with _lock:
        _empty_answers.clear()
        _aliases.clear()
        _scalars.clear()
        _wire_names.clear()


FAST_PATH = FastPath(
    "moto-layer",
    "moto's alias look-ups, request parsing and ids; its DynamoDB item model's sizes, copies, queries",
    written_for=(
        "moto.core.constants",
        "moto.core.parse",
        "moto.core.responses",
        "moto.core.serialize",
        "moto.core.utils",
        "moto.dynamodb.exceptions",
        "moto.dynamodb.models.dynamo_type",
        "moto.dynamodb.models.table",
        "moto.dynamodb.models.utilities",
        "moto.dynamodb.responses",
        "moto.moto_api._internal.moto_random",
        "moto.settings",
    ),
    patches=_patches,
    on_uninstall=_forget,
)
_originals = FAST_PATH.originals
