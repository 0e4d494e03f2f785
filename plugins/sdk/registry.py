"""Finds plugins without engine changes: every built-in plugin, plus any installed package
exposing the ``routines.plugins`` entry point.

A built-in task plugin is one folder, ``plugins/builtin/<m>/``: its ``__init__`` declares
``PLUGIN`` (imported to validate, so it stays light) and its ``handler`` module holds the
Lambda entry point ``handler`` (imported only where it runs). Control nodes have no
Lambda: their declarations are the modules of ``plugins/builtin/control/``, each naming the
construct that compiles it (``PluginDefinition.compiled_by``)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from contract.errors import PluginDefinitionError, UnknownPluginError
from plugins.sdk.definition import Kind, PluginDefinition
from plugins.sdk.schema import definition_to_json

ENTRY_POINT_GROUP = "routines.plugins"
BUILTIN_PACKAGE = "plugins.builtin"
HANDLER_MODULE = "handler"  # in a task plugin's folder: execution code, imported only to run


class PluginRegistry:
    def __init__(self, plugins: Iterable[PluginDefinition] = ()) -> None:
        self._plugins: dict[str, PluginDefinition] = {}
        self._handlers: dict[str, str] = {}
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: PluginDefinition, handler: str = "") -> None:
        if plugin.name in self._plugins:
            raise PluginDefinitionError(f"plugin '{plugin.name}' is registered twice")
        self._plugins[plugin.name] = plugin
        if handler or plugin.handler:
            self._handlers[plugin.name] = handler or plugin.handler

    def handler(self, name: str) -> str | None:
        """The Lambda handler string of a task plugin (None for control nodes)."""
        return self._handlers.get(name)

    def get(self, name: str, version: int | None = None) -> PluginDefinition:
        plugin = self._plugins.get(name)
        if plugin is None:
            raise UnknownPluginError(f"no plugin named '{name}'")
        if version is not None and version not in plugin.versions:
            known = ", ".join(map(str, plugin.versions))
            raise UnknownPluginError(f"plugin '{name}' has no version {version} (known: {known})")
        return plugin

    def find(self, name: str) -> PluginDefinition | None:
        return self._plugins.get(name)

    def names(self) -> list[str]:
        return sorted(self._plugins)

    def __iter__(self) -> Iterator[PluginDefinition]:
        return iter(self._plugins[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._plugins)

    def to_json(self) -> list[dict[str, Any]]:
        return [definition_to_json(p) for p in self]


def discover() -> PluginRegistry:
    registry = PluginRegistry()
    for module, plugin in _builtin_plugins():
        handler = f"{module}.{HANDLER_MODULE}.handler" if plugin.kind is Kind.TASK else ""
        registry.register(plugin, handler)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        registry.register(loaded() if callable(loaded) else loaded)
    return registry


def _builtin_plugins() -> Iterator[tuple[str, PluginDefinition]]:
    """(module, declaration): each task plugin's folder, and each module of a folder of
    declarations (``control``). Handler modules are never imported here."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__, f"{BUILTIN_PACKAGE}."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        plugin = getattr(module, "PLUGIN", None)
        if isinstance(plugin, PluginDefinition):
            yield info.name, plugin
        elif info.ispkg:
            for inner in sorted(pkgutil.iter_modules(module.__path__, f"{info.name}."), key=lambda i: i.name):
                plugin = getattr(importlib.import_module(inner.name), "PLUGIN", None)
                if isinstance(plugin, PluginDefinition):
                    yield inner.name, plugin


@lru_cache(maxsize=1)
def default_registry() -> PluginRegistry:
    """The built-in and installed plugins, discovered once per process."""
    return discover()
