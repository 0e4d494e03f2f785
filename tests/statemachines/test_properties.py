"""Property tests: whatever JSON arrives, the validator answers with a report, never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachines.validator import validate_document

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
ids = st.sampled_from(["a", "b", "c", "fetch", "1bad", ""]) | st.text(max_size=5)
plugins = st.sampled_from(
    [
        "transform",
        "if",
        "switch",
        "loop",
        "merge",
        "http-request",
        "filter",
        "wait",
        "approval",
        "stop",
        "static-data",
        "nope",
    ]
)
ports = st.sampled_from(["out", "in", "true", "false", "error", "body", "done", "default", "x"])
expressions = st.sampled_from(
    [
        "{{ nodes.a.x }}",
        "{{ nodes.b }}",
        "{{ vars.v }}",
        "{{ loop.item }}",
        "{{ item.p }}",
        "{{ }}",
        "{{ secrets.k }}",
        "plain",
        "{{ trigger.body }}",
        "{{ a b",
    ]
)
nodes = st.fixed_dictionaries(
    {"id": ids, "plugin": plugins},
    optional={
        "parameters": st.dictionaries(
            st.sampled_from(["fields", "condition", "items", "url", "data", "seconds", "rules"]),
            json_values | expressions,
            max_size=3,
        ),
        "onError": st.sampled_from(["fail", "continue", "route", "x"]),
        "retry": json_values,
        "disabled": json_values,
    },
)
connections = st.fixed_dictionaries(
    {"sourceNodeId": ids, "targetNodeId": ids},
    optional={
        "sourcePort": ports,
        "targetPort": ports,
        "type": st.sampled_from(["main", "error", "loop", "x"]),
    },
)
routines = st.fixed_dictionaries(
    {
        "name": st.text(max_size=5),
        "trigger": json_values | st.just({"type": "cron", "schedule": "*/5 * * * *"}),
        "nodes": st.lists(nodes, max_size=6),
    },
    optional={"connections": st.lists(connections, max_size=8), "variables": json_values},
)


def _check(document: Any) -> None:
    report = validate_document(document)
    assert report.valid == (not report.errors)
    for problem in report.errors + report.warnings:
        assert problem.code and isinstance(problem.path, str) and problem.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_gets_a_report(document: Any) -> None:
    _check(document)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines)
def test_routine_shaped_documents_get_a_report(document: Any) -> None:
    _check(document)


def test_very_deep_document_is_a_limit_not_a_crash() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    report = validate_document({"name": "x", "trigger": {"type": "manual"}, "nodes": deep})
    assert [p.code for p in report.errors] == ["limit_exceeded"]


def test_non_json_python_values_are_refused() -> None:
    assert [p.code for p in validate_document({"name": float("nan")}).errors] == ["invalid_document"]
    assert [p.code for p in validate_document({1: "x"}).errors] == ["invalid_document"]
    assert [p.code for p in validate_document({"x": object()}).errors] == ["invalid_document"]


def test_unpaired_surrogates_are_invalid_documents() -> None:
    report = validate_document({"name": "\ud800", "trigger": {"type": "manual"}, "nodes": []})
    assert [p.code for p in report.errors] == ["invalid_document"]
    report = validate_document({"\udfff": 1})
    assert [p.code for p in report.errors] == ["invalid_document"]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet=st.characters(), max_size=5), st.text(alphabet=st.characters(), max_size=5)
    )
)
def test_any_unicode_including_surrogates_gets_a_report(document: Any) -> None:
    _check(document)
