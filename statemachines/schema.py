"""JSON Schema of the routine document, with each plugin's parameters, for editors."""

from __future__ import annotations

from typing import Any

from plugins.sdk import PluginRegistry, default_registry, parameters_schema
from statemachines.model import Routine


def routine_schema(registry: PluginRegistry | None = None) -> dict[str, Any]:
    schema = Routine.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Routine"
    node = schema["$defs"]["Node"]
    plugins = list(registry or default_registry())
    node["properties"]["plugin"]["enum"] = [p.name for p in plugins]
    node["allOf"] = [
        {
            "if": {"properties": {"plugin": {"const": p.name}}, "required": ["plugin"]},
            "then": {"properties": {"parameters": parameters_schema(p.parameters)}},
        }
        for p in plugins
    ]
    return schema
