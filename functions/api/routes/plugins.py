"""/plugins: the catalogue, with each plugin's parameter JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.api import context
from functions.api.models import Plugin
from functions.api.responses import ok
from functions.store import NotFoundError
from plugins.sdk import default_registry, definition_to_json

router = Router()  # type: ignore[no-untyped-call]


@router.get(
    "/plugins", summary="The plugin catalogue", responses=ok(list[Plugin], "every plugin"), tags=["plugins"]
)
def list_plugins() -> list[dict[str, Any]]:
    context.owner(router.current_event)
    return default_registry().to_json()


@router.get("/plugins/<name>", summary="One plugin", responses=ok(Plugin, "the plugin"), tags=["plugins"])
def get_plugin(name: Annotated[str, Path(min_length=1, max_length=128)]) -> dict[str, Any]:
    context.owner(router.current_event)
    plugin = default_registry().find(name)
    if plugin is None:
        raise NotFoundError(f"no plugin named '{name}'")
    return definition_to_json(plugin)
