"""The one JSONata implementation: jsonatapy, with Step Functions' own functions.

Step Functions runs JSONata 2.0.6 with six functions of its own (``$partition``,
``$range``, ``$hash``, ``$random`` with an optional seed, ``$uuid``, ``$parse``) and
without ``$eval``. Everything that evaluates a routine's expressions — the plugin Lambdas
(secrets, offloaded values), moto's interpreter locally, the save-time checks — compiles
them here, so an expression means the same thing wherever it runs.
"""

from __future__ import annotations

import hashlib
import json
import random
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
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonataError(f"$parse: not JSON text ({exc.msg} at character {exc.pos})") from None


def _no_eval(*_: Any) -> Any:
    raise JsonataError("$eval is not available in Step Functions; use $parse for JSON text")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
}
_OVERRIDES: dict[str, Callable[..., Any]] = {"random": _random, "eval": _no_eval}


class Compiled:
    """A compiled expression with Step Functions' functions registered."""

    __slots__ = ("_expression", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            expression = jsonatapy.compile(source)
            for name, function in _FUNCTIONS.items():
                expression.register(name, function)
            for name, function in _OVERRIDES.items():
                _override(expression, name, function)
        except ValueError as exc:
            raise _error(exc) from None
        self._expression = expression

    def evaluate(self, data: Any = None, bindings: Mapping[str, Any] | None = None) -> Any:
        """The value, or :data:`UNDEFINED` when the expression yields nothing."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        try:
            result = self._expression.evaluate_json_or_none(text, dict(bindings) if bindings else None)
        except JsonataError:
            raise
        except ValueError as exc:
            raise _error(exc) from None
        return UNDEFINED if result is None else json.loads(result)


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
