"""What the compiler needs to know about where a routine will run."""

from __future__ import annotations

from dataclasses import dataclass

from infra.names import function_name


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Account, region and routine id of the target; the defaults are moto's, so compiled
    machines run as they are on the local runtime."""

    routine_id: str = "local"
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    # The deployment's stage (functions are named routines-<stage>-<plugin>); None locally.
    stage: str | None = None

    def function_arn(self, plugin: str) -> str:
        name = function_name(plugin, self.stage)
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"
