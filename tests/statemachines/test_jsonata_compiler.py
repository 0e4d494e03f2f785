"""The JSONata compiler (statemachines.machine): every
example it compiles behaves as its test file says, the machines pass AWS's validator, and
what follows an exclusive merge is emitted once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract.errors import CompileError
from functions.local import LocalAWS
from functions.local.runner import run_routine
from functions.testing.cases import run_file
from plugins.runtime.handler import resolve_parameters
from plugins.sdk import default_registry
from statemachines.compiler import compile_routine
from statemachines.machine.records import routine_body
from statemachines.options import CompileOptions
from tests.asl_validator import Validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JSONATA = CompileOptions()
# Examples with constructs the JSONata compiler does not have yet (and the node that says so).
NOT_YET: dict[str, str] = {}


def examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".test.json"))


def compiled(path: Path) -> dict[str, Any]:
    return compile_routine(json.loads(path.read_text()), options=JSONATA).asl


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.name)
def test_each_example_compiles_or_names_the_construct_it_lacks(path: Path) -> None:
    if path.name in NOT_YET:
        with pytest.raises(CompileError) as raised:
            compiled(path)
        assert raised.value.path == f"nodes[{NOT_YET[path.name]}]"
        assert "do not compile to JSONata machines yet" in raised.value.message
        return
    asl = compiled(path)
    assert asl["QueryLanguage"] == "JSONata"
    text = json.dumps(asl)
    for jsonpath_field in ('"Parameters"', '"ResultPath"', '"InputPath"', '"OutputPath"', '.$"'):
        assert jsonpath_field not in text, jsonpath_field


def test_the_compiled_examples_pass_aws_validator(asl_validator: Validate) -> None:
    paths = [p for p in examples() if p.name not in NOT_YET]
    results = asl_validator([compiled(p) for p in paths])
    assert all(r.ok and not r.warnings for r in results), [
        (p.name, r.describe()) for p, r in zip(paths, results, strict=True) if not r.ok or r.warnings
    ]


@pytest.fixture(scope="module")
def aws() -> Any:
    with LocalAWS() as local:
        yield local


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES.glob("*.test.json") if p.name.replace(".test", "") not in NOT_YET], ids=str
)
def test_each_example_passes_its_tests_as_a_jsonata_machine(aws: LocalAWS, path: Path) -> None:
    failures = [(r.case, r.problems) for r in run_file(aws, path) if r.problems]
    assert not failures


MERGED = {
    "name": "if, merge, then two more",
    "trigger": {"type": "manual"},
    "nodes": [
        {"id": "fetch", "plugin": "static-data", "parameters": {"data": {"total": 120, "lines": [1, 2]}}},
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.fetch.total }}", "op": "gt", "right": 100}},
        },
        {"id": "rush", "plugin": "transform", "parameters": {"fields": {"speed": "rush"}}},
        {"id": "calm", "plugin": "transform", "parameters": {"fields": {"speed": "calm"}}},
        {"id": "join", "plugin": "merge"},
        {
            "id": "lines",
            "plugin": "transform",
            "parameters": {"fields": {"n": "{{ $count(nodes.fetch.lines) }}"}},
        },
        {
            "id": "summary",
            "plugin": "transform",
            "parameters": {
                "fields": {
                    "speed": "{{ nodes.rush.speed ? nodes.rush.speed : nodes.calm.speed }}",
                    "n": "{{ nodes.lines.n }}",
                }
            },
        },
    ],
    "connections": [
        {"sourceNodeId": "fetch", "targetNodeId": "big"},
        {"sourceNodeId": "big", "sourcePort": "true", "targetNodeId": "rush"},
        {"sourceNodeId": "big", "sourcePort": "false", "targetNodeId": "calm"},
        {"sourceNodeId": "rush", "targetNodeId": "join"},
        {"sourceNodeId": "calm", "targetNodeId": "join"},
        {"sourceNodeId": "join", "targetNodeId": "lines"},
        {"sourceNodeId": "lines", "targetNodeId": "summary"},
    ],
}


def test_what_follows_an_exclusive_merge_is_emitted_once() -> None:
    asl = routine_body(compile_routine(MERGED, options=JSONATA).asl)
    # 'big (offloaded)' and 'big (route)': the evaluator decides when fetch's output went to
    # S3 without what the condition reads.
    assert sorted(asl["States"]) == [
        "big",
        "big (offloaded)",
        "big (route)",
        "calm",
        "fetch",
        "lines",
        "rush",
        "summary",
    ]


@pytest.mark.parametrize("total, speed", [(120, "rush"), (80, "calm")])
def test_both_paths_through_the_shared_tail_read_the_branch_that_ran(
    aws: LocalAWS, total: int, speed: str
) -> None:
    document = json.loads(json.dumps(MERGED))
    document["nodes"][0]["parameters"]["data"]["total"] = total
    result = run_routine(aws, document, {}, timeout=60).to_json()
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["output"] == {"summary": {"speed": speed, "n": 2}}
    skipped = "calm" if speed == "rush" else "rush"
    assert result["nodes"][skipped]["status"] == "skipped"
    assert result["nodes"]["join"]["status"] == "succeeded"


def test_a_resolved_value_is_data_and_never_read_for_expressions_again() -> None:
    plugin = default_registry().get("transform")
    assert plugin is not None
    context = {
        "trigger": {"secret": "leaked"},
        "nodes": {},
        "vars": {},
        "execution": {},
        "loop": None,
        "secrets": {},
    }
    sent = {"fields": {"echo": "{{ trigger.secret }}"}}  # a value a user's data held
    assert resolve_parameters(plugin, sent, context, deferred=[]) == sent
    assert resolve_parameters(plugin, sent, context) == {"fields": {"echo": "leaked"}}


def _stop_in_a_branch(status: str) -> dict[str, Any]:
    return {
        "name": "a stop in a branch",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "start", "plugin": "static-data", "parameters": {"data": {"n": 1}}},
            {
                "id": "quick",
                "plugin": "stop",
                "parameters": {"status": status, "error": "Halted", "cause": "enough"},
            },
            {"id": "slow", "plugin": "wait", "parameters": {"seconds": 30}},
            {"id": "after", "plugin": "transform", "parameters": {"fields": {"late": True}}},
        ],
        "connections": [
            {"sourceNodeId": "start", "targetNodeId": "quick"},
            {"sourceNodeId": "start", "targetNodeId": "slow"},
            {"sourceNodeId": "slow", "targetNodeId": "after"},
        ],
    }


@pytest.mark.parametrize("status", ["fail", "succeed"])
def test_a_stop_in_a_parallel_branch_ends_the_execution_at_once(aws: LocalAWS, status: str) -> None:
    asl = routine_body(compile_routine(_stop_in_a_branch(status), options=JSONATA).asl)
    parallel = next(s for s in asl["States"].values() if s["Type"] == "Parallel")
    assert parallel["Catch"][0]["ErrorEquals"] == ["Routines.Stop.quick"]
    result = run_routine(aws, _stop_in_a_branch(status), {}, timeout=20).to_json()
    if status == "fail":
        assert result["status"] == "FAILED"
        assert result["error"] == {"type": "Halted", "message": "enough"}
    else:
        assert result["status"] == "SUCCEEDED", result["error"]
    assert result["nodes"]["after"]["status"] != "succeeded"  # cancelled, not waited for


def test_a_stop_in_a_loop_body_ends_the_execution(aws: LocalAWS) -> None:
    document = {
        "name": "a stop in a loop",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "each", "plugin": "loop", "parameters": {"items": "{{ [1, 2, 3] }}"}},
            {
                "id": "big",
                "plugin": "if",
                "parameters": {"condition": {"left": "{{ loop.item }}", "op": "gt", "right": 2}},
            },
            {"id": "halt", "plugin": "stop", "parameters": {"status": "fail", "error": "TooBig"}},
            {"id": "row", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.item }}"}}},
        ],
        "connections": [
            {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "big"},
            {"sourceNodeId": "big", "sourcePort": "true", "targetNodeId": "halt"},
            {"sourceNodeId": "big", "sourcePort": "false", "targetNodeId": "row"},
        ],
    }
    result = run_routine(aws, document, {}, timeout=20).to_json()
    assert result["status"] == "FAILED"
    assert result["error"]["type"] == "TooBig"


@pytest.mark.parametrize("email, port", [("ada@example.com", "valid"), ("not an address", "default")])
def test_matches_is_decided_by_the_evaluator_on_natively_evaluated_operands(
    aws: LocalAWS, email: str, port: str
) -> None:
    document = {
        "name": "matches",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "check",
                "plugin": "switch",
                "parameters": {
                    "rules": [
                        {
                            "port": "valid",
                            "condition": {
                                "left": "{{ trigger.email }}",
                                "op": "matches",
                                "right": "^[^@ ]+@[^@ ]+$",
                            },
                        }
                    ]
                },
            },
            {"id": "ok", "plugin": "transform", "parameters": {"fields": {"ok": True}}},
            {"id": "bad", "plugin": "transform", "parameters": {"fields": {"ok": False}}},
        ],
        "connections": [
            {"sourceNodeId": "check", "sourcePort": "valid", "targetNodeId": "ok"},
            {"sourceNodeId": "check", "sourcePort": "default", "targetNodeId": "bad"},
        ],
    }
    report = compile_routine(document, options=JSONATA).report
    assert report["evaluatorTasks"] == 1
    result = run_routine(aws, document, {"email": email}, timeout=20).to_json()
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["output"] == ({"ok": {"ok": True}} if port == "valid" else {"bad": {"ok": False}})
    assert result["nodes"]["check"]["status"] == "succeeded"


def _distributed() -> dict[str, Any]:
    document = json.loads((EXAMPLES / "loop-over-items.json").read_text())
    for node in document["nodes"]:
        if node["id"] == "each":
            node["parameters"]["mode"] = "distributed"
        if node["id"] == "standard":  # child executions see no outer variables, nor the input
            node["parameters"]["fields"].update(
                first="{{ nodes.products.items[0].sku }}", who="{{ trigger.who }}"
            )
    return document


def test_a_distributed_loop_carries_what_its_iterations_read(aws: LocalAWS, asl_validator: Validate) -> None:
    asl = compile_routine(_distributed(), options=JSONATA).asl
    each = asl["States"]["each"]
    # Its body is safe as Express children (#28 item 4; run as Standard ones on moto).
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert set(each["ItemSelector"]) == {"item", "index", "iteration", "trigger", "execution", "nodes"}
    assert list(each["ItemSelector"]["nodes"]) == ["products"]
    [checked] = asl_validator([asl])
    assert checked.ok, checked.describe()
    result = run_routine(aws, _distributed(), {"who": "me"}, timeout=60).to_json()
    assert result["status"] == "SUCCEEDED", result["error"]
    rows = result["nodes"]["each"]["output"]
    assert rows[2]["standard"] == {
        "sku": "C-3",
        "rate": 19,
        "price": 20,
        "position": 2,
        "currency": "EUR",
        "first": "A-1",
        "who": "me",
    }
    assert result["nodes"]["standard"]["status"] == "succeeded"  # its node log, under the parent's id


def _offloaded(result: dict[str, Any], node: str) -> dict[str, Any]:
    """The value a node's state assigned to its variable (an S3 reference when offloaded)."""
    for event in result["history"]:
        assigned = event.get("stateExitedEventDetails", {}).get("assignedVariables", {})
        if node in assigned:
            return dict(json.loads(assigned[node]))
    raise AssertionError(f"no state assigned '{node}'")


def test_an_output_larger_than_a_variable_goes_to_s3_and_reads_the_same(aws: LocalAWS) -> None:
    document = {
        "name": "big output",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "big", "plugin": "code", "parameters": {"code": "return {'text': 'x' * 300_000, 'n': 7}"}},
            {
                "id": "after",
                "plugin": "transform",
                # The whole text is not kept inline: the Lambda loads it and evaluates this.
                "parameters": {
                    "fields": {"length": "{{ $length(nodes.big.text) }}", "n": "{{ nodes.big.n }}"}
                },
            },
        ],
        "connections": [{"sourceNodeId": "big", "targetNodeId": "after"}],
    }
    run = run_routine(aws, document, {}, timeout=60)
    result = run.to_json() | {"history": run.history}
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["nodes"]["after"]["output"] == {"length": 300_000, "n": 7}
    reference = _offloaded(result, "big")
    assert (
        reference["$offloaded"].startswith("s3://")
        and reference["n"] == 7
        and reference["__partial"] == {"text": True}
    )
    assert "text" not in reference


@pytest.mark.parametrize("flag", [True, False])
def test_a_condition_on_an_offloaded_output_takes_the_same_branch(aws: LocalAWS, flag: bool) -> None:
    """The list 'many' counts is too big to keep inline: the evaluator decides 'many';
    the flag is kept inline: the Choice decides 'flagged' natively."""
    code = f"return {{'items': ['x' * 100] * 3000, 'flag': {flag}}}"
    document = {
        "name": "big condition",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "big", "plugin": "code", "parameters": {"code": code}},
            {
                "id": "many",
                "plugin": "if",
                "parameters": {
                    "condition": {"left": "{{ $count(nodes.big.items) }}", "op": "gt", "right": 2999}
                },
            },
            {
                "id": "flagged",
                "plugin": "if",
                "parameters": {"condition": {"left": "{{ nodes.big.flag }}", "op": "eq", "right": True}},
            },
            {
                "id": "yes",
                "plugin": "transform",
                "parameters": {"fields": {"n": "{{ $count(nodes.big.items) }}"}},
            },
            {"id": "no", "plugin": "transform", "parameters": {"fields": {"n": 0}}},
            {"id": "on", "plugin": "transform", "parameters": {"fields": {"flag": True}}},
        ],
        "connections": [
            {"sourceNodeId": "big", "targetNodeId": "many"},
            {"sourceNodeId": "many", "targetNodeId": "yes", "sourcePort": "true"},
            {"sourceNodeId": "many", "targetNodeId": "no", "sourcePort": "false"},
            {"sourceNodeId": "big", "targetNodeId": "flagged"},
            {"sourceNodeId": "flagged", "targetNodeId": "on", "sourcePort": "true"},
        ],
    }
    run = run_routine(aws, document, {}, timeout=60)
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output == ({"yes": {"n": 3000}, "on": {"flag": True}} if flag else {"yes": {"n": 3000}})
    entered = [e["stateEnteredEventDetails"]["name"] for e in run.history if "stateEnteredEventDetails" in e]
    assert "many (offloaded)" in entered and "flagged (offloaded)" not in entered


def test_a_task_gets_the_execution_id_and_more_only_when_it_reads_it(aws: LocalAWS) -> None:
    """Tasks carry the execution's id; its routine id and start time travel only to a
    plugin that reads them (code) or to expressions the Lambda evaluates (secrets here)."""
    aws.put_secret("token", "s3cr3t")
    document = {
        "name": "execution fields",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "plain", "plugin": "transform", "parameters": {"fields": {"n": 1}}},
            {
                "id": "secret",
                "plugin": "transform",
                "parameters": {"fields": {"v": "{{ $length(secrets.token) }} {{ execution.routineId }}"}},
            },
        ],
        "connections": [{"sourceNodeId": "plain", "targetNodeId": "secret"}],
    }
    asl = routine_body(compile_routine(document, options=JSONATA).asl)
    assert set(asl["States"]["plain"]["Arguments"]["execution"]) == {"id"}
    assert set(asl["States"]["secret"]["Arguments"]["execution"]) == {"id", "routineId", "startedAt"}
    result = run_routine(aws, document, {}, timeout=60)
    assert result.status == "SUCCEEDED", result.cause
    assert result.nodes["secret"]["output"] == {"v": "6 local"}
