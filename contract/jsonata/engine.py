"""The one JSONata implementation: jsonatapy, with Step Functions' own functions.

Step Functions runs JSONata 2.0.6 with six functions of its own (``$partition``,
``$range``, ``$hash``, ``$random`` with an optional seed, ``$uuid``, ``$parse``) and
without ``$eval``. Everything that evaluates a routine's expressions — the plugin Lambdas
(secrets, offloaded values), moto's interpreter locally, the save-time checks — compiles
them here, so an expression means the same thing wherever it runs.

Where jsonatapy differs from JSONata 2.0.6 (JavaScript), the JavaScript behaviour is
restored here: ``$now(picture, timezone)`` (jsonatapy takes no arguments) and the four URL
functions, which JSONata defines as JavaScript's ``encodeURI``, ``encodeURIComponent``,
``decodeURI`` and ``decodeURIComponent`` (jsonatapy leaves ``"a b"`` unescaped in
``$encodeUrl``, escapes ``-_.!~*'()`` in ``$encodeUrlComponent``, decodes ``%2F`` in
``$decodeUrl`` and accepts a malformed ``%``).
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jsonatapy

from contract.errors import RoutinesError


class JsonataError(RoutinesError, ValueError):
    """An expression that does not parse or fails to evaluate. ``jsonata_code`` is JSONata's
    error code (``S0201``, ``T2001``, ``D3001``…) when it gave one; ``message`` is for people."""

    code = "invalid_expression"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.jsonata_code = code
        self.message = message


class _Undefined:
    """JSONata's ``undefined``: no value at all (a path that matched nothing). It is not
    JSON; callers decide what it becomes (``null`` in a node's parameters, a failed state
    in a Step Functions field)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list):
        raise JsonataError("$partition: the first argument must be an array")
    if not isinstance(size, int | float) or isinstance(size, bool) or size != int(size) or size < 1:
        raise JsonataError("$partition: the chunk size must be a whole number of at least 1")
    step = int(size)
    return [array[i : i + step] for i in range(0, len(array), step)]


def _range(start: Any, end: Any, step: Any) -> list[Any]:
    for value in (start, end, step):
        if not isinstance(value, int | float) or isinstance(value, bool) or value != int(value):
            raise JsonataError("$range: start, end and step must be whole numbers")
    first, last, by = int(start), int(end), int(step)
    if by == 0:
        raise JsonataError("$range: the step must not be 0")
    return list(range(first, last + (1 if by > 0 else -1), by))


def _hash(value: Any, algorithm: Any) -> str:
    if not isinstance(value, str):
        raise JsonataError("$hash: the value must be a string")
    name = HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise JsonataError(f"$hash: the algorithm must be one of {', '.join(HASH_ALGORITHMS)}")
    return hashlib.new(name, value.encode()).hexdigest()


def _random(seed: Any = None) -> float:
    # Seeded: the same seed gives the same number (AWS documents that; its generator is its
    # own, so a seeded value here is not the value AWS would give).
    if seed is None:
        return random.random()
    return random.Random(json.dumps(seed, sort_keys=True)).random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise JsonataError("$parse: the value must be a string")
    try:  # JSON's numbers are JSONata's doubles: an integer past 64 bits is its nearest
        return json.loads(text, parse_int=_json_int, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise JsonataError(f"$parse: not JSON text ({exc.msg} at character {exc.pos})") from None


def _json_int(digits: str) -> int | float:
    value = int(digits)
    return value if -(2**63) <= value < 2**63 else float(value)


def _not_json(word: str) -> Any:
    """NaN and Infinity, which Python's json reads and JSON (JSON.parse, on AWS) does not."""
    raise json.JSONDecodeError(f"{word} is not JSON", word, 0)


# JSONata's $number reads text that is a JSON number, or hex, octal or binary with its prefix;
# jsonatapy also reads '+5', '.5', '5.', ' 12' and '3\n', which fail on AWS. jsonatapy will
# not let its $number be replaced, so the definition below refuses those before calling it.
_NUMBER_TEXT = r"/^(-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?|0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+)$/"
NUMBER_REFUSED = "__numberRefused"  # users may not bind names beginning "__"


def _number_refused(value: Any) -> Any:
    raise JsonataError(f"D3030: Cannot convert {_shown(value)} to number")


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _no_eval(*_: Any) -> Any:
    raise JsonataError("$eval is not available in Step Functions; use $parse for JSON text")


# JavaScript's encodeURI leaves these unescaped besides letters, digits and "-_.~" (which
# Python's quote never escapes); encodeURIComponent leaves only "!*'()" besides; decodeURI
# keeps the escapes of the reserved characters it would not have escaped.
_URI_KEPT = ";,/?:@&=+$#!*'()"
_COMPONENT_KEPT = "!*'()"
_URI_RESERVED = frozenset(";/?:@&=+$,#")


def _malformed(name: str, text: str) -> JsonataError:
    return JsonataError(f"D3140: Malformed URL passed to ${name}(): {json.dumps(text, ensure_ascii=False)}")


def _encoder(name: str, kept: str) -> Callable[[Any], str]:
    def encode(text: Any) -> str:
        try:
            return urllib.parse.quote(text, safe=kept, encoding="utf-8", errors="strict")
        except UnicodeEncodeError:  # a lone surrogate: JavaScript's URIError
            raise _malformed(name, text) from None

    return encode


def _escaped_byte(text: str, at: int, name: str) -> int:
    """The byte of the escape ``%XX`` at ``at``; anything else there is malformed."""
    digits = text[at + 1 : at + 3]
    if text[at : at + 1] != "%" or len(digits) != 2 or not set(digits) <= set(string.hexdigits):
        raise _malformed(name, text)
    return int(digits, 16)


def _decoder(name: str, reserved: frozenset[str]) -> Callable[[Any], str]:
    """ECMAScript's Decode: escapes of UTF-8 sequences become their character; an escape of
    a ``reserved`` character stays as written; a malformed escape or sequence is an error."""

    def decode(text: Any) -> str:
        out: list[str] = []
        at = 0
        while at < len(text):
            if text[at] != "%":
                out.append(text[at])
                at += 1
                continue
            first = _escaped_byte(text, at, name)
            if first < 0x80:
                character = chr(first)
                out.append(text[at : at + 3] if character in reserved else character)
                at += 3
                continue
            length = 2 if 0xC0 <= first < 0xE0 else 3 if 0xE0 <= first < 0xF0 else 4 if first < 0xF8 else 0
            if length == 0:  # a continuation byte, or no UTF-8 lead byte
                raise _malformed(name, text)
            sequence = bytes([first] + [_escaped_byte(text, at + 3 * k, name) for k in range(1, length)])
            try:  # strict: overlong forms, surrogates and code points past U+10FFFF fail
                out.append(sequence.decode("utf-8"))
            except UnicodeDecodeError:
                raise _malformed(name, text) from None
            at += 3 * length
        return "".join(out)

    return decode


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
    NUMBER_REFUSED: _number_refused,
}
_OVERRIDES: dict[str, Callable[..., Any]] = {
    "random": _random,
    "eval": _no_eval,
    "encodeUrl": _encoder("encodeUrl", _URI_KEPT),
    "encodeUrlComponent": _encoder("encodeUrlComponent", _COMPONENT_KEPT),
    "decodeUrl": _decoder("decodeUrl", _URI_RESERVED),
    "decodeUrlComponent": _decoder("decodeUrlComponent", frozenset()),
}
_URL_FUNCTIONS = ("encodeUrl", "encodeUrlComponent", "decodeUrl", "decodeUrlComponent")
# JSONata-level definitions an expression that names them is evaluated under: a host
# function cannot tell undefined from null (both arrive as None) nor take the context as
# its argument, so each URL function is a lambda with JSONata's own signature (<s-:s>:
# undefined in, undefined out; null or a number refused) around its Python body.
_PRELUDE: dict[str, str] = {
    "now": "$now := function($picture, $timezone)<s?s?:s>{ $fromMillis($millis(), $picture, $timezone) }",
    **{
        name: f"${name} := ($f := ${name}; function($text)<s-:s>{{ $exists($text) ? $f($text) }})"
        for name in _URL_FUNCTIONS
    },
    "number": (
        "$number := ($f := $number; function($value)<(nsb)-:n>{ "
        f"$type($value) = 'string' and $not($contains($value, {_NUMBER_TEXT})) "
        f"? ${NUMBER_REFUSED}($value) : $f($value) }})"
    ),
}


class Compiled:
    """A compiled expression with Step Functions' functions registered."""

    __slots__ = ("_expression", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._expression: Any = _compile(source)

    def evaluate(self, data: Any = None, bindings: Mapping[str, Any] | None = None) -> Any:
        """The value, or :data:`UNDEFINED` when the expression yields nothing."""
        expression = self._expression if self._expression is not None else _compile(self.source)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        bound = dict(bindings) if bindings else None
        try:
            try:
                result = expression.evaluate_json_or_none(text, bound)
            except OverflowError:
                # An integer past 64 bits in the bindings, which jsonatapy takes as i64 (the
                # data goes as JSON text): JSONata's numbers are doubles, as on AWS.
                result = expression.evaluate_json_or_none(text, _doubles(bound))
        except ValueError as exc:
            error = exc if isinstance(exc, JsonataError) else _error(exc)
        else:
            return UNDEFINED if result is None else json.loads(result)
        # Dropped here, on the thread that made it (compiled again if evaluated again): the
        # error's traceback holds this object's frame, may end up in a reference cycle, and
        # be freed by another thread's collection, where jsonatapy refuses to drop it.
        self._expression = expression = None
        raise error


def _compile(source: str) -> Any:
    """``source`` compiled by jsonatapy, with Step Functions' functions and the JavaScript
    definitions it names; a syntax error is the user's text's own."""
    expression: Any = None
    try:
        expression = jsonatapy.compile(source)  # its syntax errors, at their positions
        prelude = [text for name, text in _PRELUDE.items() if f"${name}" in source]
        if prelude:
            expression = jsonatapy.compile("(" + "; ".join(prelude) + "; (" + source + "\n))")
        for name, function in _FUNCTIONS.items():
            expression.register(name, function)
        for name, function in _OVERRIDES.items():
            _override(expression, name, function)
    except ValueError as exc:
        error = _error(exc)
    else:
        return expression
    expression = None  # see Compiled.evaluate: not kept alive by the traceback
    raise error


def _doubles(value: Any) -> Any:
    """``value`` with its integers past 64 bits as the nearest doubles."""
    if isinstance(value, dict):
        return {k: _doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def _override(expression: Any, name: str, function: Any) -> None:
    try:
        expression.register_override(name, function)
    except ValueError:  # not a built-in of this release ($random is missing in 2.2): add it
        expression.register(name, function)


def _error(exc: ValueError) -> JsonataError:
    text = str(exc).removeprefix("host function raised JsonataError: ")
    code, _, rest = text.partition(": ")
    # jsonatapy's messages read "S0207: Unexpected end…" or "Parse error: S0207: …"
    if code == "Parse error":
        code, _, rest = rest.partition(": ")
    if len(code) == 5 and code[0].isalpha() and code[1:].isdigit():
        return JsonataError(rest or text, code)
    return JsonataError(text)


def compile_expression(source: str) -> Compiled:
    """``source`` compiled, fresh each time. Not cached: compiling costs about what one
    evaluation does (8 µs each, measured on a 100-character expression), and a jsonatapy
    expression may only be used and dropped on the thread that compiled it — a cache
    would be dropped by whichever thread outlives the one that filled it (the local
    runtime runs branches and iterations on threads of their own)."""
    return Compiled(source)


def evaluate(source: str, data: Any = None, bindings: Mapping[str, Any] | None = None) -> Any:
    """Evaluate ``source`` against ``data`` with ``bindings`` (names without ``$``)."""
    return compile_expression(source).evaluate(data, bindings)


__all__ = ["HASH_ALGORITHMS", "UNDEFINED", "Compiled", "JsonataError", "compile_expression", "evaluate"]
