"""The routine document (DESIGN §2) as pydantic v2 models: camelCase JSON, strict types.

These models check the *shape* of a document. Everything that needs context (plugins,
the graph, expressions) is checked by :mod:`statemachines.validator`, which validates the
document piece by piece so that one malformed node does not hide the errors of the rest.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contract.limits import PORT_NAME_PATTERN

NODE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]
PortName = Annotated[str, Field(pattern=PORT_NAME_PATTERN)]
# A Standard execution runs at most a year.
MAX_ROUTINE_TIMEOUT_SECONDS = 31_536_000
# A routine id as the API issues and takes it (``/routines/{id}``).
ROUTINE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# How long a webhook caller may wait for the result: API Gateway ends a request at 29 s.
MAX_RESPOND_TIMEOUT_SECONDS = 25
DEFAULT_RESPOND_TIMEOUT_SECONDS = 10
PortTypeName = Literal["main", "condition", "error", "loop"]
# Which kind of state machine runs the routine (statemachines.express decides "auto").
ExecutionType = Literal["standard", "express", "auto"]
EXECUTION_TYPES: tuple[str, ...] = get_args(ExecutionType)
OnError = Literal["fail", "continue", "route"]


class DocumentModel(BaseModel):
    """Base: camelCase aliases, no unknown fields, no silent type coercion."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
    )

    def to_document(self) -> dict[str, Any]:
        """The camelCase JSON form, without fields left at their defaults."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Retry(DocumentModel):
    """Retry policy. ``maxAttempts`` counts every attempt, the first one included."""

    # AWS users read MaxAttempts as "retries"; ours is the total, so say it where editors show it.
    max_attempts: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description=(
                "Total attempts, the first one included: 3 means one run and at most two retries "
                "(unlike Step Functions' MaxAttempts, which counts retries only). 1 = no retry."
            ),
        ),
    ] = 3
    interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 1
    backoff_rate: Annotated[float, Field(ge=1.0, le=100.0)] = 2.0
    max_delay_seconds: Annotated[int, Field(ge=1, le=31_622_400)] | None = None
    jitter: bool = False


class Node(DocumentModel):
    id: NodeId
    plugin: Annotated[str, Field(min_length=1, max_length=128)]
    name: Annotated[str, Field(max_length=256)] | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    disabled: bool = False
    timeout_seconds: Annotated[int, Field(ge=1, le=31_622_400)] | None = None
    retry: Retry | None = None
    on_error: OnError = "fail"


class Connection(DocumentModel):
    source_node_id: NodeId
    source_port: PortName = "out"
    target_node_id: NodeId
    target_port: PortName = "in"
    id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    type: PortTypeName | None = None


class ManualTrigger(DocumentModel):
    type: Literal["manual"]


class WebhookTrigger(DocumentModel):
    type: Literal["webhook"]
    # How far (either way) a signature's timestamp may be from the receiver's clock.
    tolerance_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=86_400,
            description="Seconds a signed request stays valid (its timestamp, either way): replay protection",
        ),
    ] = 300
    # Also accept the old body-only "sha256=<hex>" signature (no timestamp: replayable).
    legacy_signature: Annotated[
        bool,
        Field(description="Also accept 'sha256=<hex>' body-only signatures, which can be replayed"),
    ] = False
    # "accepted": 202 {executionId} at once; "result": the caller waits for the execution's end.
    respond: Annotated[
        Literal["accepted", "result"],
        Field(
            description="'accepted' (default): answer 202 {executionId} at once; 'result': wait up to "
            "respondTimeoutSeconds for the execution to end and answer with its result or error",
        ),
    ] = "accepted"
    respond_timeout_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_RESPOND_TIMEOUT_SECONDS,
            description="With respond: 'result', seconds the caller waits (1 to 25); "
            "past them: 202 {executionId}",
        ),
    ] = DEFAULT_RESPOND_TIMEOUT_SECONDS


class CronTrigger(DocumentModel):
    type: Literal["cron"]
    schedule: Annotated[str, Field(max_length=256)]
    timezone: Annotated[str, Field(max_length=64)] = "UTC"


class EventTrigger(DocumentModel):
    type: Literal["event"]
    pattern: dict[str, Any]
    bus: Annotated[str, Field(min_length=1, max_length=1600)] = "default"


class ErrorTrigger(DocumentModel):
    """Receives the failures of the routines that name this one as their ``errorRoutine``
    (never started by a webhook, a schedule or an event; manual runs test it)."""

    type: Literal["error"]


Trigger = Annotated[
    ManualTrigger | WebhookTrigger | CronTrigger | EventTrigger | ErrorTrigger, Field(discriminator="type")
]
TRIGGER_MODELS: dict[str, type[DocumentModel]] = {
    "manual": ManualTrigger,
    "webhook": WebhookTrigger,
    "cron": CronTrigger,
    "event": EventTrigger,
    "error": ErrorTrigger,
}


class Routine(DocumentModel):
    name: Annotated[str, Field(min_length=1, max_length=256)]
    description: Annotated[str, Field(max_length=4096)] | None = None
    trigger: Trigger
    variables: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node]
    connections: list[Connection] = Field(default_factory=list)
    # The whole execution (the machine's TimeoutSeconds): it then ends TIMED_OUT.
    timeout_seconds: (
        Annotated[
            int,
            Field(
                ge=1,
                le=MAX_ROUTINE_TIMEOUT_SECONDS,
                description="Seconds the whole execution may run; past them it ends TIMED_OUT "
                "(at most 31,536,000: a Standard execution's year)",
            ),
        ]
        | None
    ) = None
    # A routine with an error trigger, started once when an execution ends FAILED,
    # TIMED_OUT or ABORTED (checked at activation: same owner, active, error trigger).
    error_routine: (
        Annotated[
            str,
            Field(
                pattern=ROUTINE_ID_PATTERN,
                description="The id of a routine with an error trigger, started once with the failure "
                "when an execution ends FAILED, TIMED_OUT or ABORTED",
            ),
        ]
        | None
    ) = None

    # Standard (exactly once, up to a year, billed per state transition) or Express (at
    # least once, up to 5 minutes, billed per request and duration); "auto": Express when
    # statemachines.express finds nothing that makes it unsafe.
    execution: Annotated[
        ExecutionType,
        Field(
            description="'auto' (default): an Express machine when the routine is safe to run as one "
            "(no approval, no waiting child routine, at most 5 minutes in the worst case, every node "
            "safe to repeat), else Standard, with the reasons in the compile report; 'express' on a "
            "routine that is not safe is refused with those reasons; 'standard' always"
        ),
    ] = "auto"

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)
