"""What each local fast path pays for: the same workloads with all of them, none, and each
one turned off (``ROUTINES_LOCAL_FAST``, see functions/local/fastpaths).

    .venv/bin/python benchmarks/fast_paths.py [--rounds N] [--runs N] [--only name,name]

Each measurement is a fresh process: ``cold`` is its time from start until the first
``branch_loop`` run has returned (imports, local AWS, first execution); then ``chain10``
and ``branch_loop`` (benchmarks/local_speed.py) are each timed warm, as the median of
``--runs`` executions. Configurations alternate round by round, so a drift of this shared
machine's speed touches them all alike; the figures are medians over the rounds, and the
last columns give each configuration against all fast paths on (positive: slower without
that fast path, i.e. what it pays for).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, statistics, sys, time
start = time.perf_counter()
sys.path[:0] = [{root!r}, {bench!r}]
from local_speed import branch_loop, chain
from functions.local import LocalAWS, run_routine
from functions.local import fastpaths
loop, ten = branch_loop(), chain(10)
with LocalAWS() as aws:
    first = run_routine(aws, loop)
    cold = time.perf_counter() - start
    assert first.status == "SUCCEEDED", first.status
    figures = {{"cold": cold, "engaged": sorted(s.name for s in fastpaths.states() if s.engaged)}}
    for name, document in (("chain10", ten), ("branch_loop", loop)):
        run_routine(aws, document)
        times = []
        for _ in range({runs}):
            t = time.perf_counter()
            run_routine(aws, document)
            times.append(time.perf_counter() - t)
        figures[name] = statistics.median(times)
print(json.dumps(figures))
"""
FIGURES = ("cold", "chain10", "branch_loop")


def names() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from functions.local.fastpaths import states

    return [state.name for state in states()]


def measure(setting: str | None, runs: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("ROUTINES_LOCAL_FAST", None)
    if setting is not None:
        env["ROUTINES_LOCAL_FAST"] = setting
    code = CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), runs=runs)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="fast paths to turn off one by one (default: all)")
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n] or names()
    configs: dict[str, str | None] = {"all on": None, "all off": "0"}
    configs.update({f"-{name}": f"-{name}" for name in chosen})
    results: dict[str, list[dict[str, float]]] = {label: [] for label in configs}
    for round_ in range(args.rounds):
        for label, setting in configs.items():
            results[label].append(measure(setting, args.runs))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    base = {f: statistics.median(r[f] for r in results["all on"]) for f in FIGURES}
    header = "".join(f"{f:>13}" for f in FIGURES) + "".join(f"{'Δ ' + f:>15}" for f in FIGURES)
    print(f"{'configuration':28}{header}")
    for label, rows in results.items():
        medians = {f: statistics.median(r[f] for r in rows) for f in FIGURES}
        line = f"{label:28}" + "".join(f"{medians[f]:12.3f}s" for f in FIGURES)
        line += "".join(f"{(medians[f] - base[f]) / base[f] * 100:+14.1f}%" for f in FIGURES)
        print(line)
    engaged = results["all on"][0]["engaged"]
    print(f"engaged with all on: {', '.join(engaged) if engaged else 'none'}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
