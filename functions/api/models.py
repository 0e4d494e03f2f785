"""Request and response models of the REST API (camelCase JSON, as DESIGN §2).

Routine documents travel as plain JSON objects: the routine validator, not pydantic,
checks them, so that every problem is reported at once with the validator's own codes
and paths. These models describe everything around them, and generate the OpenAPI
document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Problem(ApiModel):
    code: str
    path: str = ""
    message: str = ""


class ErrorBody(ApiModel):
    errors: list[Problem]
    request_id: str | None = None


class RoutineSummary(ApiModel):
    id: str
    name: str
    version: int = Field(description="the latest saved version")
    active_version: int | None = Field(description="the deployed version, null when inactive")
    status: Literal["active", "inactive"]
    created_at: str
    updated_at: str


class Routine(RoutineSummary):
    version: int = Field(description="the version of `document` (the one asked for, default the latest)")
    current_version: int = Field(description="the latest saved version")
    document: dict[str, Any] = Field(description="the routine document of `version`")
    warnings: list[Problem] = Field(default_factory=list)


class RoutineList(ApiModel):
    items: list[RoutineSummary]
    next_token: str | None = None


class ValidationResult(ApiModel):
    valid: bool
    errors: list[Problem]
    warnings: list[Problem]


class Counts(ApiModel):
    min: int
    max: int


class Dollars(ApiModel):
    min: float = Field(description="on the cheapest path")
    max: float = Field(description="on the costliest path")


class PerMillion(ApiModel):
    per_million: Dollars = Field(description="US dollars per million, Lambda included")


class ExecutionChoice(ApiModel):
    type: Literal["standard", "express"] = Field(description="the machine type the routine's setting picks")
    requested: Literal["standard", "express", "auto"] = Field(description="the routine's `execution`")
    reasons: list[str] = Field(description="why not Express, one line per reason (`path: message`)")


class StandardCost(ApiModel):
    transitions: Counts = Field(description="state transitions per execution, loop items not included")
    per_million: Dollars = Field(description="US dollars per million executions, Lambda included")


class ExpressCost(ApiModel):
    requests: int = Field(description="requests per execution")
    duration_ms: Dollars = Field(description="estimated duration per execution (milliseconds)")
    per_million: Dollars = Field(description="US dollars per million executions, Lambda included")


class ChildExecutions(ApiModel):
    per_item: int
    type: Literal["standard", "express"]


class LoopItemCost(ApiModel):
    mode: Literal["inline", "distributed"]
    transitions: Counts = Field(
        description="state transitions per item (a distributed item's child execution)"
    )
    lambda_invocations: Counts
    child_executions: ChildExecutions | None = Field(default=None, description="distributed loops only")
    standard: PerMillion = Field(description="per million items, with a Standard parent")
    express: PerMillion = Field(description="per million items, with an Express parent")


class CostAssumptions(ApiModel):
    lambda_ms: float = Field(description="assumed billed duration of one Lambda invocation")
    express_memory_mb: int = Field(description="billed memory of an Express execution")


class CostReport(ApiModel):
    chosen: Literal["standard", "express"]
    currency: Literal["USD"]
    region: str = Field(description="the region whose list prices are used")
    prices_read: str = Field(description="the date the prices were read (YYYY-MM-DD)")
    sources: list[str]
    assumptions: CostAssumptions
    lambda_invocations: Counts = Field(description="Lambda invocations per execution")
    lambda_per_million: Dollars = Field(description="the Lambda part of either type's price")
    standard: StandardCost
    express: ExpressCost
    per_loop_item: dict[str, LoopItemCost] = Field(description="loop node → the cost of one of its items")


class CompileReport(ApiModel):
    """The compile report; the fields below, and others (states, loops, stateNodes, …)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    execution: ExecutionChoice = Field(description="Standard or Express, and why not Express")
    cost: CostReport = Field(description="what an execution costs as either type, at list prices")


class Definition(ApiModel):
    routine_id: str
    version: int
    definition: dict[str, Any] = Field(description="the Amazon States Language definition")
    report: CompileReport = Field(description="the compile report: states, costs, state → node map")


class ActivateRequest(ApiModel):
    version: Annotated[int, Field(ge=1)] | None = Field(default=None, description="default: the latest")


class NextRun(ApiModel):
    utc: str
    local: str = Field(description="the same instant in the trigger's timezone")


class Webhook(ApiModel):
    url: str
    secret: str | None = Field(default=None, description="shown once, on the activation that creates it")


class EventRule(ApiModel):
    rule: str
    bus: str


class Activation(ApiModel):
    routine_id: str
    status: Literal["active", "inactive"]
    active_version: int | None
    state_machine_arn: str | None = None
    trigger: dict[str, Any] | None = None
    next_runs: list[NextRun] | None = None
    webhook: Webhook | None = None
    event: EventRule | None = None


class RunRequest(ApiModel):
    input: Any = Field(default=None, description="the trigger document the routine sees as `trigger`")
    test: bool = Field(default=False, description="run the latest saved version without activating it")


class RunStarted(ApiModel):
    execution_id: str


class ExecutionError(ApiModel):
    type: str | None = None
    message: str | None = None


class ExecutionSummary(ApiModel):
    """The shape of :meth:`functions.store.ExecutionRecord.summary`."""

    execution_id: str
    routine_id: str
    version: int | None = None
    status: str
    trigger_type: str | None = Field(
        default=None, description="manual, test, webhook, cron, event, rerun, error, routine"
    )
    started_at: str | None = None
    stopped_at: str | None = None
    duration_ms: float | None = None
    error: ExecutionError | None = None
    rerun_of: str | None = None
    reruns: list[str] = Field(default_factory=list)
    stopped_by: str | None = Field(
        default=None, description="who stopped it through the API (`POST /executions/{id}/stop`)"
    )
    stop_reason: str | None = Field(default=None, description="the reason given to the stop, if any")
    parent_execution_id: str | None = Field(
        default=None, description="the execution whose execute-routine node started this one"
    )
    parent_node_id: str | None = Field(default=None, description="that execute-routine node")


class ErrorRoutineRun(ApiModel):
    """What became of a failed execution's ``errorRoutine``."""

    routine_id: str
    execution_id: str | None = Field(
        default=None, description="the error routine's execution (started once per failed execution)"
    )
    note: str | None = Field(default=None, description="why the error routine was not started, if it was not")


class Execution(ExecutionSummary):
    execution_arn: str | None = None
    trigger: Any = Field(default=None, description="the trigger data the routine saw as `trigger`")
    output: Any = None
    nodes: dict[str, dict[str, Any]] | None = Field(default=None, description="per-node trace")
    transitions: int | None = Field(default=None, description="state transitions billed")
    error_routine: ErrorRoutineRun | None = Field(
        default=None, description="the routine's errorRoutine, when this execution failed and names one"
    )


class ExecutionList(ApiModel):
    items: list[ExecutionSummary]
    next_token: str | None = None


class PluginParameter(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    type: str


class Plugin(BaseModel):
    """A catalogue entry (:func:`plugins.sdk.definition_to_json`)."""

    model_config = ConfigDict(extra="allow")

    name: str
    version: int
    versions: list[int]
    display_name: str = Field(alias="displayName")
    description: str
    category: str
    kind: str
    parameters: list[PluginParameter]


class RotatedWebhook(ApiModel):
    url: str
    secret: str = Field(description="the new secret, shown once")
    previous_secret_valid_until: str = Field(description="the previous secret works until then (UTC)")


class Rotated(ApiModel):
    webhook: RotatedWebhook
