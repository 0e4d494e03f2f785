"""The golden routines that need no network or person, executed through ``routines run
--json``: expected execution status and result, node statuses, outputs and billed
transitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from statemachines.compiler import compile_routine

GOLDEN = Path(__file__).parent / "golden"
RUNS = sorted(p.name.removesuffix(".run.json") for p in GOLDEN.glob("*.run.json"))


@pytest.mark.parametrize("case", RUNS)
def test_golden_routine_runs_as_expected(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected: dict[str, Any] = json.loads((GOLDEN / f"{case}.run.json").read_text())
    code = main(
        ["run", "--json", "--input", json.dumps(expected["input"]), str(GOLDEN / f"{case}.routine.json")]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == (0 if expected["status"] == "SUCCEEDED" else 1)
    assert result["status"] == expected["status"]
    assert result["transitions"] == expected["transitions"]
    if "output" in expected:  # the execution's result (DESIGN §3)
        assert result["output"] == expected["output"]
    report = compile_routine(json.loads((GOLDEN / f"{case}.routine.json").read_text())).report
    if not report["loops"]:  # the compile report's bounds hold for the real execution
        assert report["transitions"]["min"] <= result["transitions"] <= report["transitions"]["max"]
    for node_id, node in expected["nodes"].items():
        assert result["nodes"][node_id]["status"] == node["status"], node_id
        if "output" in node:
            assert result["nodes"][node_id]["output"] == node["output"], node_id
    assert set(result["nodes"]) == set(expected["nodes"]), "every node appears in the trace"
