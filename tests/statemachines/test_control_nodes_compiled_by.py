"""A control node's declaration names the functions that compile it
(``PluginDefinition.compiled_by``): a reader goes from plugins/builtin/control/<m>.py to
its construct in one step, and this test keeps the pointers true."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from contract.errors import PluginDefinitionError
from plugins.sdk import PluginDefinition, default_registry
from plugins.sdk.definition import Kind
from statemachines.machine.constructs import CONSTRUCTS

CONTROL = [p for p in default_registry() if p.kind is Kind.CONTROL]


def resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    found = getattr(importlib.import_module(module), name)
    assert callable(found), dotted
    return found  # type: ignore[no-any-return]


def test_every_control_node_of_the_compiler_is_declared_and_every_declared_one_compiles() -> None:
    assert {p.name for p in CONTROL} == set(CONSTRUCTS)


@pytest.mark.parametrize("plugin", CONTROL, ids=lambda p: p.name)
def test_compiled_by_names_the_construct_the_compiler_uses(plugin: PluginDefinition) -> None:
    first, *more = (resolve(place) for place in plugin.compiled_by)
    assert CONSTRUCTS[plugin.name] is first
    assert all(callable(place) for place in more)


def test_a_control_node_without_compiled_by_and_a_task_with_it_are_refused() -> None:
    with pytest.raises(PluginDefinitionError, match="compiled_by"):
        PluginDefinition(
            name="gate", version=1, display_name="Gate", description="d", category="c", kind=Kind.CONTROL
        )
    with pytest.raises(PluginDefinitionError, match="compiled_by"):
        PluginDefinition(
            name="post", version=1, display_name="Post", description="d", category="c", compiled_by=("x.y",)
        )
