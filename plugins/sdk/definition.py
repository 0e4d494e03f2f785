"""A plugin is data (what it is, its parameters and ports) plus, for tasks, one function."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contract.errors import PluginDefinitionError
from plugins.sdk.parameters import Parameter
from plugins.sdk.ports import ERROR, IN, OUT, Port

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class Kind(StrEnum):
    TASK = "task"  # runs as its own Lambda
    CONTROL = "control"  # compiles into native states (Choice, Map, Wait, ...)


@dataclass(frozen=True, slots=True)
class Migration:
    """Rewrites a node's parameters from ``from_version`` to ``from_version + 1``."""

    from_version: int
    migrate: Callable[[dict[str, Any]], dict[str, Any]]
    description: str = ""


# A rule across parameters: returns (parameter name, message) for each problem.
CrossCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]

# Output ports that depend on the parameters (switch: one port per rule).
DynamicPorts = Callable[[Mapping[str, Any]], tuple[Port, ...]]


@dataclass(frozen=True, slots=True)
class PluginDefinition:
    name: str
    version: int
    display_name: str
    description: str
    category: str
    kind: Kind = Kind.TASK
    parameters: tuple[Parameter, ...] = ()
    inputs: tuple[Port, ...] = (IN,)
    outputs: tuple[Port, ...] = (OUT, ERROR)
    dynamic_outputs: DynamicPorts | None = None
    migrations: tuple[Migration, ...] = field(default=())
    check: CrossCheck | None = None
    # "module.function" of the Lambda handler; built-in plugins follow the convention
    # plugins.builtin.<m> (the declaration) → plugins.builtin.<m>.handler.handler (see the
    # registry).
    handler: str = ""
    # IAM actions the plugin's Lambda needs (on any resource: routines name their queues,
    # topics and tables at run time). The stack grants them to that function only.
    aws_actions: tuple[str, ...] = ()
    icon: str = ""
    # Whether running the plugin twice for one attempt is harmless: it has no side effect
    # outside its output, or it carries the attempt's idempotency token so the receiver
    # can drop the repeat. Express machines run nodes at least once (issue #28): a routine
    # with a plugin that is not safe to repeat stays a Standard machine.
    repeat_safe: bool = False
    # For a plugin that is repeat_safe, the node settings that make one node unsafe anyway
    # (http-request with its Idempotency-Key header turned off on a POST): (parameter,
    # reason) pairs, as for ``check``. See ``repeat_problems``.
    repeat_check: CrossCheck | None = None
    # The plugin's side effect goes through the runtime's idempotency ledger
    # (plugins.runtime.ledger): the first attempt with a key claims it and stores its
    # output, a repeat gets that output back without running again. For services that
    # cannot drop a repeat themselves (SES delivers every copy of an email). Such a plugin
    # is safe to repeat: ``repeat_safe`` follows from it. Only these plugins' functions get
    # the ledger table (infra/plugin_functions.py); the runtime's ``lambda_handler`` runs
    # its ``execute`` through ``plugins.runtime.ledger.guard``.
    ledger: bool = False
    # The handler reads the execution's routine id and start time, not only its id (the
    # code node hands them to user code): JSONata machines send them only then.
    reads_execution: bool = False
    # A control node runs as states of the machine, not as a Lambda: the functions that
    # compile it (dotted names; the first is the one the compiler's construct table maps
    # the node to). Strings, so declarations never import the compiler.
    compiled_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not PLUGIN_NAME.match(self.name):
            raise PluginDefinitionError(f"plugin name '{self.name}' must be kebab-case")
        if self.version < 1:
            raise PluginDefinitionError(f"plugin '{self.name}': version must be ≥ 1")
        if (self.kind is Kind.CONTROL) != bool(self.compiled_by):
            raise PluginDefinitionError(
                f"plugin '{self.name}': a control node names the functions that compile it "
                "(compiled_by), and only a control node does"
            )
        names = [p.name for p in self.parameters]
        if len(names) != len(set(names)):
            raise PluginDefinitionError(f"plugin '{self.name}' declares a parameter twice")
        if self.ledger:
            if self.kind is Kind.CONTROL:
                raise PluginDefinitionError(f"plugin '{self.name}': a control node has no ledger")
            object.__setattr__(self, "repeat_safe", True)  # frozen: set as __init__ sets it
        expected = list(range(self.version - len(self.migrations), self.version))
        if sorted(m.from_version for m in self.migrations) != expected or (expected and expected[0] < 1):
            raise PluginDefinitionError(
                f"plugin '{self.name}': migrations must form a chain ending at version {self.version}"
            )

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version a routine may pin: the current one and those a migration lifts."""
        return tuple(sorted({self.version, *(m.from_version for m in self.migrations)}))

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def output_ports(self, parameters: Mapping[str, Any]) -> tuple[Port, ...]:
        if self.dynamic_outputs is None:
            return self.outputs
        return self.dynamic_outputs(parameters)

    def repeat_problems(self, parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Why a node of this plugin with these parameters is not safe to run twice, as
        (parameter, reason) pairs ("" when it is the plugin itself); [] when it is safe.
        Control nodes compile to native states (their evaluator is pure): the compiler's
        own rules (approval, wait) decide for them, not this."""
        if self.kind is Kind.CONTROL:
            return []
        if not self.repeat_safe:
            return [("", f"'{self.name}' is not safe to repeat: a second run repeats its side effect")]
        return self.repeat_check(parameters) if self.repeat_check is not None else []

    def migrate(self, parameters: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring parameters written for an older version up to the current one."""
        steps = {m.from_version: m for m in self.migrations}
        current = dict(parameters)
        for version in range(from_version, self.version):
            current = steps[version].migrate(current)
        return current


def control_plugin(
    name: str,
    display_name: str,
    description: str,
    *,
    compiled_by: tuple[str, ...],
    outputs: tuple[Port, ...],
    parameters: tuple[Parameter, ...] = (),
    dynamic_outputs: DynamicPorts | None = None,
    check: CrossCheck | None = None,
) -> PluginDefinition:
    """A control node's declaration: what every built-in one shares (version 1, the 'flow'
    category, ``Kind.CONTROL``, the one main input) filled in, so each names only what is
    its own. Outputs are always given: control nodes differ most there (branches, a loop
    body, none at all for ``stop``)."""
    return PluginDefinition(
        name=name,
        version=1,
        display_name=display_name,
        description=description,
        category="flow",
        kind=Kind.CONTROL,
        compiled_by=compiled_by,
        parameters=parameters,
        inputs=(IN,),
        outputs=outputs,
        dynamic_outputs=dynamic_outputs,
        check=check,
    )
