"""Compile time and cost figures vs routine size. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/compile_size.py

- compile time (validate + analyse + emit + check + render) of chains, fan-out/fan-in
  diamonds and if-diamonds of 100, 1,000 and 5,000 nodes. Routines of 5,000 nodes exceed
  the product limits (1,000 nodes, 256 KiB documents), which are lifted here to time the
  compiler alone; their definitions are then refused by the 1 MB service limit, as noted.
- billed state transitions per execution, from the compile report: a chain of N plugin
  nodes, and what an if / switch costs.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import statemachines.document as document_limits
from contract.errors import CompileError
from statemachines.compiler import compile_routine


def transform(node_id: str, reads: str | None) -> dict[str, Any]:
    value = f"{{{{ nodes.{reads}.v }}}}" if reads else 1
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": {"v": value}}}


def link(source: str, target: str, port: str | None = None) -> dict[str, Any]:
    out = {"sourceNodeId": source, "targetNodeId": target}
    if port:
        out["sourcePort"] = port
    return out


def doc(nodes: list[dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "bench", "trigger": {"type": "manual"}, "nodes": nodes, "connections": links}


def chain(n: int) -> dict[str, Any]:
    nodes = [transform(f"n{i}", f"n{i - 1}" if i else None) for i in range(n)]
    return doc(nodes, [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)])


def diamonds(n: int) -> dict[str, Any]:
    """Repeated fan-out to two branches and fan-in: Parallel states in a row."""
    nodes, links, previous = [transform("s", None)], [], "s"
    for d in range((n - 1) // 3):
        a, b, j = f"a{d}", f"b{d}", f"j{d}"
        nodes += [transform(a, previous), transform(b, previous), transform(j, a)]
        links += [link(previous, a), link(previous, b), link(a, j), link(b, j)]
        previous = j
    return doc(nodes, links)


def if_diamonds(n: int) -> dict[str, Any]:
    """Repeated if → two branches → merge: Choice states meeting again."""
    nodes, links, previous = [transform("s", None)], [], "s"
    for d in range((n - 1) // 4):
        c, t, f, m = f"c{d}", f"t{d}", f"f{d}", f"m{d}"
        condition = {
            "left": f"{{{{ nodes.{previous}.v }}}}" if previous.startswith("s") else "{{ trigger.x }}",
            "op": "eq",
            "right": 1,
        }
        nodes += [
            {"id": c, "plugin": "if", "parameters": {"condition": condition}},
            transform(t, None),
            transform(f, None),
            {"id": m, "plugin": "merge"},
        ]
        links += [link(previous, c), link(c, t, "true"), link(c, f, "false"), link(t, m), link(f, m)]
        previous = m
    return doc(nodes, links)


def timed(routine: dict[str, Any], repeat: int) -> tuple[float, str]:
    times, note = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            compiled = compile_routine(routine)
            note = f"{compiled.report['states']} states, {compiled.report['definitionBytes'] / 1024:.0f} KiB"
        except CompileError as exc:
            note = f"refused: {str(exc)[:70]}"
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, note


def span(report: dict[str, Any]) -> str:
    return f"{report['transitions']['min']}..{report['transitions']['max']}"


def main() -> None:
    document_limits.MAX_NODES = 100_000  # lift product limits to time the compiler alone
    document_limits.MAX_CONNECTIONS = 100_000
    document_limits.MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
    print("compile time (median of 3; validate + analyse + emit + check + render)")
    for shape in (chain, diamonds, if_diamonds):
        for n in (100, 1_000, 5_000):
            ms, note = timed(shape(n), 3)
            print(f"  {shape.__name__:<11} {n:>5} nodes  {ms:9.1f} ms   {note}")
    print("\nbilled state transitions per execution (compile report min..max)")
    for n in (1, 10, 100):
        report = compile_routine(chain(n)).report
        print(
            f"  chain of {n:>3} plugin nodes: {report['transitions']['min']}..{report['transitions']['max']}"
        )
    one_if = if_diamonds(5)
    print(f"  source + if + one task per branch + merge: {span(compile_routine(one_if).report)} (if = 1)")
    switch = doc(
        [
            {
                "id": "s",
                "plugin": "switch",
                "parameters": {
                    "rules": [
                        {"port": p, "condition": {"left": "{{ trigger.k }}", "op": "eq", "right": p}}
                        for p in "abc"
                    ]
                },
            }
        ]
        + [transform(p, None) for p in "abcd"],
        [link("s", p, p) for p in "abc"] + [link("s", "d", "default")],
    )
    cost = span(compile_routine(switch).report)
    print(f"  switch with 3 rules + default, one task per port: {cost} (switch = 1)")


if __name__ == "__main__":
    main()
