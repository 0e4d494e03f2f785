#!/usr/bin/env python3
"""CDK entry point: only wires stacks (see infra/)."""

import aws_cdk as cdk

from infra.stack import RoutinesStack

app = cdk.App()
RoutinesStack(app, "Routines")
app.synth()
