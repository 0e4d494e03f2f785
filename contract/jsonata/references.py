"""What a JSONata expression reads: its root references and its free ``$variables``.

A *root reference* is a name at the start of a path in the expression's top-level
context: not a step after ``.``, not inside a predicate ``[…]``, a step block ``.( … )`` /
``.{ … }``, a group-by ``{…}`` or a sort ``^( … )`` that follows a step (there names are
relative to the item in hand, as in plain JSONata). ``$$.root`` (JSONata's root) is the
same reference anywhere — that is how a predicate reaches a root — and so is ``$.root`` at
top level. Function bodies read the context where they are defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.errors import RoutinesError
from contract.jsonata.lexer import Token, tokenize


class ReferenceError_(RoutinesError, ValueError):
    """An expression whose shape the roots forbid (a bare ``$``/``$$``, a reserved name);
    ``position`` is the offset in the expression."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Reference:
    """One path the expression reads from a root.

    ``nodes.fetch.body.id`` → root ``nodes``, name ``fetch``, steps
    ``("fetch", "body", "id")``: ``steps`` are the plain field and index steps after the
    root (the name first), up to the first step that is not one; ``plain`` says they spell
    the whole path. ``source`` is the path's text; ``start``/``end`` delimit its *head* in
    the expression — ``root.name`` (or the bare root), ``$$.``/``$.`` included — which is
    what :func:`contract.jsonata.translate.translate` replaces.
    """

    source: str
    root: str
    name: str | None
    steps: tuple[str | int, ...]
    plain: bool = True
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Analysis:
    references: tuple[Reference, ...]
    free_variables: tuple[tuple[str, int], ...]  # ($name without '$', offset) not bound here
    bound: frozenset[str] = field(default_factory=frozenset)
    tokens: tuple[Token, ...] = ()


@dataclass(slots=True)
class _Frame:
    closer: str
    relative: bool
    kind: str  # "group" | "array" | "params" | "object"


_PATH_CONTINUES = frozenset({".", "[", "{", "^", "@", "#"})


def analyze(text: str, tokens: list[Token] | None = None) -> Analysis:
    """The root references and free variables of a JSONata expression."""
    toks = tokens if tokens is not None else tokenize(text)
    references: list[Reference] = []
    used: list[tuple[str, int]] = []
    bound: set[str] = set()
    stack: list[_Frame] = []
    expect = True  # an operand is expected next
    pending_body = False  # after function(...)<sig>, '{' opens the body
    prev: Token | None = None
    i = 0
    n = len(toks)
    while i < n:
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        relative = stack[-1].relative if stack else False
        after_dot = prev is not None and prev.is_op(".")
        if tok.kind == "op":
            value = tok.value
            if value in ("(", "[", "{"):
                stack.append(_open(value, prev, expect, relative, pending_body))
                pending_body = False
                expect = True
            elif value in (")", "]", "}"):
                if not stack or stack[-1].closer != value:
                    raise ReferenceError_(f"unbalanced '{value}'", tok.start)
                frame = stack.pop()
                expect = False
                if frame.kind == "params":
                    i = _skip_signature(toks, i + 1) - 1
                    pending_body = True
            elif value in ("*", "**") and expect:
                expect = False  # a wildcard step
            else:
                expect = True
        elif tok.kind == "name":
            word = None if tok.quoted else tok.value
            if (word in ("and", "or", "in") and not expect) or (
                word in ("function", "λ") and nxt is not None and nxt.is_op("(")
            ):
                expect = True
            else:
                if expect and not after_dot and not relative:
                    references.append(_reference(text, toks, i, i))
                expect = False
        elif tok.kind == "variable":
            name = tok.value
            if name in ("", "$"):
                follows_root = (
                    nxt is not None
                    and nxt.is_op(".")
                    and i + 2 < n
                    and toks[i + 2].kind == "name"
                    and not toks[i + 2].quoted
                )
                top = not relative and not after_dot
                if (name == "$" and follows_root) or (name == "" and follows_root and top):
                    references.append(_reference(text, toks, i + 2, i))
                    prev = toks[i + 2]
                    i += 3
                    expect = False
                    continue
                if name == "$":
                    raise ReferenceError_("'$$' must be followed by a root, e.g. $$.nodes.fetch", tok.start)
                if top:
                    raise ReferenceError_(
                        "a bare '$' reads nothing at the top level: start from a root, e.g. nodes.fetch",
                        tok.start,
                    )
            elif (
                (prev is not None and prev.is_op("@", "#"))
                or (nxt is not None and nxt.is_op(":="))
                or (stack and stack[-1].kind == "params")
            ):
                bound.add(name)
            else:
                used.append((name, tok.start))
            expect = False
        else:
            expect = False
        prev = tok
        i += 1
    if stack:
        raise ReferenceError_(f"'{stack[-1].closer}' is missing", len(text))
    free = tuple((name, pos) for name, pos in used if name not in bound)
    return Analysis(tuple(references), free, frozenset(bound), tuple(toks))


def _open(value: str, prev: Token | None, expect: bool, relative: bool, pending_body: bool) -> _Frame:
    closer = {"(": ")", "[": "]", "{": "}"}[value]
    after_dot = prev is not None and prev.is_op(".")
    if value == "(":
        if prev is not None and prev.kind == "name" and not prev.quoted and prev.value in ("function", "λ"):
            return _Frame(closer, relative, "params")
        if after_dot or (prev is not None and prev.is_op("^")):
            return _Frame(closer, True, "group")  # .( … ) and ^( … ): per item
        return _Frame(closer, relative, "group")  # a block, or a function's arguments
    if value == "[":
        if expect and not after_dot:
            return _Frame(closer, relative, "array")
        return _Frame(closer, True, "group")  # a predicate, or .[ … ]
    if pending_body or (expect and not after_dot):
        return _Frame(closer, relative, "object")  # a function body or an object constructor
    return _Frame(closer, True, "object")  # .{ … } or a group-by


def _skip_signature(toks: list[Token], i: int) -> int:
    """Past a function signature ``<…>`` starting at ``i`` (when there is one)."""
    if i >= len(toks) or not toks[i].is_op("<"):
        return i
    depth = 0
    while i < len(toks):
        if toks[i].is_op("<"):
            depth += 1
        elif toks[i].is_op(">"):
            depth -= 1
            if depth == 0:
                return i + 1
        elif toks[i].is_op("{"):
            return i
        i += 1
    return i


def _reference(text: str, toks: list[Token], root_at: int, head_at: int) -> Reference:
    root_tok = toks[root_at]
    steps: list[str | int] = []
    j = root_at + 1
    n = len(toks)
    name_end: int | None = None
    while j < n:
        tok = toks[j]
        if tok.is_op(".") and j + 1 < n and toks[j + 1].kind == "name":
            steps.append(toks[j + 1].value)
            if len(steps) == 1:
                name_end = toks[j + 1].end
            j += 2
            continue
        if tok.is_op("["):
            index, width = _index(toks, j + 1)
            if index is not None:
                steps.append(index)
                j += width + 1
                continue
        break
    end = toks[j - 1].end
    plain = j >= n or not (toks[j].kind == "op" and toks[j].value in _PATH_CONTINUES)
    name = steps[0] if steps and isinstance(steps[0], str) else None
    head_end = name_end if name is not None and name_end is not None else root_tok.end
    start = toks[head_at].start
    return Reference(
        source=text[start:end],
        root=root_tok.value,
        name=name,
        steps=tuple(steps),
        plain=plain,
        start=start,
        end=head_end,
    )


def _index(toks: list[Token], j: int) -> tuple[int | None, int]:
    """An integer index ``[3]``/``[-1]`` starting after its '[': (index, tokens used)."""
    negative = j < len(toks) and toks[j].is_op("-")
    k = j + 1 if negative else j
    if (
        k + 1 < len(toks)
        and toks[k].kind == "number"
        and type(toks[k].value) is int
        and toks[k + 1].is_op("]")
    ):
        value: int = toks[k].value
        return (-value if negative else value), k + 2 - j
    return None, 0


__all__ = ["Analysis", "Reference", "ReferenceError_", "analyze"]
