"""What the JSONata seam (functions/local/jsonata.py) costs against moto's own path.

    .venv/bin/python benchmarks/jsonata_seam.py [--runs N]

One machine: a Pass state that assigns 10 variables of ~10 KB each, then 20 Pass states,
each evaluating one expression (over one of those variables and the state's input) while
all 10 are in scope. Timed warm, as the median of ``--runs`` executions, in one process:

- ``seam``: the seam as installed by the local AWS (bindings, only the names an expression
  mentions, compiled once per thread);
- ``moto``: moto's own ``StringJSONata._eval_body`` put back for the run — every variable
  and ``$states`` pasted into each expression's text and parsed again. moto alone cannot
  run it at all (its evaluator is unset: ``TypeError: 'NoneType' object is not callable``),
  so its text goes to the seam's evaluator, the same engine.

The variables hold plain letters: moto's pasting does not escape strings, so a value with
a quote or a backslash would break or change its path's results.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIABLES = 10
VARIABLE_BYTES = 10_000
STATES = 20


def definition() -> dict[str, Any]:
    states: dict[str, Any] = {
        "Assign": {
            "Type": "Pass",
            "Assign": {
                f"v{i}": "{% $pad('', " + str(VARIABLE_BYTES) + ", 'abc') %}" for i in range(VARIABLES)
            },
            "Output": {"n": 0, "id": "{% $states.input.id %}"},
            "Next": "S0",
        }
    }
    for i in range(STATES):
        states[f"S{i}"] = {
            "Type": "Pass",
            "Output": {
                "n": f"{{% $states.input.n + $length($v{i % VARIABLES}) %}}",
                "id": "{% $states.input.id %}",
            },
            **({"Next": f"S{i + 1}"} if i + 1 < STATES else {"End": True}),
        }
    return {"QueryLanguage": "JSONata", "StartAt": "Assign", "States": states}


def run(aws: Any, arn: str) -> float:
    sfn = aws.client("stepfunctions")
    start = time.perf_counter()
    # A fresh input each time, as executions have: moto's composed texts then differ from
    # run to run, and each is parsed anew (a repeated text would hit the compile cache).
    name = uuid.uuid4().hex
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"id": name}))
    while (done := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    assert done["status"] == "SUCCEEDED", (done.get("error"), done.get("cause"))
    assert json.loads(done["output"])["n"] == STATES * VARIABLE_BYTES
    return elapsed


def measure(aws: Any, arn: str, runs: int) -> float:
    run(aws, arn)  # warm: compiled expressions, parsed definition
    return statistics.median(run(aws, arn) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata

    from functions.local import LocalAWS
    from functions.local import jsonata as seam

    with LocalAWS() as aws:
        _, arn = aws.state_machine(json.dumps(definition()))
        with_seam = measure(aws, arn, args.runs)
        ours = vars(StringJSONata)["_eval_body"]
        StringJSONata._eval_body = seam.SEAM.originals["string_jsonata"]  # type: ignore[method-assign]
        try:
            moto_path = measure(aws, arn, args.runs)
        finally:
            StringJSONata._eval_body = ours  # type: ignore[method-assign]
    print(f"{STATES} Pass states, {VARIABLES} variables of {VARIABLE_BYTES:,} bytes, median of {args.runs}")
    for label, seconds in (("seam", with_seam), ("moto", moto_path)):
        each = seconds * 1000 / (STATES + 1)
        print(f"  {label}  {seconds * 1000:8.1f} ms / execution  ({each:6.2f} ms / state)")
    print(f"  moto's text path takes {moto_path / with_seam:.1f}x the seam's time")


if __name__ == "__main__":
    main()
