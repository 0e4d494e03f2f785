"""Plugin SDK: declare a plugin as data; the registry finds it; the validator checks it."""

from plugins.sdk.checks import check_parameters
from plugins.sdk.definition import Kind, Migration, PluginDefinition, control_plugin
from plugins.sdk.parameters import DisplayOptions, Option, Parameter, ParameterType
from plugins.sdk.ports import ERROR, IN, OUT, Port, PortType, can_connect
from plugins.sdk.registry import PluginRegistry, default_registry, discover
from plugins.sdk.schema import definition_to_json, parameters_schema

__all__ = [
    "ERROR",
    "IN",
    "OUT",
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
    "can_connect",
    "check_parameters",
    "control_plugin",
    "default_registry",
    "definition_to_json",
    "discover",
    "parameters_schema",
]
