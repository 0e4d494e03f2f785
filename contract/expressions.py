"""``{{ ... }}`` expressions: parsing, the references they make, and evaluation.

Each ``{{ }}`` holds a JSONata expression (the language of Step Functions' JSONata mode)
reading from the roots ``trigger``, ``nodes``, ``vars``, ``loop``, ``execution``,
``secrets`` and, inside filter conditions, ``item`` (see
:mod:`contract.jsonata.references`). Expressions in the older JSONPath dialect are
translated to JSONata (:mod:`contract.jsonata.jsonpath`) and flagged. A string that is
exactly one expression yields the raw value (undefined → ``null``); any other string
yields text. The same parser serves the save-time validator, the compiler (which puts
:meth:`Template.native` into ``{% %}``) and the plugin runtime (:meth:`Template.render`,
which evaluates that same text).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from contract.errors import RoutinesError
from contract.jsonata.engine import UNDEFINED, JsonataError, compile_expression
from contract.jsonata.jsonpath import JsonPathError, looks_like_jsonpath, to_jsonata
from contract.jsonata.lexer import LexError, Token, field_text, template_end, tokenize
from contract.jsonata.references import Reference, ReferenceError_, analyze
from contract.jsonata.translate import RootText, concatenate, translate, whole
from contract.limits import MAX_EXPRESSION_LENGTH

ROOTS = ("trigger", "nodes", "vars", "loop", "execution", "secrets", "item")
EXECUTION_FIELDS = ("id", "routineId", "startedAt")
LOOP_FIELDS = ("item", "index")

# JSONata 2.0's function library, and the six Step Functions adds ($eval it removes).
JSONATA_FUNCTIONS = frozenset(
    {
        "string",
        "length",
        "substring",
        "substringBefore",
        "substringAfter",
        "uppercase",
        "lowercase",
        "trim",
        "pad",
        "contains",
        "split",
        "join",
        "match",
        "replace",
        "base64encode",
        "base64decode",
        "encodeUrlComponent",
        "encodeUrl",
        "decodeUrlComponent",
        "decodeUrl",
        "formatNumber",
        "formatBase",
        "formatInteger",
        "parseInteger",
        "number",
        "abs",
        "floor",
        "ceil",
        "round",
        "power",
        "sqrt",
        "random",
        "boolean",
        "not",
        "exists",
        "count",
        "append",
        "sort",
        "reverse",
        "shuffle",
        "distinct",
        "zip",
        "keys",
        "lookup",
        "spread",
        "merge",
        "sift",
        "each",
        "error",
        "assert",
        "type",
        "sum",
        "max",
        "min",
        "average",
        "now",
        "millis",
        "fromMillis",
        "toMillis",
        "map",
        "filter",
        "single",
        "reduce",
        "",
    }
)
STEP_FUNCTIONS_FUNCTIONS = frozenset({"partition", "range", "hash", "random", "uuid", "parse"})
BINDING = "__routine"  # the variable render() binds the context to (users may not bind __*)
Dialect = Literal["jsonata", "jsonpath"]


class ExpressionSyntaxError(RoutinesError, ValueError):
    """An expression that does not parse; ``message`` says why, for the user."""


class ExpressionTooLong(ExpressionSyntaxError):
    """An expression over the product limit (reported as ``limit_exceeded``)."""


class ExpressionError(RoutinesError, ValueError):
    """An expression that failed while evaluating (``'a' + 1``, ``$number('x')``)."""


@dataclass(frozen=True, slots=True)
class Expression:
    """One ``{{ }}``: its text, what it reads, and its JSONata form.

    ``jsonata`` is ``source`` itself, or its translation when ``dialect`` is ``jsonpath``;
    ``references`` (offsets into ``jsonata``) are every root path it reads;
    ``unknown_variables`` are the ``$names`` it uses without binding them that are not
    functions (values come from roots)."""

    source: str
    references: tuple[Reference, ...]
    jsonata: str
    dialect: Dialect = "jsonata"
    unknown_variables: tuple[str, ...] = ()
    tokens: tuple[Token, ...] = field(default=(), repr=False, compare=False)

    @property
    def reference(self) -> Reference | None:
        """The reference, when the expression makes exactly one."""
        return self.references[0] if len(self.references) == 1 else None

    @property
    def path(self) -> Reference | None:
        """The reference when the whole expression is one plain path from a root
        (``nodes.fetch.body.items[0].id``, ``$$.vars.limit``): fields and indices only."""
        ref = self.reference
        if ref is not None and ref.plain and ref.start == 0 and len(ref.source) == len(self.jsonata):
            return ref
        return None

    def translate(self, root_text: RootText) -> str:
        """The JSONata text with each reference's head replaced by ``root_text(ref)``."""
        return translate(self.jsonata, root_text, self.references, self.tokens)


@dataclass(frozen=True, slots=True)
class Template:
    """A string parameter split into literal text and expressions."""

    parts: tuple[str | Expression, ...]

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p for p in self.parts if isinstance(p, Expression))

    @property
    def whole(self) -> Expression | None:
        """The expression, when the string is exactly one (so it yields a raw value)."""
        parts = [p for p in self.parts if not (isinstance(p, str) and not p.strip())]
        return parts[0] if len(parts) == 1 and isinstance(parts[0], Expression) else None

    def native(self, root_text: RootText) -> str:
        """ONE JSONata expression giving the template's value: what the compiler puts in
        ``{% %}``, and what :meth:`render` evaluates."""
        single = self.whole
        if single is not None:
            return whole(single.translate(root_text))
        return concatenate([p if isinstance(p, str) else (p.translate(root_text),) for p in self.parts])

    def render(self, context: Mapping[str, Any]) -> Any:
        """The value in ``context`` (``{"trigger", "nodes", "vars", …}``): a whole expression
        yields its value (``null`` for no match), mixed text a string.

        Plain paths (fields and indices through objects, as most are) are walked in Python:
        the same value JSONata gives, with numbers exactly as they are (JSONata's are
        doubles: 12345678901234567 would come back 12345678901234568)."""
        single = self.whole
        if single is not None:
            found = _walk(single, context)
            if found is not _FALLBACK:
                return found
        else:
            text = _render_text(self.parts, context)
            if text is not None:
                return text
        return self._evaluate(context)

    def _evaluate(self, context: Mapping[str, Any]) -> Any:
        source = self.native(_bound)
        try:
            value = compile_expression(source).evaluate(None, {BINDING: _slice(self.expressions, context)})
        except JsonataError as exc:
            shown = " ".join(f"{{{{ {e.source} }}}}" for e in self.expressions)
            raise ExpressionError(f"{shown}: {exc.message}") from None
        return None if value is UNDEFINED else value


def _bound(ref: Reference) -> str:
    head = f"${BINDING}.{ref.root}"
    return head if ref.name is None else f"{head}.{field_text(ref.name)}"


def _slice(expressions: tuple[Expression, ...], context: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``context`` the expressions read (bindings are converted per call)."""
    out: dict[str, Any] = {}
    names: dict[str, set[str] | None] = {}
    for expression in expressions:
        for ref in expression.references:
            if ref.root not in ROOTS:
                continue
            known = names.get(ref.root, set())
            if ref.name is None or known is None:
                names[ref.root] = None
            else:
                known.add(ref.name)
                names[ref.root] = known
    for root, wanted in names.items():
        value = context.get(root)
        if wanted is not None and isinstance(value, Mapping):
            value = {k: value[k] for k in wanted if k in value}
        out[root] = value
    return out


_FALLBACK = object()
_ABSENT = object()


def _walk(expression: Expression, context: Mapping[str, Any]) -> Any:
    """A plain path walked as JSONata walks it, or ``_FALLBACK`` where JSONata would do
    more than look up (a field of a list maps over it; an index of a non-list)."""
    ref = expression.path
    if ref is None:
        return _FALLBACK
    value = context.get(ref.root)
    for step in ref.steps:
        if value is None:
            return None
        if type(step) is int:
            if not isinstance(value, list | tuple):
                return _FALLBACK
            if not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            if isinstance(value, list | tuple):
                return _FALLBACK
            if not isinstance(value, Mapping):
                return None
            value = value.get(step, None)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # JSONata has one number type: 1.0 is 1
    return value


def _render_text(parts: tuple[str | Expression, ...], context: Mapping[str, Any]) -> str | None:
    """Mixed text from walked values, when each is text JSONata writes the same way."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = _walk(part, context)
        if value is None:
            out.append("")
        elif isinstance(value, str):
            out.append(value)
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, int):
            out.append(str(value))
        else:
            return None  # _FALLBACK, floats, objects, lists: $string writes them
    return "".join(out)


def has_expression(text: str) -> bool:
    return "{{" in text


def parse_template(text: str) -> Template:
    """Split ``text`` into literals and parsed expressions; raise on the first bad one."""
    # A template is immutable: every invocation of a node parses the same few texts.
    return _cached_template(text) if len(text) <= MAX_CACHED_TEMPLATE else _parse_template(text)


MAX_CACHED_TEMPLATE = 4_096  # characters: longer texts (an e-mail body) are parsed each time


@lru_cache(maxsize=8_192)
def _cached_template(text: str) -> Template:
    return _parse_template(text)


def _parse_template(text: str) -> Template:
    parts: list[str | Expression] = []
    pos = 0
    while (opening := text.find("{{", pos)) >= 0:
        if opening > pos:
            parts.append(text[pos:opening])
        try:
            close = template_end(text, opening + 2)
        except LexError as exc:
            close = text.find("}}", opening + 2)
            if close < 0:
                raise ExpressionSyntaxError("'{{' is never closed by '}}'") from None
            if exc.message.startswith("'{{'"):
                raise ExpressionSyntaxError(exc.message) from None
        parts.append(parse_expression(text[opening + 2 : close]))
        pos = close + 2
    if pos < len(text):
        parts.append(text[pos:])
    return Template(tuple(parts))


# Operators people bring from JavaScript and Python (the lexer reads '==' as two '='), and
# what JSONata writes instead.
_OPERATOR_HINTS = {("=", "="): ("==", "="), ("&", "&"): ("&&", "and"), ("|", "|"): ("||", "or")}


def _hint(problem: str, tokens: Sequence[Token]) -> str:
    """What to write instead, for the mistakes JSONata's own message does not explain."""
    if "escape sequence: \\'" in problem:
        return (
            " (JSONata strings have no \\' escape: write text with an apostrophe in double quotes, \"it's\")"
        )
    for token, after in itertools.pairwise(tokens):
        pair = _OPERATOR_HINTS.get((token.value, after.value))
        if token.kind == after.kind == "op" and after.start == token.end and pair:
            return f" (JSONata writes {pair[1]}, not {pair[0]})"
    if any(t.is_op("!") for t in tokens):
        return " (JSONata writes $not(…), not !)"
    return ""


def parse_expression(source: str) -> Expression:
    return _parse_expression(source.strip())


@lru_cache(maxsize=32_768)  # a routine has at most ~10k expressions: keep them all parsed
def _parse_expression(source: str) -> Expression:
    if not source:
        raise ExpressionSyntaxError("empty expression '{{ }}'")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionTooLong(
            f"the expression is {len(source):,} characters; expressions are at most {MAX_EXPRESSION_LENGTH:,}"
        )
    dialect: Dialect = "jsonata"
    text = source
    problem: str | None = None
    try:
        tokens = tokenize(source)
    except LexError as exc:
        tokens, problem = [], f"'{source}' is not a valid expression: {exc}"
    if problem is None and looks_like_jsonpath(tokens):
        text, dialect = _from_jsonpath(source, tokens), "jsonpath"
    else:
        try:
            compile_expression(source)
        except JsonataError as exc:
            problem = f"'{source}' is not a valid expression: {exc.message}"
        if problem is not None:
            problem += _hint(problem, tokens)
            try:  # JSONPath without a JSONPath-only sign (a union of fields, say)
                text, dialect = _from_jsonpath(source, tokens), "jsonpath"
            except ExpressionSyntaxError:
                raise ExpressionSyntaxError(problem) from None
    if dialect == "jsonpath":
        tokens = tokenize(text)
    try:
        analysis = analyze(text, tokens)
    except ReferenceError_ as exc:
        raise ExpressionSyntaxError(f"'{source}': {exc.message}") from None
    for name in analysis.bound:
        if name.startswith("__") or name == "states":
            raise ExpressionSyntaxError(f"'{source}': ${name} is a reserved name; choose another")
    unknown: list[str] = []
    for name, _ in analysis.free_variables:
        if name == "eval":
            raise ExpressionSyntaxError(f"'{source}': $eval is not available in Step Functions; use $parse")
        if name not in JSONATA_FUNCTIONS and name not in STEP_FUNCTIONS_FUNCTIONS and name not in unknown:
            unknown.append(name)
    return Expression(
        source=source,
        references=analysis.references,
        jsonata=text,
        dialect=dialect,
        unknown_variables=tuple(unknown),
        tokens=tuple(tokens),
    )


def _from_jsonpath(source: str, tokens: list[Token]) -> str:
    try:
        text = to_jsonata(source, tokens)
        compile_expression(text)
    except (JsonPathError, JsonataError) as exc:
        raise ExpressionSyntaxError(f"'{source}' is not a valid expression: {exc}") from None
    return text


def first_or_none(values: list[Any]) -> Any:
    """One match is the value; none is ``null``; several are the list."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def iter_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside a JSON value, with its relative path, without recursion."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            yield here, item
        elif isinstance(item, dict):
            stack.extend(((*here, str(k)), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend(((*here, i), v) for i, v in reversed(list(enumerate(item))))


def map_strings(value: Any, text: Callable[[str], Any], key: Callable[[str], str] | None = None) -> Any:
    """A copy of a JSON value with ``text`` applied to every string (and ``key`` to every
    object key), without recursion: a deep value cannot overflow the stack."""
    if isinstance(value, str):
        return text(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            copy: Any = {}
            parent[slot] = copy
            for k, v in item.items():  # keys placed now, in their order; values filled later
                name = key(k) if key is not None and isinstance(k, str) else k
                copy[name] = None
                stack.append((v, copy, name))
        elif isinstance(item, list):
            copy = [None] * len(item)
            parent[slot] = copy
            stack.extend((v, copy, i) for i, v in enumerate(item))
        elif isinstance(item, str):
            parent[slot] = text(item)
        else:
            parent[slot] = item
    return root[0]


__all__ = [
    "EXECUTION_FIELDS",
    "LOOP_FIELDS",
    "ROOTS",
    "Expression",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTooLong",
    "Reference",
    "Template",
    "first_or_none",
    "has_expression",
    "iter_strings",
    "map_strings",
    "parse_expression",
    "parse_template",
]
