"""Each parameter type, displayOptions and custom checks, through ``check_parameters``."""

from __future__ import annotations

from typing import Any

import pytest

from contract.problems import Report
from plugins.sdk import DisplayOptions, Option, Parameter, ParameterType, check_parameters

P = ParameterType


def run(params: tuple[Parameter, ...], values: dict[str, Any]) -> set[tuple[str, str]]:
    report = Report()
    check_parameters(params, values, "nodes[n].parameters", report)
    return {(p.code, p.path) for p in report.errors} | {(p.code, p.path) for p in report.warnings}


CASES: list[tuple[Parameter, Any, bool]] = [
    (Parameter("v", P.STRING), "text", True),
    (Parameter("v", P.STRING), 3, False),
    (Parameter("v", P.STRING, min_length=2), "x", False),
    (Parameter("v", P.STRING, max_length=2), "xyz", False),
    (Parameter("v", P.STRING, pattern=r"[a-z]+"), "abc", True),
    (Parameter("v", P.STRING, pattern=r"[a-z]+"), "ABC", False),
    (Parameter("v", P.STRING, pattern=r"[a-z]+"), "{{ vars.x }}", True),
    (Parameter("v", P.NUMBER), 2.5, True),
    (Parameter("v", P.NUMBER), True, False),
    (Parameter("v", P.NUMBER), "2", False),
    (Parameter("v", P.NUMBER, integer=True), 2.5, False),
    (Parameter("v", P.NUMBER, integer=True), 2.0, True),
    (Parameter("v", P.NUMBER, minimum=1), 0, False),
    (Parameter("v", P.NUMBER, maximum=10), 11, False),
    (Parameter("v", P.NUMBER), "{{ vars.n }}", True),
    (Parameter("v", P.BOOLEAN), False, True),
    (Parameter("v", P.BOOLEAN), 0, False),
    (Parameter("v", P.SELECT, options=(Option("a"), Option("b"))), "a", True),
    (Parameter("v", P.SELECT, options=(Option("a"), Option("b"))), "c", False),
    (Parameter("v", P.MULTI_SELECT, options=(Option("a"), Option("b"))), ["a", "b"], True),
    (Parameter("v", P.MULTI_SELECT, options=(Option("a"), Option("b"))), ["a", "a"], False),
    (Parameter("v", P.MULTI_SELECT, options=(Option("a"), Option("b"))), ["z"], False),
    (Parameter("v", P.MULTI_SELECT, options=(Option("a"),)), "a", False),
    (Parameter("v", P.JSON), {"any": [1, None]}, True),
    (Parameter("v", P.JSON, json_type="object"), [1], False),
    (Parameter("v", P.JSON, json_type="array"), [1], True),
    (Parameter("v", P.CODE, language="python"), "print(1)", True),
    (Parameter("v", P.CODE), {"x": 1}, False),
    (Parameter("v", P.CREDENTIAL), "prod/api-key", True),
    (Parameter("v", P.CREDENTIAL), "has spaces", False),
    (Parameter("v", P.COLLECTION, children=(Parameter("a", P.BOOLEAN),)), {"a": True}, True),
    (Parameter("v", P.COLLECTION, children=(Parameter("a", P.BOOLEAN),)), {"a": 1}, False),
    (Parameter("v", P.COLLECTION, children=(Parameter("a", P.BOOLEAN),)), {"b": True}, False),
    (Parameter("v", P.COLLECTION, children=(Parameter("a", P.BOOLEAN),)), [], False),
    (
        Parameter("v", P.FIXED_COLLECTION, children=(Parameter("k", P.STRING, required=True),)),
        [{"k": "x"}],
        True,
    ),
    (
        Parameter("v", P.FIXED_COLLECTION, children=(Parameter("k", P.STRING, required=True),)),
        [{"k": 1}],
        False,
    ),
    (Parameter("v", P.FIXED_COLLECTION, children=(Parameter("k", P.STRING),)), ["x"], False),
    (Parameter("v", P.FIXED_COLLECTION, min_items=1, children=(Parameter("k", P.STRING),)), [], False),
    (
        Parameter("v", P.FIXED_COLLECTION, multiple=False, children=(Parameter("k", P.STRING),)),
        {"k": "x"},
        True,
    ),
]


@pytest.mark.parametrize(
    "param,value,ok", CASES, ids=lambda v: repr(v)[:40] if not isinstance(v, Parameter) else v.type.value
)
def test_parameter_types(param: Parameter, value: Any, ok: bool) -> None:
    found = run((param,), {"v": value})
    assert (found == set()) is ok, found
    assert all(code == "invalid_parameter" for code, _ in found)


def test_required_parameter_missing_and_default_satisfies_required() -> None:
    assert run((Parameter("v", P.STRING, required=True),), {}) == {
        ("missing_parameter", "nodes[n].parameters.v")
    }
    assert run((Parameter("v", P.STRING, required=True, default="x"),), {}) == set()
    # null counts as absent
    assert run((Parameter("v", P.STRING, required=True),), {"v": None}) == {
        ("missing_parameter", "nodes[n].parameters.v")
    }


def test_missing_child_of_a_fixed_collection_item_is_reported_at_its_path() -> None:
    param = Parameter("v", P.FIXED_COLLECTION, children=(Parameter("k", P.STRING, required=True),))
    assert run((param,), {"v": [{"k": "a"}, {}]}) == {("missing_parameter", "nodes[n].parameters.v[1].k")}


MODE = Parameter("mode", P.SELECT, default="simple", options=(Option("simple"), Option("advanced")))
EXPERT = Parameter(
    "expert", P.STRING, required=True, display_options=DisplayOptions(show={"mode": ("advanced",)})
)
BASIC = Parameter("basic", P.STRING, display_options=DisplayOptions(hide={"mode": ("advanced",)}))


def test_hidden_parameter_is_not_required() -> None:
    assert run((MODE, EXPERT), {}) == set()
    assert run((MODE, EXPERT), {"mode": "simple"}) == set()


def test_shown_parameter_is_required() -> None:
    assert run((MODE, EXPERT), {"mode": "advanced"}) == {("missing_parameter", "nodes[n].parameters.expert")}


def test_value_for_hidden_parameter_is_ignored_with_a_warning() -> None:
    assert run((MODE, EXPERT), {"expert": "x"}) == {("ignored_parameter", "nodes[n].parameters.expert")}
    assert run((MODE, BASIC), {"mode": "advanced", "basic": "x"}) == {
        ("ignored_parameter", "nodes[n].parameters.basic")
    }
    assert run((MODE, BASIC), {"basic": "x"}) == set()


def test_hidden_parameter_value_is_not_type_checked() -> None:
    assert run((MODE, EXPERT), {"expert": 42}) == {("ignored_parameter", "nodes[n].parameters.expert")}


def test_custom_check_runs_after_type_check() -> None:
    def even(value: Any, path: str) -> list[tuple[str, str]]:
        return [] if value % 2 == 0 else [(path, "must be even")]

    param = Parameter("v", P.NUMBER, check=even)
    assert run((param,), {"v": 4}) == set()
    assert run((param,), {"v": 3}) == {("invalid_parameter", "nodes[n].parameters.v")}
    assert run((param,), {"v": "x"}) == {("invalid_parameter", "nodes[n].parameters.v")}  # no crash in check


def test_a_value_off_its_pattern_is_described_in_words_not_as_a_regex() -> None:
    from statemachines.validator import validate_document

    document = {
        "name": "t",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "a", "plugin": "http-request", "parameters": {"url": "not a url"}}],
        "connections": [],
    }
    [problem] = validate_document(document).errors
    assert problem.path == "nodes[a].parameters.url"
    assert problem.message == "'URL' must be an http:// or https:// URL without spaces, not 'not a url'"
