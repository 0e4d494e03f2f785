"""Strict JSON: how the product reads JSON a user wrote — routine files (``routines
validate/compile/run/push``), ``routines run --input``, API request bodies and webhook
bodies. One parser, so the same bytes get the same answer everywhere.

``json.loads`` accepts what a user never means and the product cannot keep, and fails
on some of it in ways that are not errors about the text:

- a key repeated in one object: the last silently wins;
- ``NaN`` and ``Infinity`` (not JSON), and numbers that overflow to infinity (``1e400``);
- integers longer than Python converts (4,300 digits): a bare ``ValueError``;
- nesting deep enough to exhaust the stack: ``RecursionError`` — or text that parses
  and then breaks what recurses over it next (``json.dumps``, ``copy.deepcopy``);
- unpaired UTF-16 surrogates (``"\\ud800"``, or bytes that were not UTF-8): text that no
  store or AWS service accepts.

:func:`loads` refuses each of them with one :class:`JsonTextError` listing every
:class:`Issue`: its kind, a message and where it is, as path segments from the root
(``("nodes", 1, "parameters")``); callers turn that into their own codes and paths (the
validator's for routine documents, ``body.…`` for API bodies). Standard library only:
the CLI, the API and webhook Lambdas and the validator all import it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from contract.errors import RoutinesError

# Deeper than any real payload, well inside what Python's recursive JSON handling (the
# parser itself, json.dumps, copy.deepcopy) survives. Routine documents have their own,
# smaller limit (contract.limits.MAX_DEPTH), reported with the validator's path.
MAX_DEPTH = 128
# Python's own limit for converting digits to an int (sys.int_info.default_max_str_digits).
MAX_INTEGER_DIGITS = 4300
MAX_ISSUES = 20  # a body of a thousand repeated keys is not a thousand errors

# Kinds of issue. SYNTAX and ENCODING: the text is not JSON. The others: it is JSON, but
# JSON the product does not accept.
SYNTAX = "syntax"
ENCODING = "encoding"
DEPTH = "depth"
DUPLICATE_KEY = "duplicate_key"
NUMBER = "number"
STRING = "string"
NOT_JSON = frozenset({SYNTAX, ENCODING})

# Past this nesting the text is refused unparsed, with no place named: parsing it would
# recurse that deep, and how deep Python may recurse depends on the caller's stack.
MAX_PARSED_DEPTH = 4 * MAX_DEPTH

Segments = tuple[str | int, ...]
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Removing escapes, then strings (unterminated ones to the end), leaves the structure:
# linear whatever the text, valid JSON or not.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*+"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass(frozen=True, slots=True)
class Issue:
    kind: str
    message: str
    segments: Segments = ()  # where, from the root; () for the whole text


class JsonTextError(RoutinesError, ValueError):
    """Why a text was refused. ``value`` is what it parsed to, when it parsed at all
    (duplicates resolved last-wins, refused numbers as placeholders): enough to name a
    routine node by its id in a path."""

    def __init__(self, issues: list[Issue], value: Any = None, parsed: bool = False) -> None:
        super().__init__(issues[0].message)
        self.issues = issues
        self.value = value
        self.parsed = parsed

    @property
    def not_json(self) -> bool:
        """The text is not JSON at all (rather than JSON that is refused)."""
        return any(issue.kind in NOT_JSON for issue in self.issues)


def decode(raw: bytes) -> str:
    """UTF-8 text (a leading byte order mark is dropped by :func:`loads`)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonTextError([Issue(ENCODING, f"not UTF-8 text (byte {exc.start})")]) from None


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``text``, or :class:`JsonTextError`."""
    text = text.removeprefix("\ufeff")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Raw surrogates: bytes that were not UTF-8, kept by surrogateescape.
        at = len(text[: exc.start].encode("utf-8"))
        raise JsonTextError([Issue(ENCODING, f"not UTF-8 text (byte {at})")]) from None
    # Cheap gates (C-speed scans) first: most texts need none of what they guard.
    nesting = _nesting(text) if text.count("[") + text.count("{") > max_depth else 0
    if nesting > max(max_depth, MAX_PARSED_DEPTH):
        raise JsonTextError([Issue(DEPTH, too_deep(max_depth))])
    found = _Found()
    try:
        value = json.loads(
            text,
            object_pairs_hook=found.object,
            parse_int=found.integer,
            parse_float=found.floating,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise JsonTextError([Issue(SYNTAX, message)]) from None
    except _Constant as exc:
        raise JsonTextError([Issue(SYNTAX, f"{exc.name} is not valid JSON")]) from None
    except RecursionError:  # a caller already deep in its stack
        raise JsonTextError([Issue(DEPTH, too_deep(max_depth))]) from None
    surrogates = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    if found.marked or nesting > max_depth or surrogates:
        issues = _walk(value, max_depth, surrogates)
        if issues:
            raise JsonTextError(issues, value, parsed=True)
    return value


def _nesting(text: str) -> int:
    """How deeply brackets nest outside strings (for JSON text: its nesting)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(max_depth: int) -> str:
    return f"nests deeper than {max_depth} levels"


class _Constant(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _constant(name: str) -> Any:
    raise _Constant(name)


class _Duplicates(dict[str, Any]):
    """An object with repeated keys, as parsed (last wins); found again by the walk."""

    repeated: list[str]


@dataclass(frozen=True, slots=True)
class _BadNumber:
    message: str


class _Found:
    """The parser's hooks: they mark what is refused instead of raising, so the walk can
    say where it is (hooks see values, not their place)."""

    def __init__(self) -> None:
        self.marked = False

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        self.marked = True
        marked = _Duplicates(value)
        marked.repeated = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
        return marked

    def integer(self, digits: str) -> Any:
        count = len(digits.lstrip("-"))
        if count <= MAX_INTEGER_DIGITS:
            try:
                return int(digits)
            except ValueError:  # an interpreter started with a lower limit
                pass
        self.marked = True
        return _BadNumber(f"an integer of {count:,} digits; at most {MAX_INTEGER_DIGITS:,} are accepted")

    def floating(self, text: str) -> Any:
        value = float(text)
        if math.isfinite(value):
            return value
        self.marked = True
        shown = text if len(text) <= 24 else f"{text[:20]}… ({len(text):,} characters)"
        return _BadNumber(f"the number {shown} is out of range (it would be infinity)")


def _walk(root: Any, max_depth: int, strings: bool) -> list[Issue]:
    """Every refused thing in ``root``, in document order, with where it is. Iterative:
    depth cannot crash it."""
    issues: list[Issue] = []
    stack: list[tuple[Any, Segments]] = [(root, ())]
    while stack and len(issues) < MAX_ISSUES:
        value, segments = stack.pop()
        if isinstance(value, dict | list) and len(segments) >= max_depth:
            issues.append(Issue(DEPTH, too_deep(max_depth), segments))
            continue
        if isinstance(value, dict):
            for key in getattr(value, "repeated", ()):
                message = f"duplicate key '{_shown(key, 64)}': a key may appear only once in an object"
                issues.append(Issue(DUPLICATE_KEY, message, _safe((*segments, key))))
            if strings:
                issues += [_surrogate((*segments, key)) for key in value if not _storable(key)]
            stack.extend((v, (*segments, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((value[i], (*segments, i)) for i in range(len(value) - 1, -1, -1))
        elif isinstance(value, _BadNumber):
            issues.append(Issue(NUMBER, value.message, _safe(segments)))
        elif strings and isinstance(value, str) and not _storable(value):
            issues.append(_surrogate(segments))
    return issues[:MAX_ISSUES]


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate(segments: Segments) -> Issue:
    message = "text contains an unpaired surrogate (a \\uD800-\\uDFFF escape without its pair)"
    return Issue(STRING, message, _safe(segments))


def _shown(key: str, limit: int | None = None) -> str:
    """A key as it can be printed and stored: unpaired surrogates as escapes."""
    text = key if _storable(key) else key.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _safe(segments: Segments) -> Segments:
    return tuple(s if isinstance(s, int) else _shown(s) for s in segments)
