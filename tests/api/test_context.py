"""The API builds what the control plane works with in one place (functions/api/context.py)
and hands it over: functions/control builds no store and no AWS client."""

from __future__ import annotations

import ast
from pathlib import Path

from functions.api import context as api_context
from functions.local import LocalAWS
from plugins.runtime.aws import client, reset_clients

CONTROL = Path(__file__).parents[2] / "functions" / "control"


def test_the_services_are_built_once_from_the_client_factory(aws: LocalAWS) -> None:
    services = api_context.services()
    assert api_context.services() is services
    assert api_context.store() is services.routines
    assert services.stepfunctions is client("stepfunctions")


def test_no_client_outlives_the_factory_forgetting_its_clients(aws: LocalAWS) -> None:
    """A new local AWS resets the factory (``reset_clients()``): the next services hold its
    new client, whether or not ``context.reset()`` was called too."""
    before = api_context.services()
    reset_clients()
    after = api_context.services()
    assert after is not before and after.stepfunctions is client("stepfunctions")
    assert after.stepfunctions is not before.stepfunctions
    api_context.reset()
    assert api_context.services() is not after


def test_the_control_plane_is_handed_its_clients() -> None:
    fetching = []
    for path in sorted(CONTROL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "plugins.runtime.aws":
                fetching.append(path.name)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "client":
                fetching.append(path.name)
    assert fetching == []
