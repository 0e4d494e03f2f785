"""Stage-aware names: two stages never share a physical name; the local runtime keeps
the unprefixed names."""

from __future__ import annotations

import pytest

from contract.names import (
    ROUTINES_TABLE,
    WEBHOOK_SECRET_PREFIX,
    check_stage,
    function_name,
    plugin_secret_prefix,
    resource_prefix,
    state_machine_prefix,
    table_name,
    webhook_secret_prefix,
)
from plugins.runtime.aws import payload_key, secret_id


def test_local_names_are_unprefixed() -> None:
    assert function_name("http-request") == "routines-http-request"
    assert table_name(ROUTINES_TABLE) == "routines"
    assert webhook_secret_prefix() == WEBHOOK_SECRET_PREFIX
    assert plugin_secret_prefix() == ""


def test_stage_prefixes_every_name() -> None:
    assert function_name("http-request", "prod") == "routines-prod-http-request"
    assert table_name(ROUTINES_TABLE, "prod") == "routines-prod-routines"
    assert state_machine_prefix("prod") == "routines-prod-"
    assert resource_prefix("prod") == "routines-prod-user-"
    assert webhook_secret_prefix("prod") == "routines/prod/webhooks/"
    assert plugin_secret_prefix("prod") == "routines/prod/secrets/"


def test_one_stage_prefix_never_matches_another_stages_names() -> None:
    # stages have no '-': "routines-dev-" cannot be the start of a "devx" name
    assert not function_name("x", "devx").startswith(state_machine_prefix("dev"))
    assert not plugin_secret_prefix("devx").startswith(plugin_secret_prefix("dev"))


@pytest.mark.parametrize("stage", ["", "Dev", "dev-1", "a" * 13, "1dev"])
def test_bad_stages_are_refused_with_the_rule(stage: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        check_stage(stage)


def test_plugin_secrets_and_payloads_live_under_their_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGIN_SECRET_PREFIX", plugin_secret_prefix("prod"))
    assert secret_id("github") == "routines/prod/secrets/github"
    monkeypatch.delenv("PLUGIN_SECRET_PREFIX")
    assert secret_id("github") == "github"
    assert payload_key("exec/node/req.json") == "payloads/exec/node/req.json"
