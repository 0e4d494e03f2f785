"""The code node's function: its own Lambda whose role grants only what the plugin runtime
needs (node logs, payload objects, X-Ray, its logs) — no secrets, no Step Functions, no
other table — and whose every AWS call, run on moto with its deployed environment, is
allowed by that role. docs/plugins.md, "The code node: what user code can and cannot reach".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.access import ACCOUNT, REGION, Deployment, allowed, required
from tests.infra.conftest import Synth
from tests.infra.test_access import Context, World

CODE = "routines-dev-code"
RUNTIME_ACTIONS = {
    "dynamodb:PutItem",
    "s3:GetObject",
    "s3:PutObject",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def deployment(synth: Synth) -> Deployment:
    return Deployment(synth.template)


def test_the_code_node_has_its_own_function_with_room_for_its_child(deployment: Deployment) -> None:
    function = deployment.function(CODE)
    assert function["Handler"] == "plugins.builtin.code.handler.handler"
    # memoryMB goes up to 3008 for the child, on top of the runtime's own process.
    assert function["MemorySize"] >= 3008 + 256
    assert function["Timeout"] >= 300 + 10
    role = function["Role"]["Fn::GetAtt"][0]
    others = {
        name: p["Role"]["Fn::GetAtt"][0]
        for p in deployment.of_type("AWS::Lambda::Function").values()
        if (name := p["FunctionName"]) != CODE
    }
    assert role not in others.values(), "the code function shares a role"


def test_its_role_grants_only_what_the_plugin_runtime_needs(deployment: Deployment) -> None:
    statements = deployment.statements(CODE)
    actions = {a for s in statements for a in _list(s["Action"])}
    assert actions <= RUNTIME_ACTIONS, sorted(actions - RUNTIME_ACTIONS)
    assert not [a for a in actions if a.startswith(("secretsmanager:", "states:", "lambda:", "iam:"))]
    assert all(s["Effect"] == "Allow" for s in statements)
    tables = {r for s in statements for r in _list(s["Resource"]) if ":dynamodb:" in r}
    assert tables == {f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/routines-dev-node-logs"}
    objects = {r for s in statements for r in _list(s["Resource"]) if r.startswith("arn:aws:s3:")}
    assert len(objects) == 1 and next(iter(objects)).endswith("/payloads/*")
    logs = {r for s in statements for r in _list(s["Resource"]) if ":logs:" in r}
    assert logs == {f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{CODE}:*"}
    stars = [s for s in statements if "*" in _list(s["Resource"])]
    assert {a for s in stars for a in _list(s["Action"])} <= {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_the_other_plugins_keep_their_secret_access(deployment: Deployment) -> None:
    transform = {a for s in deployment.statements("routines-dev-transform") for a in _list(s["Action"])}
    assert "secretsmanager:GetSecretValue" in transform


@pytest.fixture(scope="module")
def world(deployment: Deployment) -> Iterator[World]:
    world = World(deployment)
    with world.provisioned():
        yield world


def _event(code: str, node: str, **extra: Any) -> dict[str, Any]:
    return {
        "node": node,
        "parameters": {"code": code, "input": {"n": 3}},
        "execution": {
            "id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:routines-dev-r1:e-{node}",
            "routineId": "r1",
            "startedAt": "2026-01-01T00:00:00Z",
        },
        **extra,
    }


def test_every_call_of_a_code_node_is_allowed_by_its_role(world: World, deployment: Deployment) -> None:
    from plugins.builtin.code.handler import handler
    from plugins.runtime.errors import PluginError

    with world.running(CODE):
        assert handler(_event("return input['n'] * 2", "small"), Context(CODE)) == 6
        # An output over its payload budget is offloaded to S3 (and read back by the next node).
        big = handler(_event("return 'x' * 5000", "big", inlineBytes=1024), Context(CODE))
        assert isinstance(big, dict) and json.dumps(big).count("payloads/") == 1
        with pytest.raises(PluginError):
            handler(_event("return 1 / 0", "fails"), Context(CODE))
    calls = world.calls[CODE]
    assert {c.operation for c in calls} >= {"PutItem", "PutObject"}
    statements = deployment.statements(CODE)
    denied = sorted(str(r) for c in calls for r in required(c) if not allowed(statements, r))
    assert not denied, "the code function's role does not allow:\n" + "\n".join(denied)
