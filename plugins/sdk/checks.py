"""Checks a node's parameters against its plugin's declaration, collecting every problem.

Values that are whole expressions (``"{{ vars.limit }}"``) are accepted for any type: they
are only known at run time, where the plugin runtime checks them again. Expression syntax
and references are the validator's job; this module checks types, options and presence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from contract.expressions import has_expression
from contract.problems import Code, Report, Warn, join_path, json_type_name
from plugins.sdk.parameters import Parameter, ParameterType

SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
# The check of one parameter type: (path, message) findings for a value.
ValueCheck = Callable[[Parameter, Any, str], list[tuple[str, str]]]


def check_parameters(
    declared: Sequence[Parameter], values: dict[str, Any], path: str, report: Report
) -> None:
    """Report unknown, missing, hidden and ill-typed parameters under ``path``."""
    known = {p.name for p in declared}
    for name in values:
        if name not in known:
            hint = f" (known: {', '.join(sorted(known))})" if known else " (it takes none)"
            report.error(Code.INVALID_PARAMETER, join_path(path, name), f"unknown parameter '{name}'{hint}")
    effective = {p.name: p.default for p in declared if p.default is not None} | values
    for param in declared:
        here = join_path(path, param.name)
        present = param.name in values and values[param.name] is not None
        if not param.visible(effective):
            if present:
                report.warn(
                    Warn.IGNORED_PARAMETER, here, f"'{param.name}' is ignored with the current settings"
                )
            continue
        if not present:
            if param.required and param.default is None:
                report.error(Code.MISSING_PARAMETER, here, f"'{param.label}' is required")
            continue
        check_value(param, values[param.name], here, report)


def check_value(param: Parameter, value: Any, path: str, report: Report) -> None:
    if isinstance(value, str) and has_expression(value) and param.type is not ParameterType.STRING:
        return  # resolved at run time, checked there
    if param.max_items is not None and isinstance(value, list) and len(value) > param.max_items:
        # A count over a product limit, like too many nodes: the same problem, the same code.
        report.error(
            Code.LIMIT_EXCEEDED, path, f"'{param.label}' has {len(value)} items; at most {param.max_items}"
        )
        return
    before = len(report.errors)
    for sub_path, message in _CHECKS[param.type](param, value, path):
        report.error(Code.INVALID_PARAMETER, sub_path, message)
    if param.type in (ParameterType.COLLECTION, ParameterType.FIXED_COLLECTION):
        for item_path, item in _collection_items(param, value, path):
            check_parameters(param.children, item, item_path, report)
    if len(report.errors) == before and param.check is not None:
        for sub_path, message in param.check(value, path):
            report.error(Code.INVALID_PARAMETER, sub_path, message)


def _collection_items(param: Parameter, value: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The objects whose sub-parameters to check (only those of the right shape)."""
    if isinstance(value, dict) and (param.type is ParameterType.COLLECTION or not param.multiple):
        return [(path, value)]
    if isinstance(value, list) and param.type is ParameterType.FIXED_COLLECTION and param.multiple:
        return [(join_path(path, i), item) for i, item in enumerate(value) if isinstance(item, dict)]
    return []


def _wrong_type(param: Parameter, value: Any, path: str, wanted: str) -> list[tuple[str, str]]:
    """The finding for a value of the wrong JSON type: one wording for every parameter type."""
    return [(path, f"'{param.label}' must be {wanted}, not {json_type_name(value)}")]


def _only_json_type(json_type: str, wanted: str) -> ValueCheck:
    """The check of a parameter type whose one rule is the value's JSON type."""
    accepts = _JSON_TYPES[json_type]

    def check(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
        return [] if accepts(value) else _wrong_type(param, value, path, wanted)

    return check


def _string(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(value, str):
        return _wrong_type(param, value, path, "a string")
    if param.min_length is not None and len(value) < param.min_length:
        return [(path, f"'{param.label}' must be at least {param.min_length} characters")]
    if param.max_length is not None and len(value) > param.max_length:
        return [(path, f"'{param.label}' must be at most {param.max_length} characters")]
    if param.pattern and not has_expression(value) and not re.fullmatch(param.pattern, value):
        wanted = param.pattern_hint or f"text matching the pattern {param.pattern}"
        return [(path, f"'{param.label}' must be {wanted}, not {value[:60]!r}")]
    return []


def _number(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _wrong_type(param, value, path, "a number")
    if param.integer and not (isinstance(value, int) or value.is_integer()):
        return [(path, f"'{param.label}' must be a whole number")]
    if param.minimum is not None and value < param.minimum:
        return [(path, f"'{param.label}' must be ≥ {param.minimum:g}")]
    if param.maximum is not None and value > param.maximum:
        return [(path, f"'{param.label}' must be ≤ {param.maximum:g}")]
    return []


_boolean = _only_json_type("boolean", "true or false")


def _select(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    allowed = param.option_values()
    if value not in allowed:
        return [(path, f"'{param.label}' must be one of {', '.join(allowed)}; got {value!r}")]
    return []


def _multi_select(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return _wrong_type(param, value, path, "a list")
    allowed = param.option_values()
    for index, item in enumerate(value):
        if item not in allowed:
            return [(join_path(path, index), f"must be one of {', '.join(allowed)}; got {item!r}")]
    if len(set(map(str, value))) != len(value):
        return [(path, f"'{param.label}' lists a value twice")]
    return []


def _json(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if param.json_type and not _JSON_TYPES[param.json_type](value):
        return _wrong_type(param, value, path, f"a JSON {param.json_type}")
    return []


def _credential(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(value, str) or not SECRET_NAME.match(value):
        return [(path, f"'{param.label}' must name a secret (letters, digits and /_+=.@-)")]
    return []


_collection = _only_json_type("object", "an object")


def _fixed_collection(param: Parameter, value: Any, path: str) -> list[tuple[str, str]]:
    if not param.multiple:
        return _collection(param, value, path)
    if not isinstance(value, list):
        return _wrong_type(param, value, path, "a list")
    if param.min_items is not None and len(value) < param.min_items:
        return [(path, f"'{param.label}' needs at least {param.min_items} item(s)")]
    findings: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        here = join_path(path, index)
        if not isinstance(item, dict):
            findings.append((here, f"each item must be an object, not {json_type_name(item)}"))
    return findings


_CHECKS: dict[ParameterType, ValueCheck] = {
    ParameterType.STRING: _string,
    ParameterType.CODE: _string,
    ParameterType.NUMBER: _number,
    ParameterType.BOOLEAN: _boolean,
    ParameterType.SELECT: _select,
    ParameterType.MULTI_SELECT: _multi_select,
    ParameterType.JSON: _json,
    ParameterType.CREDENTIAL: _credential,
    ParameterType.COLLECTION: _collection,
    ParameterType.FIXED_COLLECTION: _fixed_collection,
}
