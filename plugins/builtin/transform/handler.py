from typing import Any

from plugins.builtin.transform import PLUGIN
from plugins.runtime.handler import RunContext, lambda_handler


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    return parameters.get("fields") or {}


handler = lambda_handler(PLUGIN, execute)
