"""The plugin idempotency ledger in the stack (issue #28, plugins/runtime/ledger.py): a table
of its own (TTL, on demand, point-in-time recovery), whose name and items only the
functions of plugins that declare ``ledger`` get — checked on the template (CDK
assertions) and against what the SES plugin's code calls on moto with its deployed
environment (tests/infra/access.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contract.names import (
    ENV_PLUGIN_LEDGER_TABLE,
    IDEMPOTENCY_TABLE,
    PLUGIN_LEDGER_TABLE,
    function_name,
    table_name,
)
from infra.plugin_functions import LEDGER_ACTIONS
from plugins.sdk import default_registry
from tests.infra.access import ACCOUNT, REGION, Deployment, Request, allowed, required
from tests.infra.conftest import Synth
from tests.infra.test_access import Context, World

LEDGER = table_name(PLUGIN_LEDGER_TABLE, "dev")
LEDGER_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{LEDGER}"
SES = function_name("ses-send-email", "dev")
SENDER = "reports@example.com"


@pytest.fixture(scope="module")
def deployment(synth: Synth) -> Deployment:
    return Deployment(synth.template)


def _ledger_functions() -> set[str]:
    return {function_name(p.name, "dev") for p in default_registry() if p.ledger}


def _function_names(deployment: Deployment) -> list[str]:
    """The product's functions (CDK's own custom-resource handlers have no name)."""
    found = deployment.of_type("AWS::Lambda::Function").values()
    return [str(p["FunctionName"]) for p in found if isinstance(p.get("FunctionName"), str)]


def test_the_ledger_is_a_table_of_its_own_with_ttl_on_demand_and_pitr(synth: Synth) -> None:
    tables = {
        t["Properties"]["TableName"]: t["Properties"]
        for t in synth.resources("AWS::DynamoDB::GlobalTable").values()
    }
    webhook = table_name(IDEMPOTENCY_TABLE, "dev")  # the webhook's: another key space, other readers
    assert webhook != LEDGER and {LEDGER, webhook} <= set(tables)
    props = tables[LEDGER]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]  # powertools' key
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["Replicas"][0]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_cdk_nag_finds_nothing_in_the_ledger_or_the_ses_function(synth: Synth) -> None:
    # tests/infra/test_checks.py checks the whole stack; this names the ledger's parts.
    paths = [
        construct["constructPath"]
        for report in synth.report["pluginReports"]
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert [p for p in paths if "PluginLedger" in p or "SesSendEmail" in p] == []


def test_only_ledger_plugins_get_the_table_name_and_its_items(deployment: Deployment) -> None:
    ledger = _ledger_functions()
    assert ledger == {SES}
    names = _function_names(deployment)
    assert ledger <= set(names)
    for name in names:
        mine = name in ledger
        env = deployment.environment(name)
        assert (ENV_PLUGIN_LEDGER_TABLE in env) == mine, name
        if mine:
            assert env[ENV_PLUGIN_LEDGER_TABLE] == LEDGER
        statements = deployment.statements(name)
        for action in LEDGER_ACTIONS:
            assert allowed(statements, Request(action, LEDGER_ARN)) == mine, (name, action)
    ses = deployment.statements(SES)
    # Items one by one: no scans, queries or batches, and nothing of the webhook's table.
    for action in ("dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DeleteTable"):
        assert not allowed(ses, Request(action, LEDGER_ARN)), action
    webhook_table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name(IDEMPOTENCY_TABLE, 'dev')}"
    for action in LEDGER_ACTIONS:
        assert not allowed(ses, Request(action, webhook_table)), action


class LedgerWorld(World):
    def mail(self, attempt: int, sender: str = SENDER) -> Any:
        from plugins.builtin.ses_send_email.handler import handler
        from plugins.runtime.errors import PluginError

        event = {
            "node": "mail",
            "parameters": {"from": sender, "to": "ada@example.com", "subject": "Daily", "text": "12"},
            "execution": {"id": f"arn:aws:states:{REGION}:{ACCOUNT}:express:routines-dev-r:run-1"},
            "attempt": attempt,
        }
        with self.running(SES):
            try:
                return handler(event, Context(SES))
            except PluginError as exc:
                return exc


@pytest.fixture(scope="module")
def world(deployment: Deployment) -> Iterator[LedgerWorld]:
    import boto3

    world = LedgerWorld(deployment)
    with world.provisioned():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        # A refused send (an unverified sender) releases its claim; then one email,
        # then its repeat, answered from the ledger.
        assert type(world.mail(0, "nobody@example.com")).__name__ == "Routines.UserError"
        first = world.mail(0)
        assert world.mail(1) == first and "messageId" in first
        yield world


def test_every_ledger_call_of_the_ses_plugin_is_allowed_by_its_role(world: LedgerWorld) -> None:
    calls = [c for c in world.calls[SES] if c.prefix == "dynamodb" and c.params.get("TableName") == LEDGER]
    assert {c.operation for c in calls} >= {"PutItem", "UpdateItem", "DeleteItem"}
    statements = world.deployment.statements(SES)
    requests = {r for call in calls for r in required(call)}
    denied = sorted(str(r) for r in requests if not allowed(statements, r))
    assert not denied, f"{SES}'s role does not allow:\n" + "\n".join(denied)
