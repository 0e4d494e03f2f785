"""Plain JSONPaths (``$``, ``$.a``, ``$.a.b`` ...) found without jsonpath-ng's machinery.

moto reads every path of a state (``$.node_order``, ``$$.Execution.Id``, a Choice's
``Variable`` ...) with ``extract_json``: jsonpath-ng's ``find`` wraps each step in
context objects and builds the match list through several layers of calls, ~15 µs a
path, several paths per state. Most paths the compiler emits are plain field names from
the root. For those, :func:`simplified` gives an expression whose ``find`` walks the
dicts directly and returns what ``extract_json`` reads of jsonpath-ng's answer: no match,
or one match whose value is the field's value and whose path is the last ``Fields`` (no
``Index``, so ``extract_json`` returns the value itself, as it does for jsonpath-ng's).

jsonpath-ng looks a field up with ``value.get(name)`` and finds nothing where the value
has no ``get`` (a list, a string, a number, ``null``): so does this. Anything else (a
value of another type, an ``auto_id_field`` set, data already wrapped in a context) goes
to jsonpath-ng's own ``find``; so does every other path (indexes, slices, filters,
wildcards). Used by :mod:`functions.local.fastpaths.interpreter`, which caches parsed paths.
"""

from __future__ import annotations

from typing import Any

from jsonpath_ng import jsonpath
from jsonpath_ng.jsonpath import Child, Fields, Root

NO_GET = frozenset({list, str, int, float, bool, type(None)})  # values without .get
_MISSING = object()


class Match:
    """One match as ``extract_json`` reads it: ``value``, ``path`` (never an ``Index``)
    and no ``context`` to look into."""

    __slots__ = ("context", "path", "value")

    def __init__(self, value: Any, path: Any) -> None:
        self.value = value
        self.path = path
        self.context = None


class DottedPath:
    """A parsed ``$.a.b`` path: ``find`` as jsonpath-ng's for plain JSON data."""

    __slots__ = ("expression", "last", "names")

    def __init__(self, expression: Any, names: tuple[str, ...]) -> None:
        self.expression = expression  # jsonpath-ng's own, for anything else
        self.names = names
        self.last = expression.right if names else expression

    def find(self, data: Any) -> list[Any]:
        if jsonpath.auto_id_field is not None or (type(data) is not dict and type(data) not in NO_GET):
            return list(self.expression.find(data))
        value = data
        for name in self.names:
            kind = type(value)
            if kind is dict:
                value = value.get(name, _MISSING)
                if value is _MISSING:
                    return []
            elif kind in NO_GET:
                return []
            else:
                return list(self.expression.find(data))
        return [Match(value, self.last)]

    def __getattr__(self, name: str) -> Any:  # any other use: the expression itself
        return getattr(self.expression, name)

    def __repr__(self) -> str:
        return repr(self.expression)


def simplified(expression: Any) -> Any:
    """``expression`` as a :class:`DottedPath` if it is ``Root`` followed by plain
    single-name fields; otherwise ``expression`` itself."""
    names: list[str] = []
    node = expression
    while type(node) is Child:
        right = node.right
        if (
            type(right) is not Fields
            or len(right.fields) != 1
            or not isinstance(right.fields[0], str)
            or right.fields[0] == "*"  # a wildcard in jsonpath-ng before 2.0
            or getattr(right, "_deprecated_wildcard_use", False)
        ):
            return expression
        names.append(right.fields[0])
        node = node.left
    if type(node) is not Root:
        return expression
    return DottedPath(expression, tuple(reversed(names)))
