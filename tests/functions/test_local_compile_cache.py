"""The local runner compiles a routine document once: a run again gets the same
definition and an equal report of its own; another document, registry (or a plugin
registered since) or options compiles anew."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from functions.local import LocalAWS, compile_cache, run_routine, runner
from plugins.sdk import PluginRegistry, default_registry
from statemachines.compiler import Compiled, compile_validated
from statemachines.options import CompileOptions
from statemachines.validator import analyse

GOLDEN = Path(__file__).resolve().parent.parent / "statemachines" / "golden"


def document(name: str = "nested_loops") -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.routine.json").read_text())  # type: ignore[no-any-return]


class Counting:
    def __init__(self, doc: Any, registry: PluginRegistry, options: CompileOptions) -> None:
        self.calls = 0
        self.validation = analyse(doc, registry)
        self.options = options

    def __call__(self) -> Compiled:
        self.calls += 1
        return compile_validated(self.validation, self.options)


@pytest.fixture(autouse=True)
def fresh() -> None:
    compile_cache.forget()


def test_a_document_is_compiled_once_and_each_caller_gets_its_own_report() -> None:
    registry, options, doc = default_registry(), CompileOptions(), document()
    compile_ = Counting(doc, registry, options)
    first = compile_cache.compiled(doc, registry, options, compile_)
    first.report["stateNodes"]["changed"] = "by a caller"
    again = compile_cache.compiled(json.loads(json.dumps(doc)), registry, options, compile_)
    assert compile_.calls == 1
    fresh_compile = compile_validated(analyse(doc, registry), options)
    assert again.definition == fresh_compile.definition
    assert again.report == fresh_compile.report  # the caller's change did not stick
    assert again.report is not first.report


def test_another_document_registry_plugin_or_options_compiles_anew() -> None:
    options, doc = CompileOptions(), document()
    registry = PluginRegistry(default_registry())
    compile_ = Counting(doc, registry, options)
    compile_cache.compiled(doc, registry, options, compile_)
    compile_cache.compiled(document("chain"), registry, options, compile_)
    compile_cache.compiled(doc, registry, CompileOptions(routine_id="other"), compile_)
    compile_cache.compiled(doc, PluginRegistry(default_registry()), options, compile_)
    assert compile_.calls == 4
    plugin = next(iter(registry))
    registry.register(dataclasses.replace(plugin, name="late-plugin"), handler="x.handler")
    compile_cache.compiled(doc, registry, options, compile_)  # a plugin registered since
    assert compile_.calls == 5
    compile_cache.compiled(doc, registry, options, compile_)
    assert compile_.calls == 5


def test_a_document_that_is_not_json_is_compiled_every_time() -> None:
    registry, options = default_registry(), CompileOptions()
    calls = []

    def compile_() -> Compiled:
        calls.append(1)
        return Compiled("{}", {})

    for _ in range(2):
        compile_cache.compiled({"nodes": {1, 2}}, registry, options, compile_)
    assert len(calls) == 2


def test_the_runner_compiles_a_routine_run_again_once(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = runner.compile_validated

    def counted(*args: Any) -> Compiled:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(runner, "compile_validated", counted)
    doc = document()
    expected = json.loads((GOLDEN / "nested_loops.run.json").read_text())
    results = [run_routine(aws, doc, expected["input"]) for _ in range(2)]
    assert len(calls) == 1
    for result in results:
        assert result.status == expected["status"] and result.transitions == expected["transitions"]
    invalid = {**doc, "connections": [{"sourceNodeId": "nope", "targetNodeId": "nope"}]}
    with pytest.raises(Exception) as error:
        run_routine(aws, invalid)
    assert "nope" in str(error.value)  # still validated on every run
