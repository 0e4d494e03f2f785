"""Which Lambda functions the product deploys, and with which handler strings.

Plain Python (no aws_cdk): the CDK stack and the local runtime read the same list, so a
plugin's function has the same name and handler string in both places.
"""

from __future__ import annotations

from contract.names import APPROVAL_NOTIFIER, EVALUATOR, function_name
from plugins.sdk import PluginRegistry

SYSTEM_HANDLERS = {
    EVALUATOR: "plugins.system.evaluate.handler",
    APPROVAL_NOTIFIER: "plugins.system.approval.handler",
}


def lambda_functions(registry: PluginRegistry) -> dict[str, tuple[str, str]]:
    """Function name → (plugin or system function, handler string), sorted by name."""
    functions = {function_name(name): (name, handler) for name, handler in SYSTEM_HANDLERS.items()}
    for plugin in registry:
        handler = registry.handler(plugin.name)
        if handler:
            functions[function_name(plugin.name)] = (plugin.name, handler)
    return dict(sorted(functions.items()))
