"""Does a task plugin's handler read what its declaration declares? (issue #24)

The declaration (``plugins/builtin/<m>/__init__.py``) and the handler (``handler.py`` next
to it) are two files: they drift apart silently — ``sqs-send`` once declared
``messageAttributes`` and dropped every user's attributes. Read from the handler's source:

- a parameter it *reads* is a constant key of ``parameters[...]`` or
  ``parameters.get(...)`` (also ``params``): each must be declared;
- a declared parameter must at least be *named* in the handler (a key, or a name passed
  to a helper or listed in a mapping table): a declared parameter the handler never names
  is dropped on the floor.

Static, so it runs in the tests and in a plugin author's CI without AWS. Parameters the
plugin runtime consumes for every plugin (none today) would be listed in ``RUNTIME``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from plugins.sdk.definition import PluginDefinition

PARAMETER_NAMES = frozenset({"parameters", "params"})
RUNTIME: frozenset[str] = frozenset()


def reads(source: str) -> set[str]:
    """The constant keys the source reads from its parameters."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in PARAMETER_NAMES
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            found.add(node.slice.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in PARAMETER_NAMES
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def named(source: str) -> set[str]:
    """Every string constant of the source."""
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def drift(plugin: PluginDefinition, source: str) -> list[str]:
    """What disagrees between ``plugin``'s declaration and its handler's ``source``."""
    declared = {p.name for p in plugin.parameters}
    problems = [
        f"{plugin.name}: the handler reads parameter '{name}', which is not declared"
        for name in sorted(reads(source) - declared - RUNTIME)
    ]
    problems += [
        f"{plugin.name}: parameter '{name}' is declared but the handler never reads it"
        for name in sorted(declared - named(source) - RUNTIME)
    ]
    return problems


def handler_source(handler: str) -> str:
    """The source of a handler string's module (``plugins.builtin.x.handler.handler``),
    found without importing it (a handler imports boto3 and powertools)."""
    module = handler.rsplit(".", 1)[0]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LookupError(f"no module {module} for handler {handler}")
    return Path(spec.origin).read_text(encoding="utf-8")


__all__ = ["drift", "handler_source", "named", "reads"]
