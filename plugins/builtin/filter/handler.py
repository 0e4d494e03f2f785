from collections.abc import Callable
from typing import Any

from contract.conditions import evaluate
from plugins.builtin.filter import PLUGIN
from plugins.runtime.errors import UserError
from plugins.runtime.handler import RunContext, lambda_handler


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    items = parameters["items"]
    if items is None:
        items = []
    if not isinstance(items, list):
        raise UserError(f"'items' must be an array, got {type(items).__name__}")
    condition = parameters["condition"]
    return {"items": [item for item in items if evaluate(condition, _resolver(run, item))]}


def _resolver(run: RunContext, item: Any) -> Callable[[Any], Any]:
    return lambda value: run.resolve(value, item=item)


handler = lambda_handler(PLUGIN, execute)
