"""Shared helpers: build small routines, read codes and paths out of reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract.problems import Report
from statemachines.validator import validate_document
from tests.asl_validator import Validate, ValidatorUnavailable, ensure_installed, validate_definitions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.json") if not p.name.endswith(".test.json"))
DATA = Path(__file__).resolve().parent / "data"


def routine(*nodes: dict[str, Any], connections: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A routine document with a manual trigger around the given nodes."""
    doc: dict[str, Any] = {"name": "test", "trigger": {"type": "manual"}, "nodes": list(nodes)}
    doc["connections"] = connections or []
    doc.update(extra)
    return doc


def node(node_id: str, plugin: str = "transform", **fields: Any) -> dict[str, Any]:
    if plugin == "transform" and "parameters" not in fields:
        fields["parameters"] = {"fields": {"a": 1}}
    return {"id": node_id, "plugin": plugin, **fields}


def link(source: str, target: str, port: str | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"sourceNodeId": source, "targetNodeId": target, **fields}
    if port:
        out["sourcePort"] = port
    return out


def problems(report: Report, kind: str = "errors") -> set[tuple[str, str]]:
    return {(p.code, p.path) for p in getattr(report, kind)}


def error_codes(document: Any) -> set[str]:
    return {p.code for p in validate_document(document).errors}


def warning_codes(document: Any) -> set[str]:
    return {p.code for p in validate_document(document).warnings}


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def example() -> dict[str, Any]:
    return load(ROOT / "examples" / "webhook-order-handling.json")


@pytest.fixture(scope="session")
def asl_validator() -> Validate:
    """``validate_definitions`` of tests/asl_validator.py: AWS's ASL validator over a batch
    of definitions. Installs tools/asl from its lock when needed; fails (never skips) when
    node or npm is missing."""
    try:
        ensure_installed()
    except ValidatorUnavailable as exc:
        unavailable = str(exc)
    else:
        return validate_definitions
    pytest.fail(f"asl_validator: {unavailable}", pytrace=False)
