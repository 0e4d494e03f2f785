"""The bill in the compile report (statemachines/cost.py, issue #28 items 5 and 6): every
figure follows from the price table and what the report counts on the machine's paths,
for both compilers."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from statemachines.compiler import compile_routine
from statemachines.cost import (
    ASSUMED_LAMBDA_MS,
    LAMBDA_MEMORY_MB,
    PER,
    PRICES,
    PathCount,
    express_cost,
    lambda_cost,
    lambda_memory_mb,
)
from statemachines.options import CompileOptions

ROOT = Path(__file__).resolve().parents[2]
T = "{{ %s }}"


def transform(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": {"at": node_id}}}


def routine(nodes: list[dict[str, Any]], links: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if links is None:
        links = [{"sourceNodeId": a["id"], "targetNodeId": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"name": "r", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def report_of(document: dict[str, Any], options: CompileOptions) -> dict[str, Any]:
    result: dict[str, Any] = compile_routine(document, options=options).report
    return result


def per_million(dollars: float) -> float:
    return pytest.approx(dollars * PER, abs=1e-4)  # type: ignore[no-any-return]


def lambda_dollars(invocations: int, memory_mb: int = LAMBDA_MEMORY_MB) -> float:
    """Lambda's bill for these invocations, from the price table."""
    gb_seconds = invocations * memory_mb / 1024 * ASSUMED_LAMBDA_MS / 1000
    return invocations * PRICES.lambda_request + gb_seconds * PRICES.lambda_gb_second


def express_dollars(duration_ms: float, memory_mb: int = 64) -> float:
    billed = max(PRICES.express_billing_ms, math.ceil(duration_ms / 100) * 100)
    return PRICES.express_request + billed / 1000 * memory_mb / 1024 * PRICES.express_gb_second


# --- the table ---------------------------------------------------------------------------


def test_the_price_table_says_when_and_where_it_was_read() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES.read)
    assert PRICES.sources and all(s.startswith("https://aws.amazon.com/") for s in PRICES.sources)
    # The page users read gives the same prices and date as the code.
    page = (ROOT / "docs" / "cost.md").read_text()
    assert PRICES.read in page
    assert f"${PRICES.standard_transition * 1000:.3f} per 1,000 state transitions" in page
    assert f"${PRICES.express_request * 1e6:.2f} per million requests" in page
    assert f"${PRICES.express_gb_second:.8f} per GB-second" in page
    assert f"${PRICES.lambda_request * 1e6:.2f} per million requests" in page
    assert f"${PRICES.lambda_gb_second:.10f} per GB-second" in page


def test_lambda_memory_is_the_deployed_functions_memory() -> None:
    from infra.plugin_functions import MEMORY_MB

    assert all(lambda_memory_mb(plugin) == mb for plugin, mb in MEMORY_MB.items())
    assert lambda_memory_mb("transform") == LAMBDA_MEMORY_MB == 512  # ProductFunction's default in infra


# --- per execution -----------------------------------------------------------------------


def test_a_chain_costs_its_transitions_under_standard_and_its_request_and_duration_under_express() -> None:
    nodes = [transform(f"n{i}") for i in range(10)]
    report = report_of(routine(nodes), CompileOptions())
    cost = report["cost"]
    transitions = report["transitions"]["max"]
    assert report["transitions"]["min"] == transitions == len(nodes)  # one Task state per node
    assert cost["standard"]["transitions"] == report["transitions"]
    assert cost["lambdaInvocations"] == {"min": len(nodes), "max": len(nodes)}
    lambdas = lambda_dollars(len(nodes))
    assert cost["lambdaPerMillion"]["max"] == per_million(lambdas)
    standard = cost["standard"]["perMillion"]["max"]
    assert standard == per_million(transitions * PRICES.standard_transition + lambdas)
    assert standard - cost["lambdaPerMillion"]["max"] == per_million(10 * PRICES.standard_transition)
    duration = len(nodes) * ASSUMED_LAMBDA_MS
    assert cost["express"]["durationMs"] == {"min": duration, "max": duration}
    assert cost["express"]["perMillion"]["max"] == per_million(express_dollars(duration) + lambdas)
    assert cost["express"]["perMillion"]["max"] < standard
    assert cost["chosen"] == report["execution"]["type"] == "express"


def test_min_and_max_are_the_cheapest_and_costliest_paths() -> None:
    condition = {"left": T % "trigger.big", "op": "eq", "right": True}
    nodes = [
        {"id": "check", "plugin": "if", "parameters": {"condition": condition}},
        transform("a"),
        transform("b"),
        transform("c"),
    ]
    links = [
        {"sourceNodeId": "check", "sourcePort": "true", "targetNodeId": "a"},
        {"sourceNodeId": "a", "targetNodeId": "b"},
        {"sourceNodeId": "check", "sourcePort": "false", "targetNodeId": "c"},
    ]
    report = report_of(routine(nodes, links), CompileOptions())
    cost = report["cost"]
    # c alone, or a then b (the machine may also ask the evaluator Lambda, when the value
    # compared was offloaded): the bounds differ, and each price follows its own.
    assert cost["lambdaInvocations"]["min"] == 1 < cost["lambdaInvocations"]["max"]
    for bound in ("min", "max"):
        transitions = report["transitions"][bound]
        lambdas = lambda_dollars(cost["lambdaInvocations"][bound])
        assert cost["standard"]["perMillion"][bound] == per_million(
            transitions * PRICES.standard_transition + lambdas
        )
        duration = cost["lambdaInvocations"][bound] * ASSUMED_LAMBDA_MS
        assert cost["express"]["perMillion"][bound] == per_million(express_dollars(duration) + lambdas)


def test_a_wait_is_free_under_standard_and_billed_as_duration_under_express() -> None:
    seconds = 20
    wait = {"id": "pause", "plugin": "wait", "parameters": {"seconds": seconds}}
    before = report_of(routine([transform("a")]), CompileOptions())
    after = report_of(routine([transform("a"), wait]), CompileOptions())
    without, with_wait = before["cost"], after["cost"]
    assert (
        with_wait["express"]["durationMs"]["max"] == without["express"]["durationMs"]["max"] + seconds * 1000
    )
    assert with_wait["lambdaPerMillion"] == without["lambdaPerMillion"]
    more = after["transitions"]["max"] - before["transitions"]["max"]
    standard_step = with_wait["standard"]["perMillion"]["max"] - without["standard"]["perMillion"]["max"]
    assert standard_step == per_million(more * PRICES.standard_transition)  # its states, not its seconds


def test_a_code_node_is_billed_at_its_functions_memory() -> None:
    code = {"id": "calc", "plugin": "code", "parameters": {"code": "def main(input, ctx):\n    return 1\n"}}
    cost = report_of(routine([code]), CompileOptions())["cost"]
    assert cost["lambdaPerMillion"]["max"] == per_million(lambda_dollars(1, lambda_memory_mb("code")))
    assert lambda_memory_mb("code") > LAMBDA_MEMORY_MB


def test_express_duration_is_rounded_up_to_100_ms_and_at_least_one_increment() -> None:
    assert express_cost(PathCount(), 64) == pytest.approx(express_dollars(0))
    assert express_cost(PathCount(lambdas=1), 64) == pytest.approx(express_dollars(ASSUMED_LAMBDA_MS))
    assert express_dollars(ASSUMED_LAMBDA_MS) == pytest.approx(express_dollars(200))  # 150 ms → 200
    assert lambda_cost(PathCount(lambdas=2, lambda_mb=1024)) == pytest.approx(lambda_dollars(2))


# --- loops -------------------------------------------------------------------------------


def loop_routine(mode: str) -> dict[str, Any]:
    nodes = [
        {"id": "each", "plugin": "loop", "parameters": {"items": T % "trigger.items", "mode": mode}},
        {"id": "body", "plugin": "transform", "parameters": {"fields": {"x": T % "loop.item"}}},
        {"id": "body2", "plugin": "transform", "parameters": {"fields": {"y": T % "nodes.body.x"}}},
        transform("after"),
    ]
    links = [
        {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "body"},
        {"sourceNodeId": "body", "targetNodeId": "body2"},
        {"sourceNodeId": "each", "sourcePort": "done", "targetNodeId": "after"},
    ]
    return routine(nodes, links)


def test_an_inline_loop_item_costs_transitions_under_standard_and_duration_under_express() -> None:
    report = report_of(loop_routine("inline"), CompileOptions())
    loop = report["loops"]["each"]
    item = report["cost"]["perLoopItem"]["each"]
    assert loop["mode"] == item["mode"] == "inline" and "childExecutions" not in loop
    assert item["transitions"] == {"min": loop["min"], "max": loop["max"]}
    assert item["lambdaInvocations"] == loop["lambdaTasks"] == {"min": 2, "max": 2}
    lambdas = lambda_dollars(2)
    assert item["standard"]["perMillion"]["max"] == per_million(
        loop["max"] * PRICES.standard_transition + lambdas
    )
    # Inside an Express execution an iteration starts nothing: it only lengthens the run.
    billed_ms = math.ceil(2 * ASSUMED_LAMBDA_MS / 100) * 100
    duration = billed_ms / 1000 * 64 / 1024 * PRICES.express_gb_second
    assert item["express"]["perMillion"]["max"] == per_million(duration + lambdas)


def test_a_distributed_loop_counts_a_child_execution_per_item() -> None:
    """Issue #28 item 5: the children bill their transitions, per item, whatever the parent."""
    report = report_of(loop_routine("distributed"), CompileOptions())
    loop = report["loops"]["each"]
    assert loop["mode"] == "distributed"
    # An eligible body's children run as Express (#28 item 4).
    assert loop["childExecutions"] == {"perItem": 1, "type": "express"}
    item = report["cost"]["perLoopItem"]["each"]
    assert item["childExecutions"] == {"perItem": 1, "type": "express"}
    assert item["transitions"] == {"min": loop["min"], "max": loop["max"]} and loop["min"] >= 2
    # Express children bill a request and their duration, whatever the parent.
    express = item["express"]["perMillion"]["max"]
    assert item["standard"]["perMillion"]["max"] == express
    assert express < loop["max"] * PRICES.standard_transition * 1e6 + lambda_dollars(2) * 1e6
    # A thousand items bill a thousand times the item, not the parent's few transitions.
    thousand = report["transitions"]["max"] + 1000 * item["transitions"]["max"]
    assert thousand >= 1000 * 2


def test_examples_report_both_costs_and_a_choice() -> None:
    """Every example."""
    for path in sorted((ROOT / "examples").glob("*.json")):
        if path.name.endswith(".test.json"):
            continue
        report = report_of(json.loads(path.read_text()), CompileOptions())
        cost = report["cost"]
        assert cost["chosen"] == report["execution"]["type"] in ("standard", "express"), path.name
        for kind in ("standard", "express"):
            bounds = cost[kind]["perMillion"]
            assert 0 < bounds["min"] <= bounds["max"], (path.name, kind)
        if report["execution"]["type"] == "standard" and report["execution"]["requested"] == "auto":
            assert report["execution"]["reasons"], path.name  # Standard under auto says why
