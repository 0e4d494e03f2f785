"""Golden tests: each routine in golden/ compiles to exactly the ASL next to it.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/statemachines/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from statemachines.compiler import compile_routine

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name.removesuffix(".routine.json") for p in GOLDEN.glob("*.routine.json"))


def compiled_text(case: str) -> str:
    """The definition, pretty-printed so golden diffs read well (deployed: compact)."""
    definition = compile_routine(json.loads((GOLDEN / f"{case}.routine.json").read_text())).definition
    return json.dumps(json.loads(definition), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    expected = GOLDEN / f"{case}.asl.json"
    text = compiled_text(case)
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(text)
    assert text == expected.read_text(), f"{case}: compiled ASL differs from {expected.name}"


def _states(machine: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for state in machine["States"].values():
        out.append(state)
        for branch in state.get("Branches", []):
            out += _states(branch)
        if "ItemProcessor" in state:
            out += _states(state["ItemProcessor"])
    return out


def test_the_corpus_covers_every_construct() -> None:
    seen: set[str] = set()
    for case in CASES:
        for state in _states(json.loads((GOLDEN / f"{case}.asl.json").read_text())):
            seen.add(state["Type"])
            seen.update(f"field:{key}" for key in state)
            if "waitForTaskToken" in str(state.get("Resource", "")):
                seen.add("callback")
            if state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                seen.add("distributed")
    wanted = {
        "Task",
        "Choice",
        "Parallel",
        "Map",
        "Wait",
        "Succeed",
        "Fail",
        "callback",
        "distributed",
    }
    wanted |= {
        "field:Arguments",
        "field:Assign",
        "field:Output",
        "field:Retry",
        "field:Catch",
        "field:TimeoutSeconds",
        "field:Seconds",
        "field:Timestamp",
    }
    assert wanted <= seen, f"no golden case exercises {sorted(wanted - seen)}"
    assert len(CASES) >= 15


def test_compiling_twice_gives_identical_bytes() -> None:
    for case in CASES:
        routine = json.loads((GOLDEN / f"{case}.routine.json").read_text())
        assert compile_routine(routine).definition == compile_routine(routine).definition


def test_saving_refuses_what_cannot_be_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    import statemachines.asl as asl
    from statemachines.compiler import validate_for_save

    routine = json.loads((GOLDEN / "wide_fanout.routine.json").read_text())
    assert validate_for_save(routine).valid
    monkeypatch.setattr(asl, "MAX_DEFINITION_BYTES", 4096)
    report = validate_for_save(routine)
    assert [(p.code, p.path) for p in report.errors] == [("limit_exceeded", "")]
    assert "Step Functions allows 4096" in report.errors[0].message
