"""``routines migrate``: JSONPath expressions rewritten as JSONata, the rest untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.cli.main import main

DOCUMENT = """{
  "name": "m",   "trigger": {"type": "manual"},
  "nodes": [
    {"id": "a", "plugin": "static-data", "parameters": {"data": {"items": [{"id": 1, "p": 5}], "n": 1.50}}},
    {"id": "b", "plugin": "transform", "parameters": {"fields": {
      "ids": "{{ nodes.a.items[*].id }}",
      "keep": "é {{ nodes.a.n }} {{ $uppercase('x') }}",
      "big": "p: {{  nodes.a.items[?(@.p > 1)].id  }}!"
    }}}
  ],
  "connections": [{"sourceNodeId": "a", "targetNodeId": "b"}]
}
"""


def test_migrate_prints_the_rewritten_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.json"
    path.write_text(DOCUMENT, encoding="utf-8")
    assert main(["migrate", str(path)]) == 0
    out, err = capsys.readouterr()
    expected = DOCUMENT.replace("items[*].id", "items.id").replace("items[?(@.p > 1)].id", "items[p > 1].id")
    assert out == expected  # byte for byte, apart from the two expressions
    assert "nodes[1].parameters.fields.ids: {{ nodes.a.items[*].id }} → {{ nodes.a.items.id }}" in err
    assert "2 expression(s) rewritten" in err
    assert path.read_text(encoding="utf-8") == DOCUMENT


def test_migrate_write_rewrites_in_place_and_the_result_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_text(DOCUMENT, encoding="utf-8")
    assert main(["migrate", "--write", str(path)]) == 0
    capsys.readouterr()
    fields = json.loads(path.read_text(encoding="utf-8"))["nodes"][1]["parameters"]["fields"]
    assert fields["big"] == "p: {{  nodes.a.items[p > 1].id  }}!"
    assert main(["validate", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not [w for w in report.get("warnings", []) if w["code"] == "jsonpath_expression"]
