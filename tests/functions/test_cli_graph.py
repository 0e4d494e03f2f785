"""``routines graph``: every example draws, as Mermaid text and as SVG; ports, error edges
and loop bodies follow the console's conventions (functions/graphs.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from functions.cli.main import main

EXAMPLES = sorted(
    p for p in (Path(__file__).parents[2] / "examples").glob("*.json") if ".test." not in p.name
)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_draws(path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["graph", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart LR\n")
    document = json.loads(path.read_text())
    for node in document["nodes"]:
        assert f"n_{node['id']}" in text and node["plugin"] in text
    arrows = [line for line in text.splitlines() if "-->" in line or "-.->" in line]
    assert len(arrows) == len(document["connections"])
    out = tmp_path / "graph.svg"
    assert main(["graph", str(path), "--format", "svg", "--output", str(out)]) == 0
    root = ET.fromstring(out.read_text())
    groups = root.findall("{http://www.w3.org/2000/svg}g")
    assert {g.get("data-node") for g in groups if g.get("class") == "node"} == {
        n["id"] for n in document["nodes"]
    }


def test_ports_and_error_edges(capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).parents[2] / "examples"
    assert main(["graph", str(examples / "approval-flow.json")]) == 0
    text = capsys.readouterr().out
    assert "n_needsApproval -->|true| n_approve" in text
    assert "n_needsApproval -->|false| n_pay" in text
    assert "n_approve -->|rejected| n_logRejection" in text
    assert 'n_needsApproval{"needsApproval<br/><small>if</small>"}' in text  # a condition: a diamond
    assert "n_request --> n_needsApproval" in text  # "out" is not written
    assert main(["graph", str(examples / "error-routing.json")]) == 0
    assert "n_write -.->|error| n_alert" in capsys.readouterr().out
    assert main(["graph", str(examples / "error-routing.json"), "--format", "svg"]) == 0
    assert 'stroke-dasharray="6 4"' in capsys.readouterr().out


def test_loop_bodies_are_subgraphs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    nested = {
        "name": "nested",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "rows", "plugin": "static-data", "parameters": {"data": {"items": [[1, 2], [3]]}}},
            {"id": "outer", "plugin": "loop", "parameters": {"items": "{{ nodes.rows.items }}"}},
            {"id": "inner", "plugin": "loop", "parameters": {"items": "{{ loop.item }}"}},
            {"id": "cell", "plugin": "transform", "parameters": {"fields": {"v": "{{ loop.item }}"}}},
            {"id": "end", "plugin": "transform", "parameters": {"fields": {"n": 1}}},
        ],
        "connections": [
            {"sourceNodeId": "rows", "targetNodeId": "outer"},
            {"sourceNodeId": "outer", "sourcePort": "body", "targetNodeId": "inner"},
            {"sourceNodeId": "inner", "sourcePort": "body", "targetNodeId": "cell"},
            {"sourceNodeId": "outer", "sourcePort": "done", "targetNodeId": "end"},
        ],
    }
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(nested))
    assert main(["graph", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start_outer = lines.index('  subgraph loop_outer["outer: loop body"]')
    start_inner = lines.index('    subgraph loop_inner["inner: loop body"]')
    assert start_outer < lines.index('    n_inner["inner<br/><small>loop</small>"]') < start_inner
    assert lines[start_inner + 2] == '      n_cell["cell<br/><small>transform</small>"]'
    assert lines[start_inner + 3] == "    end" and lines[start_inner + 4] == "  end"
    assert '  n_end["end<br/><small>transform</small>"]' in lines  # a Mermaid keyword as an id: prefixed
    assert "  n_outer -->|done| n_end" in lines


def test_an_invalid_routine_exits_1_with_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"name": "bad", "trigger": {"type": "manual"}, "nodes": [{"id": "a", "plugin": "nope"}]})
    )
    assert main(["graph", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown_plugin" in captured.err and "nodes[a]" in captured.err
    assert main(["graph", str(tmp_path / "missing.json")]) == 2
