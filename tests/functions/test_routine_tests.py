"""Routine test files: format, subset diffs, pinned outputs, `routines test`, pytest plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.local import LocalAWS, run_routine
from functions.local.lambdas import Pin
from functions.local.runner import PinError, start_routine
from functions.testing.compare import mismatches
from functions.testing.spec import TestFileError, load_tests
from tests.conftest import EXAMPLES, ROOT, link, routine


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def write(tmp: Path, name: str, content: Any) -> Path:
    path = tmp / name
    path.write_text(json.dumps(content))
    return path


CHAIN = routine(
    {"id": "src", "plugin": "static-data", "parameters": {"data": {"n": 2}}},
    transform("double", {"n": "{{ nodes.src.n }}", "label": "n is {{ nodes.src.n }}"}),
    connections=[link("src", "double")],
)


# --- subset matching ----------------------------------------------------------------


def test_a_subset_matches_and_each_mismatch_is_one_line_with_its_path() -> None:
    actual = {"a": 1, "b": {"c": [1, {"d": True}], "e": "x"}, "f": None}
    assert mismatches({"b": {"c": [1, {"d": True}]}}, actual, "out") == []
    assert mismatches({"b": {"c": [1, {"d": 1}]}}, actual, "out") == ["out.b.c[1].d: expected 1, got true"]
    assert mismatches({"z": 1}, actual, "out") == ["out.z: expected 1, but the key is missing"]
    assert mismatches({"b": {"c": [1]}}, actual, "out") == [
        'out.b.c: expected 1 item(s), got 2: [1, {"d": true}]'
    ]
    assert mismatches({"a": 1.0, "f": None}, actual, "out") == []
    assert mismatches({"f": {}}, actual, "out") == ["out.f: expected {}, got null"]


# --- the file format ------------------------------------------------------------------


def test_a_test_file_finds_its_routine_beside_it(tmp_path: Path) -> None:
    write(tmp_path, "chain.json", CHAIN)
    loaded = load_tests(write(tmp_path, "chain.test.json", {"cases": [{"name": "runs"}]}))
    assert loaded.routine == CHAIN
    assert loaded.spec.cases[0].expect.status == "SUCCEEDED"  # the default expectation


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"cases": []}, "cases: List should have at least 1 item"),
        ({"cases": [{"name": "x", "expect": {"status": "DONE"}}]}, "cases[0].expect.status: Input should be"),
        ({"cases": [{"name": "x", "pinnd": {}}]}, "cases[0].pinnd: Extra inputs are not permitted"),
        ({"cases": [{"name": "x", "expect": {"nodes": {"a": "ran"}}}]}, "cases[0].expect.nodes.a.status"),
        ({"cases": [{"name": "x"}, {"name": "x"}]}, "cases: two cases are named 'x'"),
        (
            {"cases": [{"name": "x", "pinned": {"a": 1}, "pinnedErrors": {"a": {"type": "E"}}}]},
            "cases[0]: node 'a' is both in pinned and pinnedErrors",
        ),
        ([1], "a test file is a JSON object with a 'cases' list"),
    ],
)
def test_a_malformed_test_file_is_refused_with_the_path_at_fault(
    tmp_path: Path, content: Any, message: str
) -> None:
    write(tmp_path, "chain.json", CHAIN)
    with pytest.raises(TestFileError, match=None) as caught:
        load_tests(write(tmp_path, "chain.test.json", content))
    assert message in str(caught.value)


def test_a_missing_routine_is_named(tmp_path: Path) -> None:
    with pytest.raises(TestFileError, match=r"routine of .*: cannot read .*gone\.json"):
        load_tests(write(tmp_path, "gone.test.json", {"cases": [{"name": "x"}]}))


# --- pinned outputs -------------------------------------------------------------------


def test_a_pinned_node_does_not_run_and_its_output_flows_on(aws: LocalAWS) -> None:
    result = run_routine(aws, CHAIN, pins={"src": Pin(output={"n": 40})})
    assert result.status == "SUCCEEDED"
    assert result.nodes["src"]["output"] == {"n": 40}
    assert result.nodes["double"]["output"] == {"n": 40, "label": "n is 40"}
    # Still a real Step Functions execution: the task state ran and its Lambda answered.
    types = [e["type"] for e in result.history]
    assert types.count("TaskStateEntered") == 2
    assert types.count("LambdaFunctionSucceeded") == 2
    static_runs = [i for i in aws.lambdas.invocations if i.function == "routines-static-data"]
    assert static_runs and static_runs[-1].error is None
    # Pins last for one execution only.
    assert run_routine(aws, CHAIN).nodes["double"]["output"]["n"] == 2


def test_a_pinned_error_is_caught_and_routed_like_a_real_failure(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "src", "plugin": "static-data", "parameters": {"data": 1}, "onError": "route"},
        transform("ok", {"fine": True}),
        transform("handle", {"why": "{{ nodes.src.error.message }}", "kind": "{{ nodes.src.error.type }}"}),
        connections=[link("src", "ok"), link("src", "handle", "error")],
    )
    result = run_routine(aws, doc, pins={"src": Pin(error="Routines.HttpClientError", message="404 gone")})
    assert result.status == "SUCCEEDED"
    assert result.nodes["src"]["status"] == "failed"
    assert result.nodes["src"]["error"] == {"type": "Routines.HttpClientError", "message": "404 gone"}
    assert result.nodes["ok"]["status"] == "skipped"
    assert result.nodes["handle"]["output"] == {"why": "404 gone", "kind": "Routines.HttpClientError"}


def test_only_plugin_nodes_of_the_routine_can_be_pinned(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "src", "plugin": "static-data", "parameters": {"data": 1}},
        {"id": "gate", "plugin": "if", "parameters": {"condition": {"left": 1, "op": "eq", "right": 1}}},
        transform("t", {"a": 1}),
        connections=[link("src", "gate"), link("gate", "t", "true")],
    )
    with pytest.raises(PinError, match="'gate' is a 'if' node"):
        start_routine(aws, doc, pins={"gate": Pin(output=True)})
    with pytest.raises(PinError, match="'nope' is not a node"):
        start_routine(aws, doc, pins={"nope": Pin(output=1)})


# --- routines test ----------------------------------------------------------------------


def test_routines_test_prints_a_line_per_case_and_a_diff_under_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "chain.json", CHAIN)
    cases = [
        {
            "name": "doubles",
            "expect": {"nodes": {"double": {"output": {"label": "n is 2"}}}, "maxTransitions": 2},
        },
        {
            "name": "wrong on purpose",
            "pinned": {"src": {"n": 5}},
            "expect": {
                "status": "FAILED",
                "nodes": {"double": {"output": {"label": "n is 6"}}},
                "maxTransitions": 1,
            },
        },
    ]
    write(tmp_path, "chain.test.json", {"cases": cases})
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"PASS  {tmp_path / 'chain.test.json'} :: doubles" in out
    assert f"FAIL  {tmp_path / 'chain.test.json'} :: wrong on purpose" in out
    assert "status: expected FAILED, got SUCCEEDED" in out
    assert 'nodes.double.output.label: expected "n is 6", got "n is 5"' in out
    assert "transitions: expected at most 1, got 2" in out
    assert out.rstrip().endswith("1 passed, 1 failed")
    assert main(["test", str(tmp_path), "-k", "doubles"]) == 0


APPROVAL = routine(
    {"id": "ask", "plugin": "approval", "parameters": {"message": "ok?"}},
    transform("yes", {"by": "{{ nodes.ask.by }}"}),
    transform("no", {"why": "{{ nodes.ask.data.why }}"}),
    connections=[link("ask", "yes", "approved"), link("ask", "no", "rejected")],
)


def test_a_case_answers_approval_nodes_as_the_api_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "ask.json", APPROVAL)
    cases = [
        {
            "name": "approved",
            "approvals": {"ask": "approve"},
            "expect": {"nodes": {"yes": {"output": {"by": "routines test"}}, "no": "skipped"}},
        },
        {
            "name": "rejected",
            "approvals": {"ask": {"decision": "reject", "data": {"why": "late"}}},
            "expect": {
                "nodes": {"ask": {"output": {"decision": "rejected"}}, "no": {"output": {"why": "late"}}}
            },
        },
        {"name": "not an approval", "approvals": {"yes": "approve"}},
    ]
    write(tmp_path, "ask.test.json", {"cases": cases})
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "PASS" in out.split(":: approved")[0].splitlines()[-1]
    assert "PASS" in out.split(":: rejected")[0].splitlines()[-1]
    assert "approvals: 'yes' is not an approval node of the routine" in out
    assert out.rstrip().endswith("2 passed, 1 failed")


def test_an_approval_decision_must_be_approve_or_reject(tmp_path: Path) -> None:
    write(tmp_path, "ask.json", APPROVAL)
    path = write(tmp_path, "ask.test.json", {"cases": [{"name": "x", "approvals": {"ask": "maybe"}}]})
    with pytest.raises(TestFileError, match=r"cases\[0\]\.approvals\.ask\.decision"):
        load_tests(path)


def test_routines_test_without_test_files_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(tmp_path)]) == 2
    assert "no *.test.json files" in capsys.readouterr().err
    assert main(["test", str(tmp_path / "nothing.test.json")]) == 2


def test_pytest_collects_routine_test_files_and_reports_their_diffs(tmp_path: Path) -> None:
    write(tmp_path, "chain.json", CHAIN)
    cases = [{"name": "passes"}, {"name": "fails", "expect": {"nodes": {"double": {"output": {"n": 3}}}}}]
    write(tmp_path, "chain.test.json", {"cases": cases})
    (tmp_path / "test_python.py").write_text(
        "from functions.local import run_routine\n"
        f"DOC = {CHAIN!r}\n"
        "def test_fixture(routines_runtime):\n"
        "    assert run_routine(routines_runtime, DOC).nodes['double']['output']['n'] == 2\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "1 failed" in done.stdout
    assert "nodes.double.output.n: expected 3, got 2" in done.stdout
    assert "Traceback" not in done.stdout


def test_every_example_has_a_test_file() -> None:
    for example in EXAMPLES:
        assert example.with_name(example.stem + ".test.json").exists(), example.name


def test_the_projects_own_pytest_run_collects_the_examples_once() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "examples"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    counted = {
        line.split(":")[0]: int(line.rsplit(":", 1)[1])
        for line in done.stdout.splitlines()
        if ".test.json:" in line
    }
    for example in EXAMPLES:
        tests = load_tests(example.with_name(example.stem + ".test.json"))
        assert counted.get(f"examples/{example.stem}.test.json") == len(tests.spec.cases), done.stdout
