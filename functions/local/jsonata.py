"""JSONata in moto's Step Functions interpreter, evaluated as AWS evaluates it.

moto parses JSONata-mode machines (``{% %}`` fields, ``Assign``, variable scopes) but
leaves the evaluator itself unset (``_eval_jsonata``, meant for a JVM bridge), and what it
would hand that evaluator is one text: ``$states`` and every variable in scope pasted in
front of the expression as ``$name := value;`` declarations, string values between quotes
without escaping. A variable holding ``"`` then breaks every later expression, ``C:\\temp``
comes back with a tab in it, and each expression re-parses every variable's value. Its
``$hash`` and ``$uuid`` answer a "not supported" sentence, and nothing bounds a variable's
size. While installed:

- every ``{% %}`` field (``StringJSONata``) and every ``$name`` reference of a JSONPath
  field (``StringVariableSample``) evaluates the expression as written, with the values as
  bindings, by :mod:`contract.jsonata.engine` — the one JSONata of the project, with
  Step Functions' own functions. Only the names an expression mentions are bound (nothing
  else can be reached: ``$eval`` is disabled). A plain reference (``$name.key.key`` walking
  objects) is read directly, as JSONata would read it, so a 17-digit integer keeps every
  digit as it does on AWS (jsonatapy's numbers are doubles);
- an expression that yields nothing fails the state with ``States.QueryEvaluationError``,
  as does one that raises, and a ``Condition`` that is not a boolean (moto raises a bare
  RuntimeError there, which surfaces as ``States.Runtime``);
- ``Assign`` refuses a variable over 256 KiB, an Assign over 256 KiB and more than 10 MiB
  of variables in scope (moto bounds none);
- ``assignedVariables`` in the history are JSON (moto quotes strings without escaping);
- moto's own ``_eval_jsonata`` is set to the engine, for any text moto still composes.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from moto.stepfunctions.parser.api import (
    EvaluationFailedEventDetails,
    HistoryEventType,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.assign.assign_decl import AssignDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringJSONata,
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison import (
    ConditionStringJSONata,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.states import States
from moto.stepfunctions.parser.asl.eval.variable_store import VariableStore
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

from contract.jsonata.engine import UNDEFINED, JsonataError
from contract.jsonata.engine import compile_expression as _compiled
from functions.local.fastpaths.guard import Patch, Seam, refuse

# AWS's bounds on workflow variables (docs.aws.amazon.com/step-functions/latest/dg/
# workflow-variables.html, "Variable size limits"), in bytes of the value's JSON text.
VARIABLE_LIMIT = 256 * 1024
ASSIGN_LIMIT = 256 * 1024
TOTAL_LIMIT = 10 * 1024 * 1024
# The docs name no error for a size past those bounds. States.Runtime: the stricter of
# the candidates (a Catch on States.ALL does not take it), so a machine that relies on
# catching it fails here first rather than only on AWS.
SIZE_ERROR = StatesErrorNameType.StatesRuntime

_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STATES_KEY = re.compile(r"\$states\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?")
_REFERENCE = re.compile(r"\s*\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*")
_JSONATA_TYPES = {
    bool: "boolean",
    str: "string",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}


@dataclass(frozen=True)
class _Plan:
    """What evaluating one expression text needs, worked out once per text."""

    error: JsonataError | None  # the text does not compile (raised when evaluated)
    names: frozenset[str]  # the variables it mentions ($states apart)
    states: frozenset[str] | None  # the keys of $states it reads; None: all of $states
    reference: tuple[str, ...] | None  # a plain $name.key.key reference, read directly


@lru_cache(maxsize=4_096)
def _plan(text: str) -> _Plan:
    error: JsonataError | None = None
    try:
        _compiled(text)
    except JsonataError as exc:
        error = _bare(exc)
    # Every $name in the text, string literals included: binding a name the expression
    # does not read changes nothing, and one it reads cannot be missed.
    names = frozenset(_NAME.findall(text)) - {"states"}
    keys = [match.group(1) for match in _STATES_KEY.finditer(text)]
    states = None if any(key is None for key in keys) else frozenset(keys)
    plain = _REFERENCE.fullmatch(text)
    reference = (plain.group(1), *plain.group(2).split(".")[1:]) if plain else None
    return _Plan(error, names, states, reference)


def _aws_time(value: Any) -> Any:
    # The context's timestamps as AWS writes them ("2024-11-22T10:00:00.123Z"); moto keeps
    # the execution's start as a datetime, which is not JSON.
    if isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return value


def _context(context: dict[str, Any]) -> dict[str, Any]:
    execution = context.get("Execution")
    if not isinstance(execution, dict) or not isinstance(execution.get("StartTime"), datetime.datetime):
        return context
    return {**context, "Execution": {**execution, "StartTime": _aws_time(execution["StartTime"])}}


def _bindings(plan: _Plan, env: Any, with_states: bool) -> dict[str, Any]:
    """The values an expression reads, by name (without ``$``): variables in scope, the
    inner scope's over the outer's, and ``states``."""
    store: VariableStore = env.variable_store
    inner, outer = store._inner_scope, store._outer_scope
    bindings: dict[str, Any] = {}
    for name in plan.names:
        if name in inner:
            bindings[name] = inner[name]
        elif name in outer:
            bindings[name] = outer[name]
    if with_states and (plan.states is None or plan.states):
        data: dict[str, Any] = env.states._states_data
        keys = data.keys() if plan.states is None else plan.states & data.keys()
        states = {key: data[key] for key in keys}
        if "context" in states:
            states["context"] = _context(states["context"])
        bindings["states"] = states
    return bindings


def _read(reference: tuple[str, ...], bindings: dict[str, Any]) -> Any:
    """A plain reference read as JSONata reads it, or None (a step through something that
    is not an object: JSONata maps over arrays, which the engine does)."""
    name, *keys = reference
    if name not in bindings:
        return None
    value = bindings[name]
    for key in keys:
        if not isinstance(value, dict):
            return None
        if key not in value:
            return (UNDEFINED,)
        value = value[key]
    # A fresh value, as the engine's would be: moto may keep it (a variable, an output).
    return (value if type(value) in (str, int, float, bool, type(None)) else copy.deepcopy(value),)


def evaluate(text: str, env: Any, *, with_states: bool = True) -> Any:
    """``text`` evaluated in ``env``: the value, or :data:`UNDEFINED`. Raises JsonataError."""
    plan = _plan(text)
    if plan.error is not None:
        raise plan.error
    bindings = _bindings(plan, env, with_states)
    if plan.reference is not None and (found := _read(plan.reference, bindings)) is not None:
        return found[0]
    failed: JsonataError | None = None
    try:
        return _compiled(text).evaluate(None, bindings)
    except JsonataError as exc:
        failed = _bare(exc)
    raise failed


def _bare(error: JsonataError) -> JsonataError:
    """The same error without the traceback it came with. That traceback's frames hold the
    compiled expression, and the cycle they make with the exception is collected on
    whichever thread the garbage collector happens to run, where dropping a jsonatapy
    expression fails (it may only be dropped on the thread that made it)."""
    return JsonataError(error.message, error.jsonata_code)


def _fail(env: Any, cause: str, location: str | None = None) -> NoReturn:
    # As moto's own validations fail a field: an EvaluationFailed event, then the state fails.
    error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error.error_name, cause=cause)
    if location:
        details["location"] = location
    failure = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(evaluationFailedEventDetails=details),  # type: ignore[typeddict-item]
        )
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()
        ),
    )
    raise failure


def _defined(text: str, env: Any) -> Any:
    try:
        value = evaluate(text, env)
    except JsonataError as exc:
        code = f"{exc.jsonata_code}: " if exc.jsonata_code else ""
        _fail(env, f"The JSONata expression '{text}' failed: {code}{exc.message}")
    if value is UNDEFINED:
        _fail(env, f"The JSONata expression '{text}' returned nothing (undefined).")
    return value


def _string_jsonata(self: StringJSONata, env: Any) -> None:
    env.stack.append(_defined(self.expression, env))


def _variable_sample(self: StringVariableSample, env: Any) -> None:
    # A JSONPath field's "$name.path" (or a JSONata one's): moto hands on whatever its
    # evaluator returns, None for nothing; so does this.
    value = evaluate(self.expression, env, with_states=self.query_language_mode == QueryLanguageMode.JSONata)
    env.stack.append(None if value is UNDEFINED else value)


def _condition(self: ConditionStringJSONata, env: Any) -> None:
    self.string_jsonata.eval(env=env)
    result = env.stack[-1]
    if not isinstance(result, bool):
        kind = _JSONATA_TYPES.get(type(result), "null")
        # AWS's words for a field of the wrong type (moto quotes them for Items).
        _fail(
            env,
            f"The JSONata expression '{self.string_jsonata.expression}' specified for the field 'Condition' "
            f"returned an unexpected result type. Expected 'boolean', but was '{kind}' for value: "
            f"{json.dumps(result, ensure_ascii=False)}",
            "Condition",
        )


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _too_big(env: Any, cause: str) -> NoReturn:
    error = StatesErrorName(typ=SIZE_ERROR)
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(error=error.error_name, cause=cause)
            ),
        )
    )


def _assign(self: AssignDecl, env: Any) -> None:
    # moto's AssignDecl._eval_body (every value evaluated before any is set, as on AWS),
    # with AWS's bounds checked before anything is stored.
    declarations: dict[str, Any] = {}
    for declaration_binding in self.declaration_bindings:
        declaration_binding.eval(env=env)
        declarations.update(env.stack.pop())
    sizes = {name: _size(value) for name, value in declarations.items()}
    for name, size in sizes.items():
        if size > VARIABLE_LIMIT:
            _too_big(
                env,
                f"The value assigned to the variable '{name}' is {size} bytes: "
                f"over the {VARIABLE_LIMIT} bytes a variable may hold.",
            )
    if sum(sizes.values()) > ASSIGN_LIMIT:
        _too_big(
            env,
            f"The variables assigned together are {sum(sizes.values())} bytes: "
            f"over the {ASSIGN_LIMIT} bytes one Assign may hold.",
        )
    store: VariableStore = env.variable_store
    others = {**store._outer_scope, **store._inner_scope}
    total = sum(sizes.values()) + sum(_size(value) for name, value in others.items() if name not in sizes)
    if total > TOTAL_LIMIT:
        _too_big(
            env,
            f"The variables in scope would be {total} bytes: "
            f"over the {TOTAL_LIMIT} bytes an execution may hold.",
        )
    for identifier, value in declarations.items():
        env.variable_store.set(variable_identifier=identifier, variable_value=value)


def _assigned_variables(self: VariableStore) -> dict[str, str]:
    # moto's get_assigned_variables, each value written as JSON (strings escaped).
    return {
        name: json.dumps(self.get(name), separators=(",", ":"), ensure_ascii=False)
        for name in self._declaration_tracing
    }


def _evaluate_text(text: str) -> Any:
    """moto's evaluator contract: a composed text's value, None for nothing."""
    failed: JsonataError | None = None
    try:
        value = _compiled(text).evaluate()
    except JsonataError as exc:
        failed = _bare(exc)
    if failed is not None:
        raise moto_jsonata.JSONataException(failed.jsonata_code or "UNKNOWN", failed.message)
    return None if value is UNDEFINED else value


# What the replacements read of moto's objects beyond the methods they replace.
INTERNALS = ((States, "_states_data"), (VariableStore, "_inner_scope"), (VariableStore, "_outer_scope"))


def _patches() -> list[Patch]:
    refuse(
        [
            f"{owner.__module__}.{owner.__qualname__} no longer keeps {name}"
            for owner, name in INTERNALS
            if name not in getattr(owner, "__annotations__", {})
        ]
        + (
            []
            if hasattr(moto_jsonata, "_eval_jsonata")
            else [f"{moto_jsonata.__name__}._eval_jsonata is gone"]
        )
    )
    return [
        ("string_jsonata", StringJSONata, "_eval_body", _string_jsonata),
        ("variable_sample", StringVariableSample, "_eval_body", _variable_sample),
        ("condition", ConditionStringJSONata, "_eval_body", _condition),
        ("assign", AssignDecl, "_eval_body", _assign),
        ("assigned_variables", VariableStore, "get_assigned_variables", _assigned_variables),
    ]


_saved_evaluator: list[Any] = []


def _set_evaluator() -> None:
    _saved_evaluator[:] = [moto_jsonata._eval_jsonata]
    moto_jsonata._eval_jsonata = _evaluate_text


def _restore_evaluator() -> None:
    if _saved_evaluator:
        moto_jsonata._eval_jsonata = _saved_evaluator.pop()


SEAM = Seam(
    "jsonata",
    "JSONata fields and workflow variables evaluated with bindings by the project's engine, as on AWS",
    _patches,
    parameters={
        "string_jsonata": ("self", "env"),
        "variable_sample": ("self", "env"),
        "condition": ("self", "env"),
        "assign": ("self", "env"),
        "assigned_variables": ("self",),
    },
    on_install=_set_evaluator,
    on_uninstall=_restore_evaluator,
)
install = SEAM.install
uninstall = SEAM.uninstall

__all__ = ["ASSIGN_LIMIT", "SEAM", "TOTAL_LIMIT", "VARIABLE_LIMIT", "evaluate", "install", "uninstall"]
