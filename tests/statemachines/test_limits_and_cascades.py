"""Limits are reported once, with ``limit_exceeded``, at the path of what exceeds them; and
an error never spawns false errors downstream of it (issue #9, items 6, 7 and 9)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract import limits
from contract.conditions import evaluate
from contract.limits import (
    MAX_CONNECTIONS,
    MAX_DOCUMENT_BYTES,
    MAX_EVENT_PATTERN_BYTES,
    MAX_EXPRESSION_LENGTH,
    MAX_NODES,
    MAX_SWITCH_RULES,
)
from statemachines.compiler import compile_routine, validate_for_save
from statemachines.validator import validate_document
from tests.conftest import ROOT, link, node, problems, routine

READS_A = {"fields": {"v": "{{ nodes.a.x }}"}}
LEAF_TRUE = {"left": "{{ trigger.n }}", "op": "gte", "right": 1}
LEAF_FALSE = {"left": "{{ trigger.n }}", "op": "lt", "right": 0}


def nested(levels: int, leaf: dict[str, Any]) -> dict[str, Any]:
    """A condition tree ``levels`` groups deep (all/any/not in turn), two leaves per group."""
    condition = leaf
    for level in range(levels):
        kind = ("all", "any", "not")[level % 3]
        condition = {"not": {"not": condition}} if kind == "not" else {kind: [condition, leaf]}
    return condition


def if_routine(condition: dict[str, Any]) -> dict[str, Any]:
    return routine(
        node("c", "if", parameters={"condition": condition}),
        node("yes"),
        node("no"),
        connections=[link("c", "yes", "true"), link("c", "no", "false")],
    )


# --- condition depth (#9.6) ------------------------------------------------------------


def test_a_fifteen_level_condition_validates_and_compiles_to_a_native_choice() -> None:
    condition = nested(15, LEAF_TRUE)
    doc = if_routine(condition)
    assert validate_for_save(doc).errors == []
    compiled = compile_routine(doc)
    # Native: the one evaluator Task is the fallback for a trigger stored in S3 (payload budget).
    assert compiled.report["evaluatorTasks"] == 1, "a deep tree of native comparisons needs no evaluator"
    assert evaluate(condition, lambda v: 5 if v == "{{ trigger.n }}" else v) is True


def test_a_deep_condition_that_needs_the_evaluator_still_compiles() -> None:
    condition = nested(15, {"left": "{{ trigger.s }}", "op": "matches", "right": "^a+$"})
    doc = if_routine(condition)
    assert validate_for_save(doc).errors == []
    assert compile_routine(doc).report["evaluatorTasks"] == 1


def test_a_condition_too_deep_for_the_document_is_one_limit_exceeded_at_its_path() -> None:
    doc = if_routine(nested(30, LEAF_TRUE))  # hundreds of leaves past the depth limit
    report = validate_document(doc)
    assert [(p.code, p.path) for p in report.errors] == [("limit_exceeded", "nodes[c].parameters.condition")]
    assert "48 levels" in report.errors[0].message


# --- cascades (#9.7) --------------------------------------------------------------------


def test_too_many_nodes_is_one_error_and_their_connections_are_still_checked() -> None:
    count = MAX_NODES + 1
    nodes = [node(f"n{i}") for i in range(count)]
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(count - 1)]
    connections.append(link("n0", "ghost"))  # a real mistake is still found
    report = validate_document(routine(*nodes, connections=connections))
    assert problems(report) == {("limit_exceeded", "nodes"), ("unknown_node", f"connections[{count - 1}]")}
    assert f"{count:,} nodes" in report.errors[0].message


def test_too_many_connections_is_one_error_and_the_graph_is_still_checked() -> None:
    nodes = [node(f"n{i}") for i in range(100)]
    pairs = [(i, j) for i in range(100) for j in range(i + 1, 100)][: MAX_CONNECTIONS + 1]
    connections = [link(f"n{i}", f"n{j}") for i, j in pairs]
    connections.append(link("n99", "n0"))  # closes a cycle: still reported
    report = validate_document(routine(*nodes, connections=connections))
    assert problems(report) == {("limit_exceeded", "connections"), ("cycle", f"connections[{len(pairs)}]")}


CASCADES: dict[str, tuple[dict[str, Any], set[tuple[str, str]]]] = {
    "unknown plugin between": (
        routine(
            node("a"),
            node("x", "nope"),
            node("c", parameters=READS_A),
            connections=[link("a", "x"), link("x", "c")],
        ),
        {("unknown_plugin", "nodes[x]")},
    ),
    "malformed node between": (
        routine(
            node("a"),
            node("x", timeoutSeconds="soon"),
            node("c", parameters=READS_A),
            connections=[link("a", "x"), link("x", "c")],
        ),
        {("invalid_document", "nodes[x].timeoutSeconds")},
    ),
    "unknown port between": (
        routine(
            node("a"),
            node("x"),
            node("c", parameters=READS_A),
            connections=[link("a", "x", "nope"), link("x", "c")],
        ),
        {("unknown_port", "connections[0].sourcePort")},
    ),
    "malformed connection between": (
        routine(
            node("a"),
            node("x"),
            node("c", parameters=READS_A),
            connections=[{"sourceNodeId": "a", "targetNodeId": "x", "sourcePort": 5}, link("x", "c")],
        ),
        {("invalid_document", "connections[0].sourcePort")},
    ),
    "misspelt node between": (
        routine(node("a"), node("c", parameters=READS_A), connections=[link("a", "bb"), link("bb", "c")]),
        {("unknown_node", "connections[0]"), ("unknown_node", "connections[1]")},
    ),
    "reading a malformed node": (
        routine(
            node("x", timeoutSeconds="soon"),
            node("c", parameters={"fields": {"v": "{{ nodes.x }}"}}),
            connections=[link("x", "c")],
        ),
        {("invalid_document", "nodes[x].timeoutSeconds")},
    ),
    "body of a malformed loop": (
        routine(
            node("l", "loop", parameters={"items": "{{ trigger.items }}"}, timeoutSeconds="soon"),
            node("b", parameters={"fields": {"i": "{{ loop.item }}"}}),
            connections=[link("l", "b", "body")],
        ),
        {("invalid_document", "nodes[l].timeoutSeconds")},
    ),
    "only way in is broken": (
        routine(
            node("a", onError="route"),
            node("x", "nope"),
            node("c"),
            connections=[link("a", "c", "error"), link("x", "c")],
        ),
        {("unknown_plugin", "nodes[x]")},
    ),
    "ports of a switch with broken rules": (
        routine(
            node("s", "switch", parameters={"rules": [{"port": "a", "condition": {"left": 1, "op": "zz"}}]}),
            node("c"),
            connections=[link("s", "c", "a")],
        ),
        {("invalid_parameter", "nodes[s].parameters.rules[0].condition.op")},
    ),
    "duplicate id of another kind": (
        routine(
            node("s", "switch", parameters={"rules": [{"port": "big", "condition": LEAF_TRUE}]}),
            node("s", "transform", parameters=READS_A),
            node("a"),
            node("c", parameters={"fields": {"v": "{{ nodes.s }}"}}),
            connections=[link("a", "s"), link("s", "c", "big")],
        ),
        {("duplicate_node_id", "nodes[s]")},
    ),
    "nodes not a list": (
        {"name": "x", "trigger": {"type": "manual"}, "nodes": {"a": 1}, "connections": [link("a", "b")]},
        {("invalid_document", "nodes")},
    ),
    "variables not an object": (
        routine(node("c", parameters={"fields": {"v": "{{ vars.x }}"}}), variables=[1]),
        {("invalid_document", "variables")},
    ),
}


@pytest.mark.parametrize("case", list(CASCADES))
def test_an_error_spawns_no_false_errors_downstream(case: str) -> None:
    doc, expected = CASCADES[case]
    report = validate_document(doc)
    assert problems(report) == expected
    assert problems(report, "warnings") == set()


def test_what_an_error_does_not_hide_is_still_checked() -> None:
    doc = routine(
        node("a"),
        node("x", "nope"),
        node(
            "c",
            parameters={"fields": {"v": "{{ nodes.a.x }}", "w": "{{ vars.missing }}", "z": "{{ nodes.zz }}"}},
        ),
        node("d", parameters={"fields": {"v": "{{ nodes.c.v }}"}}),  # c is not upstream of d
        connections=[link("a", "x"), link("x", "c")],
    )
    assert problems(validate_document(doc)) == {
        ("unknown_plugin", "nodes[x]"),
        ("unknown_reference", "nodes[c].parameters.fields.w"),
        ("unknown_reference", "nodes[c].parameters.fields.z"),
        ("unknown_reference", "nodes[d].parameters.fields.v"),
    }


# --- sizes as stated (#9.9) -------------------------------------------------------------


def _padded(size: int) -> dict[str, Any]:
    """A routine whose compact JSON is exactly ``size`` bytes (UTF-8)."""
    doc = routine(node("a", "static-data", parameters={"data": ""}))
    base = len(json.dumps(doc, separators=(",", ":")).encode())
    doc["nodes"][0]["parameters"]["data"] = "é" * ((size - base) // 2) + "x" * ((size - base) % 2)
    return doc


def test_the_size_limit_counts_compact_utf8_bytes_and_says_so() -> None:
    fits = _padded(MAX_DOCUMENT_BYTES)
    assert validate_for_save(fits).valid
    assert len(json.dumps(fits, indent=4).encode()) > MAX_DOCUMENT_BYTES  # whitespace is free
    over = _padded(MAX_DOCUMENT_BYTES + 1)
    report = validate_for_save(over)
    assert [(p.code, p.path) for p in report.errors] == [("limit_exceeded", "")]
    assert f"{MAX_DOCUMENT_BYTES + 1:,} bytes as compact JSON" in report.errors[0].message


def test_too_many_switch_rules_is_a_limit_at_the_rules() -> None:
    rules = [{"port": f"p{i}", "condition": LEAF_TRUE} for i in range(MAX_SWITCH_RULES + 1)]
    report = validate_document(routine(node("s", "switch", parameters={"rules": rules})))
    assert problems(report) == {("limit_exceeded", "nodes[s].parameters.rules")}


def test_an_event_pattern_too_large_for_eventbridge_is_a_limit_measured_as_sent() -> None:
    pattern = {"source": ["shop"], "detail": {"sku": [f"sku-{i:05d}" for i in range(400)]}}
    sent = len(json.dumps(pattern))  # what activation passes to PutRule
    assert sent > MAX_EVENT_PATTERN_BYTES
    report = validate_document(routine(node("a"), trigger={"type": "event", "pattern": pattern}))
    assert problems(report) == {("limit_exceeded", "trigger.pattern")}
    assert f"{sent:,} characters" in report.errors[0].message


def test_an_expression_over_the_length_limit_is_a_limit() -> None:
    long_path = "{{ trigger." + ".".join(["field"] * 200) + " }}"
    report = validate_document(routine(node("a", parameters={"fields": {"v": long_path}})))
    assert problems(report) == {("limit_exceeded", "nodes[a].parameters.fields.v")}
    assert f"at most {MAX_EXPRESSION_LENGTH:,}" in report.errors[0].message


def test_the_readme_lists_every_limit_with_its_code() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for name in dir(limits):
        if name.startswith("MAX_"):
            value = f"{getattr(limits, name):,}"
            assert any(value in row and "`limit_exceeded`" in row for row in rows), (name, value)
    assert "first one included" in readme.split("## Retries", 1)[1]
