#!/usr/bin/env python3
"""CDK entry point: only wires stacks (see infra/). ``cdk deploy -c stage=prod`` deploys
the stage's stack, ``Routines-prod``: stages share an account without sharing a name.
``-c nag=true`` runs the cdk-nag packs CI runs (AwsSolutions, Serverless) during synth."""

import aws_cdk as cdk

from infra.settings import Settings
from infra.stack import RoutinesStack

app = cdk.App()
RoutinesStack(app, f"Routines-{Settings.of(app).stage}")
if str(app.node.try_get_context("nag")).lower() == "true":
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
app.synth()
