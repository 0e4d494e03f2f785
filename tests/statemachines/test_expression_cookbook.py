"""Every example of docs/expressions.md, evaluated as a plugin Lambda evaluates it.

The page writes each example as three fenced blocks in a row, so the page and this test
cannot drift apart::

    ```text recipe          the template: one line, as a routine's string parameter holds it
    ```json input           the context the template reads ({"trigger", "nodes", "vars", …})
    ```json result          the value it yields (JSON), or
    ```text result-matches  a regular expression the value (a string) must match: for
                            $now(), $uuid() and the like, whose value changes on each run

The recipe's name is the heading above it (with a number when a heading has several).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest

from contract.expressions import parse_template
from tests.conftest import ROOT

DOC = ROOT / "docs" / "expressions.md"

_FENCE = re.compile(r"^```(\S*)(?:[ \t]+(\S+))?[ \t]*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*\S)\s*$")
_KINDS = ("recipe", "input", "result", "result-matches")


@dataclass(frozen=True)
class Recipe:
    name: str
    line: int  # of the template block, for the failure message
    template: str
    context: dict[str, Any]
    result: Any = None
    pattern: str | None = None  # result-matches: the value is a string matching it


def _blocks(text: str) -> list[tuple[str, int, str, str]]:
    """(kind, line, body, heading) of every fenced block whose second word is a kind."""
    blocks: list[tuple[str, int, str, str]] = []
    heading = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            if found := _HEADING.match(line):
                heading = found.group(1)
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{DOC.name}:{index + 1}: a code block is never closed")
        kind = fence.group(2)
        if kind in _KINDS:
            blocks.append((kind, index + 1, "\n".join(lines[index + 1 : end]), heading))
        index = end + 1
    return blocks


def recipes(text: str) -> list[Recipe]:
    found: list[Recipe] = []
    blocks = _blocks(text)
    per_heading: dict[str, int] = {}
    position = 0
    while position < len(blocks):
        kind, line, body, heading = blocks[position]
        where = f"{DOC.name}:{line}"
        assert kind == "recipe", f"{where}: a '{kind}' block that follows no recipe"
        following = blocks[position + 1 : position + 3]
        kinds = [k for k, *_ in following]
        assert len(following) == 2 and kinds[0] == "input" and kinds[1] in ("result", "result-matches"), (
            f"{where}: a recipe is followed by an 'input' block and a 'result' (or 'result-matches') block"
        )
        template = body.strip("\n")
        assert "\n" not in template, f"{where}: a recipe's template is one line"
        context = json.loads(following[0][2])
        assert isinstance(context, dict), f"{where}: the input is an object of roots"
        per_heading[heading] = per_heading.get(heading, 0) + 1
        name = heading if per_heading[heading] == 1 else f"{heading} ({per_heading[heading]})"
        if kinds[1] == "result":
            found.append(Recipe(name, line, template, context, result=json.loads(following[1][2])))
        else:
            found.append(Recipe(name, line, template, context, pattern=following[1][2].strip()))
        position += 3
    return found


RECIPES = recipes(DOC.read_text(encoding="utf-8"))


def same(left: Any, right: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), but ``true`` is not ``1``, at every
    depth; floats within a rounding error of the last digit written in the page."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right or math.isclose(left, right, rel_tol=1e-15, abs_tol=0.0)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(v, right[k]) for k, v in left.items())
    return type(left) is type(right) and left == right


def test_the_page_has_a_cookbook() -> None:
    assert len(RECIPES) >= 30
    assert len({r.name for r in RECIPES}) == len(RECIPES)


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])
def test_recipe(recipe: Recipe) -> None:
    value = parse_template(recipe.template).render(recipe.context)
    where = f"{DOC.name}:{recipe.line} {recipe.template}"
    if recipe.pattern is not None:
        assert isinstance(value, str) and re.search(recipe.pattern, value), f"{where} gave {value!r}"
    else:
        assert same(value, recipe.result), (
            f"{where} gave {json.dumps(value)}, the page says {json.dumps(recipe.result)}"
        )
