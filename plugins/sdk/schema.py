"""Plugin metadata as JSON, with a JSON Schema of the parameters, for UIs and editors.

``displayOptions`` become ``if``/``then`` clauses, so a schema-driven form knows that a
parameter is required only while it is shown.
"""

from __future__ import annotations

from typing import Any

from plugins.sdk.definition import PluginDefinition
from plugins.sdk.parameters import Parameter, ParameterType

EXPRESSION_STRING: dict[str, Any] = {"type": "string", "pattern": r"\{\{.*\}\}"}


def parameter_schema(param: Parameter) -> dict[str, Any]:
    """The JSON Schema of one parameter's value (an expression is always allowed)."""
    schema = _value_schema(param)
    if param.type is not ParameterType.STRING and param.type is not ParameterType.CODE:
        schema = {"anyOf": [schema, EXPRESSION_STRING]}
    schema["title"] = param.label
    if param.description:
        schema["description"] = param.description
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _value_schema(param: Parameter) -> dict[str, Any]:
    kind = param.type
    if kind in (ParameterType.STRING, ParameterType.CODE, ParameterType.CREDENTIAL):
        out: dict[str, Any] = {"type": "string"}
        for key, value in (
            ("minLength", param.min_length),
            ("maxLength", param.max_length),
            ("pattern", param.pattern),
        ):
            if value is not None:
                out[key] = value
        if param.language:
            out["contentMediaType"] = f"text/x-{param.language}"
        return out
    if kind is ParameterType.NUMBER:
        out = {"type": "integer" if param.integer else "number"}
        if param.minimum is not None:
            out["minimum"] = param.minimum
        if param.maximum is not None:
            out["maximum"] = param.maximum
        return out
    if kind is ParameterType.BOOLEAN:
        return {"type": "boolean"}
    if kind is ParameterType.SELECT:
        return {"enum": list(param.option_values())}
    if kind is ParameterType.MULTI_SELECT:
        return {"type": "array", "items": {"enum": list(param.option_values())}, "uniqueItems": True}
    if kind is ParameterType.JSON:
        return dict(param.json_schema or ({"type": param.json_type} if param.json_type else {}))
    return _collection_schema(param)


def _collection_schema(param: Parameter) -> dict[str, Any]:
    item = parameters_schema(param.children)
    if param.type is ParameterType.COLLECTION or not param.multiple:
        return item
    out: dict[str, Any] = {"type": "array", "items": item}
    if param.min_items is not None:
        out["minItems"] = param.min_items
    if param.max_items is not None:
        out["maxItems"] = param.max_items
    return out


def parameters_schema(parameters: tuple[Parameter, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {p.name: parameter_schema(p) for p in parameters},
        "additionalProperties": False,
    }
    always = [p.name for p in parameters if p.required and p.default is None and not p.display_options]
    if always:
        schema["required"] = always
    conditional = [
        _conditional_requirement(p)
        for p in parameters
        if p.required and p.default is None and p.display_options
    ]
    if conditional:
        schema["allOf"] = conditional
    return schema


def _conditional_requirement(param: Parameter) -> dict[str, Any]:
    assert param.display_options is not None
    show = param.display_options.show
    condition = {"properties": {k: {"enum": list(v)} for k, v in show.items()}, "required": list(show)}
    return {"if": condition, "then": {"required": [param.name]}}


def parameter_to_json(param: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "displayName": param.label,
        "type": param.type.value,
        "description": param.description,
        "required": param.required,
    }
    if param.default is not None:
        out["default"] = param.default
    if param.options:
        out["options"] = [o.to_json() for o in param.options]
    if param.display_options:
        out["displayOptions"] = param.display_options.to_json()
    if param.children:
        out["children"] = [parameter_to_json(c) for c in param.children]
    if param.placeholder:
        out["placeholder"] = param.placeholder
    return out


def definition_to_json(plugin: PluginDefinition) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "version": plugin.version,
        "versions": list(plugin.versions),
        "displayName": plugin.display_name,
        "description": plugin.description,
        "category": plugin.category,
        "kind": plugin.kind.value,
        "parameters": [parameter_to_json(p) for p in plugin.parameters],
        "parametersSchema": parameters_schema(plugin.parameters),
        "inputs": [p.to_json() for p in plugin.inputs],
        "outputs": [p.to_json() for p in plugin.outputs],
        "dynamicOutputs": plugin.dynamic_outputs is not None,
        "repeatSafe": plugin.repeat_safe,  # may run twice (Express machines): docs/plugins.md
        "migrations": [
            {"fromVersion": m.from_version, "description": m.description} for m in plugin.migrations
        ],
    }
