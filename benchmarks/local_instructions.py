"""Instructions per warm local execution, counted by valgrind: a figure the machine's speed
does not move.

    .venv/bin/python benchmarks/local_instructions.py [--workflow branch_loop] [--runs 2,5]

``local_speed``'s timings drift with this shared machine (±15% within minutes, see its
``machine`` line), too much to see a change of a few percent. This runs the workflow under
``valgrind --tool=callgrind`` (instruction counting; no cache simulation) in two fresh
processes, one executing it A times and one B times on one warm local runtime, and prints
(instructions of B runs - instructions of A runs) / (B - A): what one more warm run costs,
start-up and warm-up cancelled out. Repeated counts agree to about 1% (the interleaving of
the interpreter's threads varies). Takes a few minutes; needs valgrind on the PATH.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

WORKFLOWS = ("chain10", "branch_loop")
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def child(workflow: str, runs: int) -> None:
    """Run the workflow ``runs`` times on one local runtime (what valgrind counts)."""
    logging.disable(logging.CRITICAL)
    from local_speed import branch_loop, chain

    from functions.local import LocalAWS, run_routine

    document = branch_loop() if workflow == "branch_loop" else chain(10)
    with LocalAWS() as aws:
        for _ in range(runs):
            result = run_routine(aws, document)
            assert result.status == "SUCCEEDED", result.status


def counted(workflow: str, runs: list[int]) -> list[int]:
    """Instructions of a process running the workflow n times, for each n (in parallel)."""
    processes = [
        subprocess.Popen(
            [*VALGRIND, sys.executable, __file__, "--child", workflow, str(n)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in runs
    ]
    counts = []
    for process in processes:
        _, errors = process.communicate()
        found = re.search(r"Collected : (\d+)", errors)
        if process.returncode != 0 or found is None:
            raise SystemExit(f"valgrind printed no count:\n{errors[-2000:]}")
        counts.append(int(found.group(1)))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", choices=WORKFLOWS, default="branch_loop")
    parser.add_argument("--runs", default="2,5", help="the two run counts A,B (default 2,5)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with it")
    low, high = (int(n) for n in args.runs.split(","))
    if not 1 <= low < high:
        raise SystemExit("--runs A,B needs 1 <= A < B")
    fewer, more = counted(args.workflow, [low, high])
    per_run = (more - fewer) / (high - low)
    print(
        f"{args.workflow:<12} {per_run / 1e9:.3f} billion instructions per warm run  [runs {low} and {high}]"
    )


if __name__ == "__main__":
    main()
