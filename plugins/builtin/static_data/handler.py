from typing import Any

from plugins.builtin.static_data import PLUGIN
from plugins.runtime.handler import RunContext, lambda_handler


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    return parameters["data"]


handler = lambda_handler(PLUGIN, execute)
