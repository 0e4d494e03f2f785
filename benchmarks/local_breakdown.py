"""Where a warm local execution's time goes: the node logs against everything else.

    .venv/bin/python benchmarks/local_breakdown.py [--repeat N]

Runs ``local_speed``'s branch_loop workflow (if → two branches → merge, then a loop over
100 items) on one warm local runtime, alternating two ways: as it is, and with the plugin
runtime's node-log writes turned off (the trace then reads back nearly nothing). Runs
alternate so that both see the same machine speed (see ``local_speed``'s ``machine``
line). The difference is what the 101 node logs (one DynamoDB PutItem per plugin
invocation, DESIGN §6, and the trace's Query that reads them) cost; the rest is moto's
interpreter, the plugin handlers and the runner. Prints figures only.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each way (default 10)")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)

    from local_speed import branch_loop

    from functions.local import LocalAWS, run_routine
    from plugins.runtime.nodelog import NodeLog

    write = NodeLog.write
    document = branch_loop()
    samples: dict[str, list[float]] = {"whole run": [], "without node logs": []}

    def skip(_: Any) -> None:
        return None

    with LocalAWS() as aws:
        run_routine(aws, document)  # warm
        try:
            for _ in range(args.repeat):
                for way, writer in (("whole run", write), ("without node logs", skip)):
                    NodeLog.write = writer  # type: ignore[method-assign]
                    started = time.perf_counter()
                    result = run_routine(aws, document)
                    samples[way].append(time.perf_counter() - started)
                    assert result.status == "SUCCEEDED", result.status
        finally:
            NodeLog.write = write  # type: ignore[method-assign]
    for way, values in samples.items():
        print(
            f"{way:<18} median {statistics.median(values):6.3f} s  (min {min(values):.3f}, n={len(values)})"
        )
    whole, bare = (statistics.median(values) for values in samples.values())
    print(f"{'node logs':<18} {whole - bare:6.3f} s  ({(whole - bare) / whole:.0%} of the run)")


if __name__ == "__main__":
    main()
