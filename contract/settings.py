"""What the CDK stack tells the control-plane functions about where they deploy, through
environment variables: infra/stack.py sets them (:meth:`DeploymentEnvironment.variables`)
and functions/activation/settings.py reads them (:meth:`DeploymentEnvironment.from_environ`).
One list of the variables for both sides, so that none is set and never read, or read and
never set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from contract.names import (
    ENV_EVENT_BUS,
    ENV_EXECUTION_LOG_GROUP_ARN,
    ENV_EXECUTION_POLICY_ARN,
    ENV_EXECUTION_ROLE_ARN,
    ENV_ROUTINE_ROLE_BOUNDARY_ARN,
    ENV_ROUTINE_ROLE_PATH,
    ENV_SCHEDULE_GROUP,
    ENV_STAGE,
    ENV_TRIGGER_ROLE_ARN,
    ENV_WEBHOOK_SECRET_PREFIX,
)


def _variable(name: str) -> Any:
    """A field carried by the environment variable ``name``; None: the variable is unset."""
    return field(default=None, metadata={"variable": name})


@dataclass(frozen=True, slots=True)
class DeploymentEnvironment:
    """Unset variables (the local runtime) are None: functions/activation/settings.py
    chooses their defaults."""

    stage: str | None = _variable(ENV_STAGE)
    execution_role_arn: str | None = _variable(ENV_EXECUTION_ROLE_ARN)
    execution_policy_arn: str | None = _variable(ENV_EXECUTION_POLICY_ARN)
    role_boundary_arn: str | None = _variable(ENV_ROUTINE_ROLE_BOUNDARY_ARN)
    role_path: str | None = _variable(ENV_ROUTINE_ROLE_PATH)
    execution_log_group_arn: str | None = _variable(ENV_EXECUTION_LOG_GROUP_ARN)
    trigger_role_arn: str | None = _variable(ENV_TRIGGER_ROLE_ARN)
    schedule_group: str | None = _variable(ENV_SCHEDULE_GROUP)
    event_bus: str | None = _variable(ENV_EVENT_BUS)
    webhook_secret_prefix: str | None = _variable(ENV_WEBHOOK_SECRET_PREFIX)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DeploymentEnvironment:
        return cls(**{f.name: environ.get(f.metadata["variable"]) for f in fields(cls)})

    def variables(self) -> dict[str, str]:
        """The variables to set, in the fields' order: those whose value is not None."""
        values = {f.metadata["variable"]: getattr(self, f.name) for f in fields(self)}
        return {variable: value for variable, value in values.items() if value is not None}
