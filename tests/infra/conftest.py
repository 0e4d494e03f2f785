"""One synthesis of the app per test session (about half a minute): the template, the
cdk-nag validation report, and the acknowledged findings, shared by every infra test.

Synthesized as ``cdk synth`` would (cdk.json's context, stage ``dev``) but without the pip
bundling step: the tests check the template, not the zip. A canary stack with one
unprotected queue is synthesized alongside, so the nag test can tell "no findings" from
"the checks did not run".
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

ROOT = Path(__file__).resolve().parents[2]
STACK = "Routines-dev"
CANARY = "NagCanary"


@dataclass(frozen=True)
class Synth:
    template: dict[str, Any]
    report: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def synth() -> Synth:
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    from infra.stack import RoutinesStack

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    outdir = tempfile.mkdtemp(prefix="routines-synth-")
    app = cdk.App(context={**context, "routines:bundle": "false"}, outdir=outdir)
    RoutinesStack(app, STACK)
    sqs.Queue(cdk.Stack(app, CANARY), "Unprotected")
    packs = [
        pack(app, write_suppressions_to_cloud_formation=True)
        for pack in (AwsSolutionsChecks, ServerlessChecks)
    ]
    cdk.Validations.of(app).add_plugins(*packs)
    with pytest.raises(RuntimeError, match="ValidationFailed"):  # the canary's findings
        app.synth()
    out = Path(outdir)
    return Synth(
        template=json.loads((out / f"{STACK}.template.json").read_text()),
        report=json.loads((out / "validation-report.json").read_text()),
    )
