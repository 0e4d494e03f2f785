"""What the compiler needs to know about where a routine will run."""

from __future__ import annotations

from dataclasses import dataclass

from contract.names import function_name


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
    # True: ``${FunctionArn_<plugin>}`` placeholders instead of ARNs, for the deployment to
    # fill in (CloudFormation's DefinitionSubstitutions).
    substitutions: bool = False
    # The machine type the routine's ``execution`` setting chose (statemachines.express),
    # set by the compiler: "express" wraps the machine so that it writes its own execution
    # records (statemachines/machine/records.py). None: not decided (no wrapper).
    execution_type: str | None = None
    # Whose routine, which version: activation compiles them into an Express machine's
    # record writes, for executions whose input names no owner (children of
    # execute-routine nodes). None: only executions whose input's meta names them are
    # recorded (routines run records nothing).
    owner: str | None = None
    version: int | None = None

    def function_arn(self, plugin: str) -> str:
        if self.substitutions:
            return "${" + substitution_key(plugin) + "}"
        name = function_name(plugin, self.stage)
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    @property
    def wait_for_token(self) -> str:
        """The service integration an approval node pauses in, in the target's partition."""
        return f"arn:{self.partition}:states:::lambda:invoke.waitForTaskToken"


def substitution_key(plugin: str) -> str:
    """``http-request`` → ``FunctionArn_http_request`` (plugin names never hold '_', so
    distinct plugins get distinct keys)."""
    return "FunctionArn_" + plugin.replace("-", "_")
