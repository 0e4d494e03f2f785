"""The event a plugin Lambda receives, as the compiler's Task ``Parameters`` build it."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Execution(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(min_length=1, max_length=2048)
    # A JSONata machine sends these only to a plugin that reads them (reads_execution) or
    # to expressions the Lambda evaluates that read execution.*: 90 bytes less per Task.
    routine_id: str = Field("", alias="routineId", max_length=256)
    started_at: str = Field("", alias="startedAt", max_length=64)


class Invocation(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    node: str = Field(min_length=1, max_length=64)
    plugin: str | None = Field(None, max_length=128)  # set for control nodes (the evaluator)
    parameters: dict[str, Any] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    on_error: str = Field("fail", alias="onError")
    execution: Execution
    attempt: int = Field(0, ge=0)
    trigger: Any = None
    loop: Any = None
    iteration: str | None = Field(None, max_length=256)  # "2.0": loop iteration numbers, outermost first
    nodes: dict[str, Any] = Field(default_factory=dict)
    merged: list[str] = Field(default_factory=list)  # node entries that are merge objects
    task_token: str | None = Field(None, alias="taskToken")
    inline_bytes: int | None = Field(None, alias="inlineBytes", ge=0)  # the output's payload budget
    spill: bool = False  # the evaluator writes a loop's items to S3 for a distributed Map
    chunk: int | None = Field(None, ge=1)  # with spill: in chunks of at most this many items
    limit: int | None = Field(None, ge=1)  # more items are refused (a Standard execution's history)
    limit_of: str = Field("history", alias="limitOf", max_length=16)  # ... or "results": their list
    # This output is an iteration's result: over its share (inlineBytes), and that share too
    # small for a reference (contract.limits.SPILL_SHARE), it is stored in S3 apart.
    # "list": a Map's, handed back as null; "until": an until loop's, handed back as a
    # reference to it (loop.previous reads it). statemachines/machine/stored.py.
    loop_result: Literal["list", "until"] | None = Field(None, alias="loopResult")
    run: str | None = Field(None, pattern=r"^[0-9a-f-]{36}$")  # ... with the loop run's name
    results: list[Any] | None = None  # a chunk's results, to store in S3 (chunked loops)
    prefix: str | None = Field(None, max_length=1024)  # ... under this S3 prefix
    offset: int | None = Field(None, ge=0)  # ... by the chunk's offset
    collect: str | None = Field(None, max_length=1024)  # the prefix of all chunks' results
    keep: list[list[str | int]] = Field(default_factory=list)  # paths native states read
    # Set by JSONata machines, which evaluate parameters in the Task's Arguments: only these
    # parameters are left for the Lambda (they read secrets, or roots only it has). None:
    # a JSONPath machine, every parameter is a template to resolve here.
    deferred: list[str] | None = Field(None, max_length=256)

    @model_validator(mode="before")
    @classmethod
    def _unpack_static(cls, data: Any) -> Any:
        # Literals with keys ending in '.$' travel as JSON text (ASL would read them as paths).
        if isinstance(data, dict) and isinstance(data.get("staticJson"), str):
            data = {**json.loads(data["staticJson"]), **{k: v for k, v in data.items() if k != "staticJson"}}
        # A JSONata machine sends "late" (the parameters to evaluate here, and what they
        # read) only when a value they read was offloaded to S3 without it; else null.
        if isinstance(data, dict) and "late" in data:
            late = data["late"]
            data = {k: v for k, v in data.items() if k != "late"}
            if isinstance(late, dict):
                data.update(late)
        return data
