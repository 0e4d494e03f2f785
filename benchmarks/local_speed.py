"""Local runtime speed: warm execution time of three workflows, and a cold ``routines run``.

    .venv/bin/python benchmarks/local_speed.py [--repeat N] [--only chain10,branch_loop,chain1000,cold]
    .venv/bin/python benchmarks/local_speed.py --fastpaths [--rounds N] [--repeat N]

Prints figures only (medians of N runs; the machine may be shared, so run it a few times).
The workflows are the ones of issue #10, measured against n8n 2.8 on the same machine:

- ``chain10``: a 10-node transform chain (n8n 0.036 s; goal ≤ 0.11 s)
- ``branch_loop``: if → two branches → merge, then a loop over 100 items (n8n 0.082 s;
  goal ≤ 0.25 s)
- ``chain1000``: a 1,000-node transform chain (n8n 1.6 s; goal ≤ 4.8 s)
- ``cold``: ``routines run`` of the 10-node routine in a fresh process (goal < 2 s)

"Warm" means one execution on an already started local runtime (``LocalAWS``), from
``run_routine`` called to its result returned: validate, compile, deploy, execute, trace.

The last line, ``machine``, times a fixed pure-Python loop before and after the
figures: this machine's speed drifts (a shared host: a fixed loop's time has doubled within
a minute), so figures taken at different times compare only alongside it.

``--fastpaths`` measures what each local fast path (functions/local/fastpaths) pays for:
the same figures, each in a fresh process, with all fast paths on, all off
(``ROUTINES_LOCAL_FAST=0``) and each one off alone (``ROUTINES_LOCAL_FAST=-name``). The
configurations take turns within each of ``--rounds`` rounds (the starting one rotating),
so a drift of the machine touches them alike. The table gives each configuration's
medians over the rounds and, per figure, the median over rounds of its time against all
on *in the same round* (positive: slower without it, i.e. what that fast path saves);
``noise`` is all on's own spread over the rounds (interquartile range / median).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {"chain10": 0.11, "branch_loop": 0.25, "chain1000": 4.8, "cold": 2.0}


def routine(nodes: list[dict[str, Any]], connections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "bench", "trigger": {"type": "manual"}, "nodes": nodes, "connections": connections}


def chain(length: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "plugin": "static-data", "parameters": {"data": {"v": 0}}}]
    nodes += [
        {"id": f"n{i}", "plugin": "transform", "parameters": {"fields": {"v": f"{{{{ nodes.n{i - 1}.v }}}}"}}}
        for i in range(1, length)
    ]
    return routine(nodes, [{"sourceNodeId": f"n{i}", "targetNodeId": f"n{i + 1}"} for i in range(length - 1)])


def branch_loop(items: int = 100) -> dict[str, Any]:
    data = {"total": 150, "items": [{"sku": f"S-{i}", "price": i} for i in range(items)]}
    nodes = [
        {"id": "order", "plugin": "static-data", "parameters": {"data": data}},
        {
            "id": "big",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.order.total }}", "op": "gt", "right": 100}},
        },
        {"id": "vip", "plugin": "transform", "parameters": {"fields": {"tier": "vip"}}},
        {"id": "plain", "plugin": "transform", "parameters": {"fields": {"tier": "plain"}}},
        {"id": "joined", "plugin": "merge"},
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ nodes.order.items }}", "maxConcurrency": 10},
        },
        {
            "id": "row",
            "plugin": "transform",
            "parameters": {"fields": {"sku": "{{ loop.item.sku }}", "gross": "{{ loop.item.price }}"}},
        },
    ]
    connections = [
        {"sourceNodeId": "order", "targetNodeId": "big"},
        {"sourceNodeId": "big", "sourcePort": "true", "targetNodeId": "vip"},
        {"sourceNodeId": "big", "sourcePort": "false", "targetNodeId": "plain"},
        {"sourceNodeId": "vip", "targetNodeId": "joined"},
        {"sourceNodeId": "plain", "targetNodeId": "joined"},
        {"sourceNodeId": "joined", "targetNodeId": "each"},
        {"sourceNodeId": "each", "sourcePort": "body", "targetNodeId": "row"},
    ]
    return routine(nodes, connections)


FIGURES = ("chain10", "branch_loop", "chain1000", "cold")
MEASURED: dict[str, float] = {}  # figure → median, for --json


def warm(name: str, document: dict[str, Any], repeat: int) -> None:
    from contract.errors import CompileError
    from functions.local import LocalAWS, run_routine

    with LocalAWS() as aws:
        try:
            first = run_routine(aws, document)  # warm: imports, handlers, validators
        except CompileError as refused:  # e.g. the payload budget refuses the routine
            print(f"{name:<12} refused at compile: {refused}", flush=True)
            return
        if first.status != "SUCCEEDED":
            raise SystemExit(f"{name}: {first.status} {first.error} {first.cause}")
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = run_routine(aws, document)
            samples.append(time.perf_counter() - started)
            assert result.status == "SUCCEEDED", result.status
    report(name, samples, f"{result.transitions} transitions")


def cold(repeat: int) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(chain(10), handle)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv/bin/routines"), "run", handle.name], capture_output=True, check=True
        )
        samples.append(time.perf_counter() - started)
    Path(handle.name).unlink()
    report("cold", samples, "routines run, fresh process")


def report(name: str, samples: list[float], note: str) -> None:
    median = statistics.median(samples)
    MEASURED[name] = median
    verdict = "ok" if median <= GOALS[name] else "over"
    print(
        f"{name:<12} median {median:7.3f} s  (min {min(samples):.3f}, n={len(samples)})  "
        f"goal ≤ {GOALS[name]} s  {verdict}  [{note}]",
        flush=True,
    )


def reference_loop() -> float:
    """Seconds for 5,000,000 pure-Python additions: how fast the machine is right now."""
    started = time.perf_counter()
    total = 0
    for value in range(5_000_000):
        total += value
    return time.perf_counter() - started


def fast_path_names() -> list[str]:
    from functions.local.fastpaths import states

    return [state.name for state in states()]


def measure(setting: str | None, args: argparse.Namespace) -> dict[str, float]:
    """One fresh process's figures (``--json``) under a ``ROUTINES_LOCAL_FAST`` setting."""
    env = dict(os.environ)
    env.pop("ROUTINES_LOCAL_FAST", None)
    if setting is not None:
        env["ROUTINES_LOCAL_FAST"] = setting
    command = [sys.executable, __file__, "--json", "--only", args.only, "--repeat", str(args.repeat)]
    command += ["--cold-repeat", str(args.cold_repeat)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cut = statistics.quantiles(values, n=4, method="inclusive")
    return cut[0], cut[2]


def compare_fast_paths(args: argparse.Namespace) -> None:
    figures = [f for f in FIGURES if f in args.only.split(",")]
    chosen = [n for n in args.fastpaths.split(",") if n and n != "all"] or fast_path_names()
    configs: dict[str, str | None] = {"all on": None, "all off": "0"}
    configs.update({f"-{name}": f"-{name}" for name in chosen})
    labels = list(configs)
    rounds: list[dict[str, dict[str, float]]] = []
    machine = [reference_loop()]
    for round_ in range(args.rounds):
        order = labels[round_ % len(labels) :] + labels[: round_ % len(labels)]
        rounds.append({label: measure(configs[label], args) for label in order})
        machine.append(reference_loop())
        this = rounds[-1]
        against = ", ".join(
            f"{label} " + "/".join(f"{(this[label][f] / this['all on'][f] - 1) * 100:+.0f}%" for f in figures)
            for label in labels[1:]
        )
        print(
            f"round {round_ + 1}/{args.rounds} ({'/'.join(figures)} against all on): {against}",
            file=sys.stderr,
            flush=True,
        )
    on = {f: [r["all on"][f] for r in rounds] for f in figures}
    print(
        f"{'configuration':<26}"
        + "".join(f"{f:>12}" for f in figures)
        + "".join(f"{'Δ ' + f:>14}" for f in figures)
    )
    for label in labels:
        medians = [statistics.median(r[label][f] for r in rounds) for f in figures]
        paired = [statistics.median(r[label][f] / r["all on"][f] - 1 for r in rounds) for f in figures]
        line = f"{label:<26}" + "".join(f"{m:11.3f}s" for m in medians)
        line += "".join(f"{p * 100:+13.1f}%" for p in paired)
        print(line)
    noise = []
    for f in figures:
        low, high = quartiles(on[f])
        noise.append((high - low) / statistics.median(on[f]))
    print(
        f"{'noise (all on, IQR)':<26}" + " " * 12 * len(figures) + "".join(f"{n * 100:13.1f}%" for n in noise)
    )
    print(
        f"{'machine':<26} {min(machine):.2f} to {max(machine):.2f} s over {args.rounds} rounds "
        f"[reference loop: lower is faster]; n = {args.rounds} processes per configuration"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--cold-repeat", type=int, default=0, help="timed cold runs (default: --repeat)")
    parser.add_argument(
        "--only", default="chain10,branch_loop,chain1000,cold", help="comma-separated figures"
    )
    parser.add_argument(
        "--fastpaths",
        nargs="?",
        const="all",
        default=None,
        help="compare all fast paths on, all off and each one off (or those named, comma-separated)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --fastpaths (default 5)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # --fastpaths' child
    args = parser.parse_args()
    args.cold_repeat = args.cold_repeat or args.repeat
    if args.fastpaths is not None:
        compare_fast_paths(args)
        return
    logging.disable(logging.CRITICAL)  # figures only: no plugin log or metric lines
    only = args.only.split(",")
    before = reference_loop()
    if "chain10" in only:
        warm("chain10", chain(10), args.repeat)
    if "branch_loop" in only:
        warm("branch_loop", branch_loop(), args.repeat)
    if "chain1000" in only:
        warm("chain1000", chain(1000), max(1, args.repeat // 2))
    if "cold" in only:
        cold(args.cold_repeat)
    after = reference_loop()
    print(f"{'machine':<12} {before:.2f} s before, {after:.2f} s after  [reference loop: lower is faster]")
    if args.json:
        print(json.dumps(MEASURED))


if __name__ == "__main__":
    main()
