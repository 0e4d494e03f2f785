"""``routines graph``: every example draws, as Mermaid text and as SVG; ports, error edges
and loop bodies follow the console's conventions (functions/graphs.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from functions.cli.main import main
from functions.graph_layout import Box, Layout, layout
from functions.graphs import picture
from statemachines.validator import analyse

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
    groups = list(root.iter("{http://www.w3.org/2000/svg}g"))
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


def _laid(document: dict[str, Any]) -> tuple[Any, Layout]:
    validation = analyse(document)
    assert validation.topology is not None, validation.report
    topology = validation.topology
    return topology, layout(picture(topology), topology.enclosing)


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x <= inner.x
        and inner.x + inner.width <= outer.x + outer.width
        and outer.y <= inner.y
        and inner.y + inner.height <= outer.y + outer.height
    )


def _wide() -> dict[str, Any]:
    """Fan-outs, if/else joins, edges that skip columns, and a loop inside a loop."""
    start = {"id": "start", "plugin": "static-data", "parameters": {"data": {"xs": [[1]]}}}
    nodes: list[dict[str, Any]] = [start]
    connections: list[dict[str, Any]] = []
    for index in range(12):
        nodes.append({"id": f"t{index}", "plugin": "transform", "parameters": {"fields": {"i": index}}})
        source = "start" if index < 3 else f"t{index - 3}"
        connections.append({"sourceNodeId": source, "targetNodeId": f"t{index}"})
    nodes.append({"id": "join", "plugin": "merge", "parameters": {}})
    connections += [{"sourceNodeId": s, "targetNodeId": "join"} for s in ("start", "t0", "t11")]
    nodes += [
        {"id": "outer", "plugin": "loop", "parameters": {"items": "{{ nodes.start.xs }}"}},
        {"id": "inner", "plugin": "loop", "parameters": {"items": "{{ loop.item }}"}},
        {"id": "cell", "plugin": "transform", "parameters": {"fields": {"v": "{{ loop.item }}"}}},
        {"id": "after", "plugin": "transform", "parameters": {"fields": {"n": 1}}},
    ]
    connections += [
        {"sourceNodeId": "join", "targetNodeId": "outer"},
        {"sourceNodeId": "outer", "sourcePort": "body", "targetNodeId": "inner"},
        {"sourceNodeId": "inner", "sourcePort": "body", "targetNodeId": "cell"},
        {"sourceNodeId": "outer", "sourcePort": "done", "targetNodeId": "after"},
        {"sourceNodeId": "start", "targetNodeId": "after"},
    ]
    return {"name": "wide", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


LAYOUTS = [json.loads(p.read_text()) for p in EXAMPLES] + [_wide()]


@pytest.mark.parametrize("document", LAYOUTS, ids=[p.stem for p in EXAMPLES] + ["wide"])
def test_the_svg_layout_keeps_boxes_apart_and_loop_bodies_whole(document: dict[str, Any]) -> None:
    topology, laid = _laid(document)
    boxes = laid.nodes
    assert set(boxes) == {node["id"] for node in document["nodes"]}
    names = sorted(boxes)
    for index, a in enumerate(names):  # no box over another
        for b in names[index + 1 :]:
            assert not _overlap(boxes[a], boxes[b]), (a, b)
    bodies = dict(laid.loops)
    assert set(bodies) == {loop for loop, body in topology.loop_bodies.items() if body}
    for loop, body in bodies.items():  # a body's box holds its nodes and no other
        assert boxes[loop].x + boxes[loop].width < body.x  # right of its loop
        for node, box in boxes.items():
            assert _inside(box, body) == (node in topology.loop_bodies[loop]), (loop, node)
    for edge in topology.graph.edges:  # every edge points right; one that skips columns
        source, target = boxes[edge.source], boxes[edge.target]  # runs between boxes
        assert source.x + source.width < target.x, (edge.source, edge.target)
        for x, y in laid.routes.get((edge.source, edge.target), []):
            assert not any(b.x <= x <= b.x + b.width and b.y <= y <= b.y + b.height for b in boxes.values())


def test_the_wide_routine_routes_its_long_edges_and_joins_two_ports_to_one_node(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, laid = _laid(_wide())
    assert len(laid.routes[("start", "after")]) >= 4  # two columns at least, entered and left
    path = Path(__file__).parents[2] / "examples" / "loop-over-items.json"
    assert main(["graph", str(path), "--format", "svg"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "edge-label"]
    assert "book, food" in labels or "food, book" in labels  # the switch's two ports to one node
