"""Every built-in task plugin's handler reads exactly the parameters its declaration
declares (plugins/sdk/conformance.py), and the check catches both kinds of drift."""

from __future__ import annotations

import pytest

from plugins.sdk import PluginDefinition, default_registry
from plugins.sdk.conformance import drift, handler_source
from plugins.sdk.definition import Kind
from plugins.sdk.parameters import Parameter, ParameterType

TASKS = [p for p in default_registry() if p.kind is Kind.TASK]


def test_every_task_plugin_has_its_handler_in_its_folder() -> None:
    for plugin in TASKS:
        handler = default_registry().handler(plugin.name)
        assert handler == f"plugins.builtin.{plugin.name.replace('-', '_')}.handler.handler"
        assert "def execute" in handler_source(handler) or "handler =" in handler_source(handler)


@pytest.mark.parametrize("plugin", TASKS, ids=lambda p: p.name)
def test_declared_and_read_parameters_agree(plugin: PluginDefinition) -> None:
    assert drift(plugin, handler_source(default_registry().handler(plugin.name) or "")) == []


PLUGIN = PluginDefinition(
    name="probe",
    version=1,
    display_name="Probe",
    description="a plugin for the check",
    category="test",
    parameters=(Parameter("url", ParameterType.STRING), Parameter("attributes", ParameterType.JSON)),
)


def test_a_declared_parameter_the_handler_never_names_is_reported() -> None:
    source = "def execute(parameters, run):\n    return {'url': parameters['url']}\n"
    assert drift(PLUGIN, source) == [
        "probe: parameter 'attributes' is declared but the handler never reads it"
    ]


def test_an_undeclared_read_is_reported_whether_by_key_or_by_get() -> None:
    source = (
        "def execute(parameters, run):\n"
        "    body = parameters.get('body', {})\n"
        "    return parameters['url'], parameters['attributes'], parameters['headers'], body\n"
    )
    assert drift(PLUGIN, source) == [
        "probe: the handler reads parameter 'body', which is not declared",
        "probe: the handler reads parameter 'headers', which is not declared",
    ]


def test_a_parameter_named_in_a_mapping_table_counts_as_read() -> None:
    source = (
        "FIELDS = [('url', 'Url'), ('attributes', 'Attributes')]\n"
        "def execute(parameters, run):\n"
        "    return {aws: parameters[ours] for ours, aws in FIELDS if ours in parameters}\n"
    )
    assert drift(PLUGIN, source) == []
