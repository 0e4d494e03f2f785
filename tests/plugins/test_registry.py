"""Registry discovery, versions and migrations, and the exported catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from contract.errors import PluginDefinitionError, UnknownPluginError
from plugins.sdk import (
    Migration,
    Parameter,
    ParameterType,
    PluginDefinition,
    PluginRegistry,
    default_registry,
    definition_to_json,
)
from statemachines.validator import validate_document
from tests.conftest import node, problems, routine

DESIGN_NODES = {
    "http-request",
    "transform",
    "filter",
    "static-data",
    "sqs-send",
    "sns-publish",
    "eventbridge-put",
    "dynamodb-put",
    "ses-send-email",
    "if",
    "switch",
    "merge",
    "loop",
    "wait",
    "approval",
    "stop",
    "code",
    "execute-routine",
}


def test_every_builtin_node_of_the_design_is_discovered() -> None:
    assert set(default_registry().names()) == DESIGN_NODES


def test_design_parameters_are_declared() -> None:
    registry = default_registry()
    expected = {
        "static-data": {"data"},
        "transform": {"fields"},
        "filter": {"items", "condition"},
        "http-request": {"method", "url", "headers", "query", "body", "timeoutSeconds", "credential"},
        "if": {"condition"},
        "switch": {"rules"},
        "loop": {"items", "maxConcurrency", "mode"},
        "wait": {"seconds", "until"},
        "approval": {"message", "timeoutSeconds"},
        "stop": {"status", "error", "cause"},
        "code": {"code", "input", "timeoutSeconds", "memoryMB"},
    }
    for name, params in expected.items():
        declared = {p.name for p in registry.get(name).parameters}
        assert params <= declared, name


def test_every_task_plugin_has_an_error_port() -> None:
    for plugin in default_registry():
        if plugin.kind.value == "task":
            assert "error" in {p.name for p in plugin.outputs}, plugin.name


def test_catalogue_json_has_parameter_schemas() -> None:
    catalogue = {p["name"]: p for p in default_registry().to_json()}
    http = catalogue["http-request"]
    schema = http["parametersSchema"]
    assert schema["required"] == ["url"] or "url" in schema["required"]
    assert schema["properties"]["method"]["anyOf"][0]["enum"][0] == "GET"
    assert http["versions"] == [1, 2]
    assert http["migrations"][0]["fromVersion"] == 1
    body = next(p for p in http["parameters"] if p["name"] == "body")
    assert body["displayOptions"] == {"show": {"method": ["POST", "PUT", "PATCH", "DELETE"]}}
    stop = catalogue["stop"]["parametersSchema"]
    assert stop["properties"]["status"]["anyOf"][0] == {"enum": ["succeed", "fail"]}


def test_conditional_requirement_becomes_if_then() -> None:
    from plugins.sdk import DisplayOptions, Option

    plugin = PluginDefinition(
        "thing",
        1,
        "Thing",
        "",
        "test",
        parameters=(
            Parameter("mode", ParameterType.SELECT, options=(Option("a"), Option("b"))),
            Parameter(
                "x",
                ParameterType.STRING,
                required=True,
                display_options=DisplayOptions(show={"mode": ("b",)}),
            ),
        ),
    )
    schema = definition_to_json(plugin)["parametersSchema"]
    assert schema["allOf"] == [
        {"if": {"properties": {"mode": {"enum": ["b"]}}, "required": ["mode"]}, "then": {"required": ["x"]}}
    ]


def _renamer(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if "old" in out:
        out["new"] = out.pop("old")
    return out


def _doubler(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "new": params.get("new", 0) * 2} if isinstance(params.get("new"), int) else params


VERSIONED = PluginDefinition(
    "versioned",
    3,
    "Versioned",
    "",
    "test",
    parameters=(Parameter("new", ParameterType.NUMBER, required=True, maximum=10),),
    migrations=(Migration(1, _renamer), Migration(2, _doubler)),
)


def test_migrations_chain_from_the_pinned_version() -> None:
    assert VERSIONED.versions == (1, 2, 3)
    assert VERSIONED.migrate({"old": 2}, 1) == {"new": 4}
    assert VERSIONED.migrate({"new": 2}, 2) == {"new": 4}


def test_validator_applies_migrations_for_pinned_versions() -> None:
    registry = PluginRegistry([VERSIONED])
    ok = routine({"id": "a", "plugin": "versioned", "version": 1, "parameters": {"old": 5}})
    assert validate_document(ok, registry).valid
    too_big = routine({"id": "a", "plugin": "versioned", "version": 1, "parameters": {"old": 6}})  # 12 > 10
    assert problems(validate_document(too_big, registry)) == {
        ("invalid_parameter", "nodes[a].parameters.new")
    }
    latest = routine({"id": "a", "plugin": "versioned", "parameters": {"old": 5}})
    assert {c for c, _ in problems(validate_document(latest, registry))} == {
        "invalid_parameter",
        "missing_parameter",
    }


def test_http_request_v1_is_migrated() -> None:
    doc = routine(
        node(
            "h",
            "http-request",
            version=1,
            parameters={
                "url": "https://x.example",
                "timeout": 2500,
                "headers": [{"name": "X-A", "value": "1"}],
            },
        )
    )
    assert validate_document(doc).valid
    plugin = default_registry().get("http-request")
    assert plugin.migrate({"timeout": 2500, "headers": [{"name": "X-A", "value": "1"}]}, 1) == {
        "timeoutSeconds": 2,
        "headers": {"X-A": "1"},
    }


def test_registry_errors() -> None:
    registry = PluginRegistry([VERSIONED])
    with pytest.raises(UnknownPluginError):
        registry.get("nope")
    with pytest.raises(UnknownPluginError):
        registry.get("versioned", 9)
    with pytest.raises(PluginDefinitionError):
        registry.register(VERSIONED)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "Bad_Name"},
        {"migrations": (Migration(2, _renamer),), "version": 2},  # gap: no migration from 1
        {"parameters": (Parameter("a", ParameterType.STRING), Parameter("a", ParameterType.STRING))},
    ],
)
def test_inconsistent_definitions_are_refused(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "name": "ok",
        "version": 1,
        "display_name": "",
        "description": "",
        "category": "t",
    }
    if "migrations" in kwargs and kwargs["version"] == 2:
        kwargs = {**kwargs, "migrations": (Migration(3, _renamer),)}
    with pytest.raises(PluginDefinitionError):
        PluginDefinition(**{**base, **kwargs})


def test_entry_point_plugins_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    import plugins.sdk.registry as registry_module

    class FakeEntry:
        def load(self) -> PluginDefinition:
            return VERSIONED

    monkeypatch.setattr(
        registry_module, "entry_points", lambda group: [FakeEntry()] if group == "routines.plugins" else []
    )
    assert "versioned" in registry_module.discover().names()
