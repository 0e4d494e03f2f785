"""Validator behaviour beyond the corpus: collecting everything, warnings, edge cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contract.errors import InvalidRoutineError
from statemachines.model import Routine
from statemachines.validator import validate_document, validate_routine
from tests.conftest import error_codes, link, node, problems, routine, warning_codes


def test_design_example_is_valid_and_parses_into_the_model(example: dict[str, Any]) -> None:
    parsed = validate_routine(example)
    assert isinstance(parsed, Routine)
    assert parsed.node("fetch").retry is not None
    assert parsed.node("fetch").retry.max_attempts == 3
    assert parsed.connections[0].source_port == "out"  # the default
    assert parsed.connections[0].target_port == "in"


def test_all_errors_are_collected_in_one_pass() -> None:
    doc = routine(
        node("a", "teleport"),
        node("b", "http-request", parameters={"method": "FETCH"}),
        {"id": "c", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.zz }}"}}},
        connections=[link("a", "ghost"), link("b", "c", "nope")],
        trigger={"type": "cron", "schedule": "bad"},
    )
    found = problems(validate_document(doc))
    assert found == {
        ("unknown_plugin", "nodes[a]"),
        ("invalid_parameter", "nodes[b].parameters.method"),
        ("missing_parameter", "nodes[b].parameters.url"),
        ("unknown_reference", "nodes[c].parameters.fields.x"),
        ("unknown_node", "connections[0]"),
        ("unknown_port", "connections[1].sourcePort"),
        ("invalid_trigger", "trigger.schedule"),
    }


def test_validate_routine_raises_with_every_problem() -> None:
    with pytest.raises(InvalidRoutineError) as caught:
        validate_routine(routine(node("a", "nope"), node("a")))
    assert {p.code for p in caught.value.problems} == {"unknown_plugin", "duplicate_node_id"}


def test_broken_node_does_not_cause_unknown_node_for_its_connections() -> None:
    doc = routine(node("a", disabled="no"), node("b"), connections=[link("a", "b")])
    assert problems(validate_document(doc)) == {("invalid_document", "nodes[a].disabled")}


def test_connection_type_that_matches_its_port_is_accepted() -> None:
    doc = routine(node("a", onError="route"), node("b"), connections=[link("a", "b", "error", type="error")])
    assert validate_document(doc).valid


def test_condition_output_may_feed_a_main_input() -> None:
    cond = {"left": 1, "op": "eq", "right": 1}
    doc = routine(
        node("c", "if", parameters={"condition": cond}), node("b"), connections=[link("c", "b", "true")]
    )
    assert validate_document(doc).valid


def test_switch_ports_come_from_its_rules() -> None:
    rules = [{"port": "big", "condition": {"left": 2, "op": "gt", "right": 1}}]
    sw = node("s", "switch", parameters={"rules": rules})
    ok = routine(sw, node("b"), node("d"), connections=[link("s", "b", "big"), link("s", "d", "default")])
    assert validate_document(ok).valid
    bad = routine(sw, node("b"), connections=[link("s", "b", "small")])
    assert problems(validate_document(bad)) == {("unknown_port", "connections[0].sourcePort")}


def test_switch_rules_need_distinct_ports_and_not_default() -> None:
    cond = {"left": 1, "op": "exists"}
    doc = routine(
        node(
            "s",
            "switch",
            parameters={"rules": [{"port": "a", "condition": cond}, {"port": "a", "condition": cond}]},
        )
    )
    assert problems(validate_document(doc)) == {("invalid_parameter", "nodes[s].parameters.rules[1].port")}
    doc = routine(node("s", "switch", parameters={"rules": [{"port": "default", "condition": cond}]}))
    assert problems(validate_document(doc)) == {("invalid_parameter", "nodes[s].parameters.rules[0].port")}


def test_switch_rule_without_port_is_a_missing_parameter() -> None:
    doc = routine(node("s", "switch", parameters={"rules": [{"condition": {"left": 1, "op": "exists"}}]}))
    assert problems(validate_document(doc)) == {("missing_parameter", "nodes[s].parameters.rules[0].port")}


def test_route_on_a_node_without_error_port_is_rejected() -> None:
    doc = routine(node("m", "merge", onError="route"))
    assert problems(validate_document(doc)) == {("invalid_document", "nodes[m].onError")}


def test_reference_to_enclosing_loop_from_its_body_is_unknown() -> None:
    doc = routine(
        node("lp", "loop", parameters={"items": [1, 2]}),
        {"id": "b", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.lp }}"}}},
        connections=[link("lp", "b", "body")],
    )
    assert problems(validate_document(doc)) == {("unknown_reference", "nodes[b].parameters.fields.x")}


def test_loop_body_may_read_loop_item_index_and_upstream_nodes() -> None:
    doc = routine(
        node("src", "static-data", parameters={"data": [1, 2]}),
        node("lp", "loop", parameters={"items": "{{ nodes.src }}"}),
        {
            "id": "b",
            "plugin": "transform",
            "parameters": {
                "fields": {"i": "{{ loop.item }}", "n": "{{ loop.index }}", "all": "{{ nodes.src }}"}
            },
        },
        {"id": "after", "plugin": "transform", "parameters": {"fields": {"r": "{{ nodes.lp }}"}}},
        connections=[link("src", "lp"), link("lp", "b", "body"), link("lp", "after", "done")],
    )
    assert validate_document(doc).valid


def test_body_node_output_is_not_visible_after_the_loop() -> None:
    doc = routine(
        node("lp", "loop", parameters={"items": [1]}),
        node("b"),
        {"id": "after", "plugin": "transform", "parameters": {"fields": {"r": "{{ nodes.b }}"}}},
        connections=[link("lp", "b", "body"), link("lp", "after", "done")],
    )
    assert problems(validate_document(doc)) == {("unknown_reference", "nodes[after].parameters.fields.r")}


def test_loop_field_other_than_item_or_index_is_unknown() -> None:
    doc = routine(
        node("lp", "loop", parameters={"items": [1]}),
        {"id": "b", "plugin": "transform", "parameters": {"fields": {"x": "{{ loop.count }}"}}},
        connections=[link("lp", "b", "body")],
    )
    assert "unknown_reference" in error_codes(doc)


def test_secrets_are_only_for_plugins_and_need_a_name() -> None:
    in_if = routine(
        node("c", "if", parameters={"condition": {"left": "{{ secrets.token }}", "op": "exists"}})
    )
    assert problems(validate_document(in_if)) == {("unknown_reference", "nodes[c].parameters.condition.left")}
    nameless = routine({"id": "a", "plugin": "transform", "parameters": {"fields": {"x": "{{ secrets }}"}}})
    assert error_codes(nameless) == {"unknown_reference"}
    named = routine(node("h", "http-request", parameters={"url": "https://x.example/{{ secrets.key }}"}))
    assert validate_document(named).valid


def test_execution_fields_are_checked() -> None:
    good = routine(
        {
            "id": "a",
            "plugin": "transform",
            "parameters": {
                "fields": {
                    "x": "{{ execution.id }}",
                    "y": "{{ execution.routineId }}",
                    "z": "{{ execution.startedAt }}",
                }
            },
        }
    )
    assert validate_document(good).valid
    bad = routine({"id": "a", "plugin": "transform", "parameters": {"fields": {"x": "{{ execution.user }}"}}})
    assert error_codes(bad) == {"unknown_reference"}


def test_self_reference_is_unknown() -> None:
    doc = routine({"id": "a", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.a.x }}"}}})
    assert error_codes(doc) == {"unknown_reference"}


def test_whole_variables_object_counts_as_using_every_variable() -> None:
    doc = routine(
        {"id": "a", "plugin": "transform", "parameters": {"fields": {"v": "{{ vars }}"}}},
        variables={"a": 1, "b": 2},
    )
    assert validate_document(doc).warnings == []


def test_expression_values_are_accepted_for_typed_parameters() -> None:
    doc = routine(
        node(
            "h",
            "http-request",
            parameters={
                "url": "https://x.example",
                "timeoutSeconds": "{{ vars.t }}",
                "method": "{{ vars.m }}",
            },
        ),
        variables={"t": 5, "m": "GET"},
    )
    assert validate_document(doc).valid


def test_wait_needs_exactly_one_of_seconds_or_until() -> None:
    assert problems(validate_document(routine(node("w", "wait", parameters={})))) == {
        ("missing_parameter", "nodes[w].parameters.seconds")
    }
    both = routine(node("w", "wait", parameters={"seconds": 1, "until": "2026-01-01T00:00:00Z"}))
    assert problems(validate_document(both)) == {("invalid_parameter", "nodes[w].parameters.until")}
    assert validate_document(routine(node("w", "wait", parameters={"seconds": 5}))).valid


def test_ses_needs_a_body_and_valid_addresses() -> None:
    base = {"from": "a@example.com", "to": ["b@example.com"], "subject": "hi"}
    assert problems(validate_document(routine(node("m", "ses-send-email", parameters=base)))) == {
        ("missing_parameter", "nodes[m].parameters.text")
    }
    bad_to = routine(node("m", "ses-send-email", parameters={**base, "text": "x", "to": ["nope"]}))
    assert problems(validate_document(bad_to)) == {("invalid_parameter", "nodes[m].parameters.to[0]")}


def test_names_too_long_and_missing_trigger_are_invalid_documents() -> None:
    doc = routine(node("a"))
    doc["name"] = "x" * 300
    del doc["trigger"]
    assert problems(validate_document(doc)) == {("invalid_document", "name"), ("invalid_document", "trigger")}


def test_trigger_fields_are_checked() -> None:
    extra = routine(node("a"), trigger={"type": "manual", "schedule": "* * * * *"})
    assert problems(validate_document(extra)) == {("invalid_document", "trigger.schedule")}
    no_schedule = routine(node("a"), trigger={"type": "cron"})
    assert problems(validate_document(no_schedule)) == {("invalid_trigger", "trigger.schedule")}
    never = routine(node("a"), trigger={"type": "cron", "schedule": "0 0 30 2 *"})
    assert problems(validate_document(never)) == {("invalid_trigger", "trigger.schedule")}
    not_object = routine(node("a"), trigger="manual")
    assert problems(validate_document(not_object)) == {("invalid_document", "trigger")}


@pytest.mark.parametrize(
    "pattern,path",
    [
        ({}, "trigger.pattern"),
        ({"colour": ["red"]}, "trigger.pattern.colour"),
        ({"source": []}, "trigger.pattern.source"),
        ({"detail": {"size": [{"numeric": [">", "big"]}]}}, "trigger.pattern.detail.size[0]"),
        ({"detail": {"key": [{"prefix": "a", "suffix": "b"}]}}, "trigger.pattern.detail.key[0]"),
        ({"detail": {"key": [{"startsWith": "a"}]}}, "trigger.pattern.detail.key[0]"),
    ],
)
def test_event_patterns_are_checked(pattern: dict[str, Any], path: str) -> None:
    doc = routine(node("a"), trigger={"type": "event", "pattern": pattern})
    assert problems(validate_document(doc)) == {("invalid_trigger", path)}


def test_valid_event_pattern_with_content_filters() -> None:
    pattern = {
        "source": ["shop"],
        "detail": {
            "total": [{"numeric": [">", 0, "<=", 100]}],
            "tier": [{"anything-but": ["free"]}],
            "id": [{"exists": True}],
        },
    }
    assert validate_document(routine(node("a"), trigger={"type": "event", "pattern": pattern})).valid


def test_document_is_not_modified_by_validation(example: dict[str, Any]) -> None:
    before = copy.deepcopy(example)
    validate_document(example)
    assert example == before


# --- warnings ---------------------------------------------------------------------------


def test_warning_reference_to_node_that_may_be_skipped() -> None:
    cond = {"left": "{{ trigger.x }}", "op": "eq", "right": 1}
    doc = routine(
        node("c", "if", parameters={"condition": cond}),
        node("yes"),
        {"id": "end", "plugin": "transform", "parameters": {"fields": {"y": "{{ nodes.yes.a }}"}}},
        connections=[link("c", "yes", "true"), link("yes", "end"), link("c", "end", "false")],
    )
    report = validate_document(doc)
    assert report.valid
    assert problems(report, "warnings") == {("reference_may_be_skipped", "nodes[end].parameters.fields.y")}


def test_no_warning_for_parallel_branches_that_always_run() -> None:
    doc = routine(
        node("start"),
        node("left"),
        node("right"),
        {
            "id": "join",
            "plugin": "transform",
            "parameters": {"fields": {"l": "{{ nodes.left.a }}", "r": "{{ nodes.right.a }}"}},
        },
        connections=[
            link("start", "left"),
            link("start", "right"),
            link("left", "join"),
            link("right", "join"),
        ],
    )
    assert validate_document(doc).warnings == []


def test_success_path_of_an_error_routed_node_may_be_skipped() -> None:
    # risky always runs (on failure its output is the error); ok runs only on success.
    doc = routine(
        node("risky", onError="route"),
        node("ok"),
        node("fix"),
        {
            "id": "end",
            "plugin": "transform",
            "parameters": {"fields": {"r": "{{ nodes.risky.error }}", "v": "{{ nodes.ok.a }}"}},
        },
        connections=[
            link("risky", "ok"),
            link("ok", "end"),
            link("risky", "fix", "error"),
            link("fix", "end"),
        ],
    )
    assert problems(validate_document(doc), "warnings") == {
        ("reference_may_be_skipped", "nodes[end].parameters.fields.v")
    }


def test_warning_reference_to_node_without_output() -> None:
    doc = routine(
        node("w", "wait", parameters={"seconds": 1}),
        {"id": "a", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.w }}"}}},
        connections=[link("w", "a")],
    )
    assert warning_codes(doc) == {"reference_without_output"}


def test_warning_not_series_parallel() -> None:
    doc = routine(
        node("s"),
        node("a"),
        node("b"),
        node("c"),
        node("d"),
        connections=[link("s", "a"), link("s", "b"), link("a", "c"), link("a", "d"), link("b", "d")],
    )
    report = validate_document(doc)
    assert report.valid and problems(report, "warnings") == {("not_series_parallel", "connections")}


def test_series_parallel_graphs_do_not_warn() -> None:
    doc = routine(
        node("s"),
        node("a"),
        node("b"),
        node("j"),
        node("x"),
        node("y"),
        node("k"),
        connections=[
            link("s", "a"),
            link("s", "b"),
            link("a", "j"),
            link("b", "j"),
            link("j", "x"),
            link("j", "y"),
            link("x", "k"),
            link("y", "k"),
        ],
    )
    assert validate_document(doc).warnings == []


def test_other_warnings() -> None:
    doc = routine(
        node("a", onError="route"),
        node("m", "merge", retry={"maxAttempts": 2}),
        node("lp", "loop", parameters={"items": [1]}),
        node("h", "http-request", parameters={"url": "https://x.example", "body": {"ignored": True}}),
        variables={"unused": 1},
        connections=[link("a", "m"), link("a", "m")],
    )
    report = validate_document(doc)
    assert report.valid
    assert problems(report, "warnings") == {
        ("error_port_unconnected", "nodes[a].onError"),
        ("ignored_setting", "nodes[m].retry"),
        ("empty_loop_body", "nodes[lp]"),
        ("ignored_parameter", "nodes[h].parameters.body"),
        ("unused_variable", "variables.unused"),
        ("duplicate_connection", "connections[1]"),
    }


def test_reading_a_disabled_node_warns_that_it_reads_null() -> None:
    doc = routine(
        node("a"),
        node("off", disabled=True),
        {"id": "b", "plugin": "transform", "parameters": {"fields": {"x": "{{ nodes.off.v }}"}}},
        connections=[link("a", "off"), link("off", "b")],
    )
    report = validate_document(doc)
    assert report.valid
    assert problems(report, "warnings") == {("reference_to_disabled_node", "nodes[b].parameters.fields.x")}
    assert "disabled" in report.warnings[0].message


def test_a_missing_nodes_field_is_reported_once() -> None:
    report = validate_document({"name": "x", "trigger": {"type": "manual"}})
    assert [(p.code, p.path, p.message) for p in report.errors] == [
        ("invalid_document", "nodes", "'nodes' is required")
    ]
    empty = validate_document({"name": "x", "trigger": {"type": "manual"}, "nodes": []})
    assert [p.message for p in empty.errors] == ["a routine needs at least one node"]


@pytest.mark.parametrize("kind", [{}, [], 3, None])
def test_a_trigger_type_that_is_not_a_string_is_invalid_not_a_crash(kind: Any) -> None:
    report = validate_document(
        {"name": "x", "trigger": {"type": kind}, "nodes": [{"id": "a", "plugin": "merge"}]}
    )
    assert ("invalid_trigger", "trigger.type") in {(p.code, p.path) for p in report.errors}
