"""The ``routines`` command as a user runs it: output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from functions.cli.main import main
from statemachines.machine.records import routine_body
from tests.conftest import DATA, EXAMPLES, ROOT


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_valid_file_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(EXAMPLES[0]))
    assert code == 0 and ": valid" in out


def test_validate_json_output_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--json", str(DATA / "invalid" / "unknown-node.json"))
    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "errors": [{"code": "unknown_node", "path": "connections[0]", "message": "no node with id 'ghost'"}],
        "warnings": [],
    }


def test_validate_human_output_lists_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(DATA / "invalid" / "cycle.json"))
    assert code == 1
    assert "cycle" in out and "connections[2]" in out and "a → b → c → a" in out


def test_validate_several_files_reports_each_and_fails_if_any_is_invalid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "validate", "--json", str(EXAMPLES[0]), str(DATA / "invalid" / "cycle.json"))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["valid"] for r in lines] == [True, False]


@pytest.mark.parametrize(
    "content,code",
    [
        (b"{not json", "invalid_document"),
        (b"\xff\xfe\x00", "invalid_document"),
        (b'{"name": NaN}', "invalid_document"),
        (b'{"name": "\\ud800", "trigger": {"type": "manual"}, "nodes": []}', "invalid_document"),
        (b"[" * 200_000 + b"]" * 200_000, "limit_exceeded"),
        (b'"' + b"x" * (1024 * 1024 + 10) + b'"', "limit_exceeded"),
    ],
)
def test_malformed_files_are_invalid_not_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, code: str
) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(content)
    exit_code, out, _ = run(capsys, "validate", "--json", str(path))
    assert exit_code == 1
    assert [e["code"] for e in json.loads(out)["errors"]] == [code]


def test_unreadable_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 2 and "cannot read" in err


def test_usage_error_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2


def test_plugins_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "http-request" in out and "approval" in out
    code, out, _ = run(capsys, "plugins", "--json")
    catalogue = json.loads(out)
    assert code == 0 and {p["name"] for p in catalogue} >= {"http-request", "switch"}


def test_schema_describes_routines_and_plugin_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    assert set(schema["required"]) == {"name", "trigger", "nodes"}
    node = schema["$defs"]["Node"]
    assert "http-request" in node["properties"]["plugin"]["enum"]
    http = next(
        rule for rule in node["allOf"] if rule["if"]["properties"]["plugin"]["const"] == "http-request"
    )
    assert "url" in http["then"]["properties"]["parameters"]["properties"]
    # AWS users read MaxAttempts as retries: the schema says ours counts the first attempt.
    attempts = schema["$defs"]["Retry"]["properties"]["maxAttempts"]["description"]
    assert "first one included" in attempts and "retries" in attempts


def test_console_script_reads_stdin() -> None:
    doc = (ROOT / "examples" / "hello.json").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "functions.cli", "validate", "--json", "-"],
        input=doc,
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True


HELLO = str(ROOT / "examples" / "hello.json")


def test_compile_prints_the_definition(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compile", HELLO)
    assert code == 0
    # hello is an Express machine (auto): the routine runs inside the record-writing wrapper.
    definition = json.loads(out)
    assert definition["StartAt"] == "Recorded?" and definition["QueryLanguage"] == "JSONata"
    body = routine_body(definition)
    assert body["StartAt"] == "people" and body["States"]["people"]["Type"] == "Task"


def test_compile_report_chooses_the_machine_type_and_prices_both(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compile", "--report", str(ROOT / "examples" / "approval-flow.json"))
    report = json.loads(out)
    assert code == 0
    assert report["execution"]["type"] == "standard" and report["execution"]["requested"] == "auto"
    assert report["execution"]["reasons"][0].startswith("nodes[approve]: ")
    cost = report["cost"]
    assert cost["chosen"] == "standard" and cost["standard"]["transitions"] == report["transitions"]
    assert set(cost["express"]["perMillion"]) == {"min", "max"}


def test_compile_reports_a_jsonata_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compile", "--report", HELLO)
    report = json.loads(out)
    assert code == 0
    assert report["queryLanguage"] == "JSONata"
    # The evaluator and its route run only when the if's operand went to S3 without it.
    assert report["lambdaTasks"] == 4 and report["evaluatorTasks"] == 1
    assert report["transitions"] == {"min": 4, "max": 6}


def test_run_runs_the_jsonata_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--json", HELLO)
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    assert result["output"]["greet"]["message"] == "Hello, Ada!"
    assert result["transitions"] == 4 and result["nodes"]["nobody"]["status"] == "skipped"


def test_compile_invalid_routine_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "compile", str(DATA / "invalid" / "cycle.json"))
    assert code == 1 and out == "" and "cycle" in err


def test_run_prints_a_summary_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", HELLO)
    assert code == 0
    assert "status: SUCCEEDED" in out
    assert "skip  nobody" in out
    assert "greet" in err  # the live timeline


def test_run_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--json", HELLO)
    result = json.loads(out)
    assert code == 0
    assert set(result) >= {"status", "output", "error", "nodes", "transitions"}
    assert result["nodes"]["greet"] == {
        "status": "succeeded",
        "output": {
            "message": "Hello, Ada!",
            "count": [{"name": "Ada", "age": 36}, {"name": "Grace", "age": 85}],
        },
        "error": None,
        "durationMs": result["nodes"]["greet"]["durationMs"],
        "attempts": 1,
    }
    assert result["transitions"] == 4


def test_run_failed_execution_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "name": "stops",
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "halt",
                "plugin": "stop",
                "parameters": {"status": "fail", "error": "Nope", "cause": "why"},
            }
        ],
    }
    path = tmp_path / "stop.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "run", "--json", str(path))
    assert code == 1
    assert json.loads(out)["error"] == {"type": "Nope", "message": "why"}


@pytest.mark.parametrize("bad", ["{not json", "[" * 10 + "]" * 9, '"' + "x" * (10 * 1024 * 1024 + 1) + '"'])
def test_run_rejects_bad_input_without_a_traceback(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", "--input", bad, HELLO)
    assert code == 2 and out == ""
    assert "--input" in err and "Traceback" not in err


REPEATED = (
    b'{"name": "dup", "trigger": {"type": "manual"}, "nodes": [{"id": "a", "plugin": "transform",'
    b' "parameters": {"fields": {"x": 1}}}, {"id": "b", "plugin": "transform",'
    b' "parameters": {"fields": {"x": 1}}, "parameters": {"fields": {"y": 2}}}]}'
)


def test_validate_refuses_a_repeated_key_at_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dup.json"
    path.write_bytes(REPEATED)
    code, out, _ = run(capsys, "validate", "--json", str(path))
    assert code == 1
    assert json.loads(out)["errors"] == [
        {
            "code": "invalid_document",
            "path": "nodes[b].parameters",
            "message": "duplicate key 'parameters': a key may appear only once in an object",
        }
    ]
    path.write_bytes(
        b'{"name": "a", "name": "b", "trigger": {"type": "manual"}, "nodes": [{"id": "a", "id": "b"}]}'
    )
    code, out, _ = run(capsys, "validate", "--json", str(path))
    assert [(e["code"], e["path"]) for e in json.loads(out)["errors"]] == [
        ("invalid_document", "name"),
        ("invalid_document", "nodes[0].id"),
    ]


def test_run_refuses_a_repeated_key_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dup.json"
    path.write_bytes(REPEATED)
    code, out, err = run(capsys, "run", str(path))
    assert code == 1 and out == ""
    assert "invalid_document" in err and "nodes[b].parameters" in err and "duplicate key 'parameters'" in err


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ('{"who": "a", "who": "b"}', "--input at input.who: duplicate key 'who'"),
        ('{"n": ' + "9" * 5000 + "}", "--input at input.n: an integer of 5,000 digits"),
        ("[" * 5000 + "]" * 5000, "--input: nests deeper than"),
    ],
)
def test_run_refuses_input_the_parser_refuses(
    bad: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "run", "--input", bad, HELLO)
    assert code == 2 and out == ""
    assert words in err and "Traceback" not in err


def test_run_invalid_routine_reports_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", str(DATA / "invalid" / "unknown-node.json"))
    assert code == 1 and out == ""
    assert "unknown_node" in err


def test_run_gives_up_after_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "name": "waits for a person",
        "trigger": {"type": "manual"},
        "nodes": [{"id": "ask", "plugin": "approval", "parameters": {"message": "ok?"}}],
    }
    path = tmp_path / "approval.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "run", "--json", "--timeout", "1", str(path))
    assert code == 1
    result = json.loads(out)
    assert result["status"] == "ABORTED"
    assert result["nodes"]["ask"]["status"] == "failed"
