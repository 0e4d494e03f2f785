"""Finds plugins without engine changes: every module under ``plugins.builtin`` that defines
``PLUGIN``, plus any installed package exposing the ``routines.plugins`` entry point."""

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
HANDLER_PACKAGE = "plugins.handlers"  # execution code, kept apart so validating stays light


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
        handler = f"{HANDLER_PACKAGE}.{module.rsplit('.', 1)[-1]}.handler" if plugin.kind is Kind.TASK else ""
        registry.register(plugin, handler)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        registry.register(loaded() if callable(loaded) else loaded)
    return registry


def _builtin_plugins() -> Iterator[tuple[str, PluginDefinition]]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in sorted(pkgutil.walk_packages(package.__path__, f"{BUILTIN_PACKAGE}."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        plugin = getattr(module, "PLUGIN", None)
        if isinstance(plugin, PluginDefinition):
            yield info.name, plugin


@lru_cache(maxsize=1)
def default_registry() -> PluginRegistry:
    """The built-in and installed plugins, discovered once per process."""
    return discover()
