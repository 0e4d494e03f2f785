"""Plugins: the SDK (``plugins.sdk``) and the built-in nodes (``plugins.builtin``)."""

from plugins.sdk import (
    DisplayOptions,
    Kind,
    Migration,
    Option,
    Parameter,
    ParameterType,
    PluginDefinition,
    PluginRegistry,
    Port,
    PortType,
    default_registry,
)

__all__ = [
    "DisplayOptions",
    "Kind",
    "Migration",
    "Option",
    "Parameter",
    "ParameterType",
    "PluginDefinition",
    "PluginRegistry",
    "Port",
    "PortType",
    "default_registry",
]
