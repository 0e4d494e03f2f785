"""Which routines may run as Express machines (statemachines/express.py, issue #28): every
reason one may not, at the path of its cause; ``auto`` picks Express only without them,
and ``execution: "express"`` on a routine with any is refused when it is saved."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from contract.errors import InvalidRoutineError
from plugins.sdk import PluginDefinition, PluginRegistry, default_registry
from statemachines.compiler import compile_routine, validate_for_save
from statemachines.express import (
    EXPRESS_MAX_SECONDS,
    PLUGIN_OVERHEAD_SECONDS,
    ExecutionChoice,
    choose,
    reason_line,
)
from statemachines.validator import analyse, validate_routine

T = "{{ %s }}"


def node(node_id: str, plugin: str = "transform", **settings: Any) -> dict[str, Any]:
    parameters = settings.pop("parameters", None)
    if parameters is None and plugin == "transform":
        parameters = {"fields": {"at": node_id}}
    return {"id": node_id, "plugin": plugin, "parameters": parameters or {}, **settings}


def link(source: str, target: str, port: str = "out") -> dict[str, Any]:
    return {"sourceNodeId": source, "sourcePort": port, "targetNodeId": target}


def chain(*nodes: dict[str, Any], **routine: Any) -> dict[str, Any]:
    links = [link(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    return {"name": "r", "trigger": {"type": "manual"}, "nodes": list(nodes), "connections": links, **routine}


def choice(document: dict[str, Any], registry: PluginRegistry | None = None) -> ExecutionChoice:
    validation = analyse(document, registry)
    assert validation.routine is not None and validation.topology is not None, validation.report.errors
    return choose(validation.routine, validation.topology)


def paths(document: dict[str, Any], registry: PluginRegistry | None = None) -> list[str]:
    return [p.path for p in choice(document, registry).reasons]


def retry_seconds(
    attempts: int, attempt: float, interval: float, rate: float, cap: float | None = None
) -> float:
    """The worst case of a retry schedule, computed here from its definition."""
    delays = [interval * rate**k for k in range(attempts - 1)]
    return attempts * attempt + sum(min(d, cap) if cap else d for d in delays)


def with_plugin(plugin: PluginDefinition) -> PluginRegistry:
    """The default plugins, with ``plugin`` added or in place of its namesake."""
    registry = PluginRegistry(p for p in default_registry() if p.name != plugin.name)
    registry.register(plugin)
    return registry


def execute_routine(*, repeat_safe: bool) -> PluginDefinition:
    """execute-routine as declared, or declared safe to repeat."""
    plugin = default_registry().get("execute-routine")
    return dataclasses.replace(plugin, repeat_safe=repeat_safe)


# --- auto ------------------------------------------------------------------------------


def test_a_short_chain_of_pure_nodes_is_express() -> None:
    picked = choice(chain(node("a"), node("b"), node("c")))
    assert (picked.type, picked.requested, picked.reasons) == ("express", "auto", ())


def test_standard_is_kept_when_asked_for_and_says_so() -> None:
    picked = choice(chain(node("a"), execution="standard"))
    assert picked.type == "standard" and picked.requested == "standard"
    assert [p.path for p in picked.reasons] == ["execution"]


def test_an_approval_makes_it_standard_unless_disabled() -> None:
    approve = node("ask", "approval", parameters={"message": "ok?"})
    document = chain(node("a"), approve)
    document["connections"] = [link("a", "ask")]
    picked = choice(document)
    assert picked.type == "standard" and [p.path for p in picked.reasons] == ["nodes[ask]"]
    assert "waitForTaskToken" in reason_line(picked.reasons[0])
    document["nodes"][1]["disabled"] = True
    assert choice(document).type == "express"


def test_execute_routine_waiting_is_a_reason_and_not_waiting_is_not() -> None:
    registry = with_plugin(execute_routine(repeat_safe=True))
    waits = chain(node("child", "execute-routine", parameters={"routine": "r2"}))
    assert paths(waits, registry) == ["nodes[child].parameters.wait"]
    explicit = chain(node("child", "execute-routine", parameters={"routine": "r2", "wait": True}))
    assert paths(explicit, registry) == ["nodes[child].parameters.wait"]
    fire_and_forget = chain(node("child", "execute-routine", parameters={"routine": "r2", "wait": False}))
    assert choice(fire_and_forget, registry).type == "express"


def test_execute_routine_must_be_safe_to_repeat_though_it_is_a_control_node() -> None:
    registry = with_plugin(execute_routine(repeat_safe=False))
    document = chain(node("child", "execute-routine", parameters={"routine": "r2", "wait": False}))
    assert paths(document, registry) == ["nodes[child]"]
    assert "start the child routine twice" in choice(document, registry).reasons[0].message


def test_a_plugin_not_safe_to_repeat_makes_it_standard() -> None:
    unsafe = PluginDefinition(
        name="launch-rocket", version=1, display_name="Launch", description="once", category="x"
    )
    safe = PluginDefinition(
        name="count-stars",
        version=1,
        display_name="Count",
        description="pure",
        category="x",
        repeat_safe=True,
    )
    registry = with_plugin(unsafe)
    registry.register(safe)
    assert paths(chain(node("a", "count-stars"), node("go", "launch-rocket")), registry) == ["nodes[go]"]
    assert choice(chain(node("a", "count-stars")), registry).type == "express"


# --- time ------------------------------------------------------------------------------


def test_a_wait_longer_than_five_minutes_is_a_reason_at_its_seconds() -> None:
    short = chain(node("a"), node("w", "wait", parameters={"seconds": EXPRESS_MAX_SECONDS - 60}))
    assert choice(short).type == "express"
    long = chain(node("a"), node("w", "wait", parameters={"seconds": EXPRESS_MAX_SECONDS + 1}))
    assert paths(long) == ["nodes[w].parameters.seconds"]


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"seconds": T % "trigger.delay"}, "nodes[w].parameters.seconds"),
        ({"until": "2030-01-01T00:00:00Z"}, "nodes[w].parameters.until"),
    ],
)
def test_a_wait_known_only_at_run_time_has_no_bound(parameters: dict[str, Any], path: str) -> None:
    assert paths(chain(node("w", "wait", parameters=parameters))) == [path]


def test_a_retry_schedule_is_bounded_by_timeouts_attempts_and_backoff() -> None:
    timeout, interval, rate = 60, 1, 2.0

    def fetch(attempts: int) -> dict[str, Any]:
        retry = {"maxAttempts": attempts, "intervalSeconds": interval, "backoffRate": rate}
        return node("fetch", timeoutSeconds=timeout, retry=retry)

    fits = max(n for n in range(1, 10) if retry_seconds(n, timeout, interval, rate) <= EXPRESS_MAX_SECONDS)
    assert choice(chain(fetch(fits))).type == "express"
    over = choice(chain(fetch(fits + 1)))
    assert [p.path for p in over.reasons] == ["nodes[fetch].retry"]
    worst = retry_seconds(fits + 1, timeout, interval, rate)
    assert f"may take {worst:,.0f} s" in over.reasons[0].message


def test_max_delay_caps_each_retry_delay() -> None:
    retry = {"maxAttempts": 4, "intervalSeconds": 100, "backoffRate": 2.0, "maxDelaySeconds": 50}
    assert retry_seconds(4, 20, 100, 2.0, cap=50) <= EXPRESS_MAX_SECONDS < retry_seconds(4, 20, 100, 2.0)
    assert choice(chain(node("a", timeoutSeconds=20, retry=retry))).type == "express"
    del retry["maxDelaySeconds"]
    assert paths(chain(node("a", timeoutSeconds=20, retry=retry))) == ["nodes[a].retry"]


def test_without_a_node_timeout_the_plugins_own_timeout_bounds_an_attempt() -> None:
    url = "https://example.com"

    def http(seconds: int) -> dict[str, Any]:
        return node(
            "call", "http-request", parameters={"method": "GET", "url": url, "timeoutSeconds": seconds}
        )

    under = EXPRESS_MAX_SECONDS - PLUGIN_OVERHEAD_SECONDS
    assert choice(chain(http(under))).type == "express"
    assert paths(chain(http(under + 1))) == ["nodes[call].parameters.timeoutSeconds"]
    # A node's timeoutSeconds is what Step Functions enforces: it wins.
    bounded = chain({**http(900), "timeoutSeconds": 60})
    assert choice(bounded).type == "express"


def test_nodes_in_sequence_add_up_and_parallel_branches_do_not() -> None:
    each = EXPRESS_MAX_SECONDS // 3 + 1  # three in a row pass the limit, two do not
    three = chain(*(node(n, timeoutSeconds=each) for n in "abc"))
    picked = choice(three)
    assert [p.path for p in picked.reasons] == ["nodes"]
    assert "a → b → c" in picked.reasons[0].message
    fan = chain(
        node("a", timeoutSeconds=each), node("b", timeoutSeconds=each), node("c", timeoutSeconds=each)
    )
    fan["nodes"].append({"id": "j", "plugin": "merge"})
    fan["connections"] = [link("a", "b"), link("a", "c"), link("b", "j"), link("c", "j")]
    assert choice(fan).type == "express"  # a, then b and c side by side: two limits, not three


def test_a_routine_timeout_within_five_minutes_settles_time_and_a_longer_one_is_a_reason() -> None:
    long_wait = node("w", "wait", parameters={"seconds": 3600})
    # Past its own timeoutSeconds the routine ends on either machine type: Express changes nothing.
    assert choice(chain(long_wait, timeoutSeconds=EXPRESS_MAX_SECONDS)).type == "express"
    assert paths(chain(node("a"), timeoutSeconds=EXPRESS_MAX_SECONDS + 1)) == ["timeoutSeconds"]


# --- loops -----------------------------------------------------------------------------


def loop(items: Any, body: list[dict[str, Any]], **parameters: Any) -> dict[str, Any]:
    nodes = [node("each", "loop", parameters={"items": items, **parameters}), *body]
    links = [link("each", body[0]["id"], "body")]
    links += [link(a["id"], b["id"]) for a, b in itertools.pairwise(body)]
    return {"name": "r", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def test_a_loop_over_items_known_at_run_time_with_a_plugin_body_has_no_bound() -> None:
    assert paths(loop(T % "trigger.items", [node("b")])) == ["nodes[each].parameters.items"]


def test_a_loop_whose_body_takes_no_time_is_fine_whatever_its_items() -> None:
    body = [node("check", "if", parameters={"condition": {"left": T % "loop.item", "op": "eq", "right": 1}})]
    assert choice(loop(T % "trigger.items", body)).type == "express"


def test_a_literal_item_list_is_bounded_in_rounds_of_max_concurrency() -> None:
    per_item = 50
    rounds = EXPRESS_MAX_SECONDS // per_item  # this many rounds fit, one more does not
    body = [node("b", timeoutSeconds=per_item)]
    fits = loop(list(range(rounds * 2)), body, maxConcurrency=2)
    assert choice(fits).type == "express"
    over = loop(list(range(rounds * 2 + 1)), body, maxConcurrency=2)
    assert paths(over) == ["nodes[each]"]


def until_loop(max_iterations: int, per_item: int) -> dict[str, Any]:
    until = {"expression": "{{ loop.index >= 2 }}"}
    body = [node("b", timeoutSeconds=per_item)]
    document = loop(None, body, until=until, maxIterations=max_iterations)
    document["nodes"][0]["parameters"].pop("items")
    return document


def test_an_until_loop_is_bounded_by_max_iterations_one_after_another() -> None:
    per_item = 50
    fits = EXPRESS_MAX_SECONDS // per_item  # this many iterations fit, one more does not
    assert choice(until_loop(fits, per_item)).type == "express"
    over = choice(until_loop(fits + 1, per_item))
    assert [(r.path, r.message.split(";")[0]) for r in over.reasons] == [
        (
            "nodes[each].parameters.maxIterations",
            f"{fits + 1} iterations (maxIterations) of {per_item} s may take {(fits + 1) * per_item:,} s",
        )
    ]


def test_a_distributed_loop_is_a_reason() -> None:
    body = [node("check", "if", parameters={"condition": {"left": T % "loop.item", "op": "eq", "right": 1}})]
    document = loop(T % "trigger.items", body, mode="distributed")
    assert paths(document) == ["nodes[each].parameters.mode"]


# --- execution: "express" at save time --------------------------------------------------


def test_express_on_an_ineligible_routine_is_refused_with_every_reason_as_a_problem() -> None:
    document = chain(
        node("a", timeoutSeconds=10),
        node("w", "wait", parameters={"seconds": 900}),
        node("ask", "approval", parameters={"message": "ok?"}),
        execution="express",
    )
    document["connections"][1]["sourcePort"] = "out"
    report = validate_for_save(document)
    assert [(p.code, p.path) for p in report.errors] == [
        ("limit_exceeded", "nodes[ask]"),
        ("limit_exceeded", "nodes[w].parameters.seconds"),
    ]
    assert all("execution 'express'" in p.message for p in report.errors)
    with pytest.raises(InvalidRoutineError):
        validate_routine(document)
    with pytest.raises(InvalidRoutineError):
        compile_routine(document)
    auto = {k: v for k, v in document.items() if k != "execution"}
    assert validate_for_save(auto).valid  # the same routine, left to auto, is Standard


def test_express_on_an_eligible_routine_is_express() -> None:
    document = chain(node("a"), node("b"), execution="express")
    assert validate_for_save(document).valid
    report = compile_routine(document).report
    assert report["execution"] == {"type": "express", "requested": "express", "reasons": []}


@pytest.mark.parametrize("value", ["fast", True, None, 1])
def test_execution_must_be_one_of_three_words(value: Any) -> None:
    report = validate_for_save(chain(node("a"), execution=value))
    assert [(p.code, p.path) for p in report.errors] == [("invalid_document", "execution")]


def test_the_compile_report_gives_one_line_per_reason() -> None:
    document = chain(node("a"), node("w", "wait", parameters={"until": "2030-01-01T00:00:00Z"}))
    execution = compile_routine(document).report["execution"]
    assert execution["type"] == "standard" and execution["requested"] == "auto"
    assert execution["reasons"] == [reason_line(p) for p in choice(document).reasons]
    assert execution["reasons"][0].startswith("nodes[w].parameters.until: ")


# --- the examples (issue #28, "Done when") -------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_webhook_example_chooses_express() -> None:
    picked = choice(json.loads((EXAMPLES / "webhook-order-handling.json").read_text()))
    assert (picked.type, picked.reasons) == ("express", ())


@pytest.mark.parametrize("name", ["cron-daily-report", "event-fanout"])
def test_the_cron_and_event_examples_choose_express(name: str) -> None:
    # The cron example mails its report: ses-send-email sends through the plugin ledger
    # (plugins/runtime/ledger.py), once per attempt key, so it is safe to repeat; its
    # metrics retry (3 attempts, 30 s and 60 s apart) may take 210 s, its path 230 s.
    picked = choice(json.loads((EXAMPLES / f"{name}.json").read_text()))
    assert (picked.type, picked.reasons) == ("express", ())


def test_a_webhook_that_answers_with_the_result_stays_standard() -> None:
    """It waits through DescribeExecution, which AWS does not answer for Express."""
    picked = choice(json.loads((EXAMPLES / "webhook-respond.json").read_text()))
    assert picked.type == "standard" and [p.path for p in picked.reasons] == ["trigger.respond"]


def test_the_approval_example_chooses_standard_for_its_approval() -> None:
    picked = choice(json.loads((EXAMPLES / "approval-flow.json").read_text()))
    assert picked.type == "standard" and [p.path for p in picked.reasons] == ["nodes[approve]"]
