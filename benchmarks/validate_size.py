"""Validation time vs routine size (chains whose every node reads its predecessor, and
fan-out/fan-in diamonds). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/validate_size.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from statemachines.validator import validate_document


def chain(n: int) -> dict[str, Any]:
    nodes = [
        {
            "id": f"n{i}",
            "plugin": "transform",
            "parameters": {"fields": {"v": f"{{{{ nodes.n{i - 1}.v }}}}" if i else 1}},
        }
        for i in range(n)
    ]
    links = [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(n - 1)]
    return {"name": "chain", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def diamonds(n: int) -> dict[str, Any]:
    """Blocks of split → two branches → join, each join reading both branches."""
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    previous = None
    for b in range(n // 4):
        split, left, right, join = (f"s{b}", f"l{b}", f"r{b}", f"j{b}")
        nodes += [
            {"id": x, "plugin": "transform", "parameters": {"fields": {"v": 1}}} for x in (split, left, right)
        ]
        nodes.append(
            {
                "id": join,
                "plugin": "transform",
                "parameters": {
                    "fields": {"l": f"{{{{ nodes.{left}.v }}}}", "r": f"{{{{ nodes.{right}.v }}}}"}
                },
            }
        )
        links += [
            {"sourceNodeId": split, "targetNodeId": left},
            {"sourceNodeId": split, "targetNodeId": right},
            {"sourceNodeId": left, "targetNodeId": join},
            {"sourceNodeId": right, "targetNodeId": join},
        ]
        if previous:
            links.append({"sourceNodeId": previous, "targetNodeId": split})
        previous = join
    return {"name": "diamonds", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def measure(document: dict[str, Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        report = validate_document(document)
        times.append(time.perf_counter() - start)
        assert report.valid, report.errors[:3]
    return statistics.median(times) * 1000


if __name__ == "__main__":
    validate_document(chain(3))  # warm imports and the plugin registry
    print(f"{'shape':<10}{'nodes':>7}{'median ms':>12}")
    for shape in (chain, diamonds):
        for size in (10, 100, 500, 1000):
            print(f"{shape.__name__:<10}{size:>7}{measure(shape(size)):>12.1f}")
