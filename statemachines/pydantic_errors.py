"""pydantic validation errors → ``invalid_document`` problems with document paths."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from contract.problems import Code, Report, join_path, json_type_name

_TYPE_NAMES = {
    "dict": "an object",
    "list": "a list",
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}


def report_pydantic(exc: ValidationError, base: str, report: Report) -> None:
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # Discriminated unions add the tag to the location; it is not part of the document.
        path = join_path(base, *(p for p in loc if isinstance(p, str | int)))
        report.error(Code.INVALID_DOCUMENT, path, _message(err, loc))


def _message(err: Any, loc: list[Any]) -> str:
    kind = err["type"]
    field = loc[-1] if loc else ""
    if kind == "missing":
        return f"'{field}' is required"
    if kind == "extra_forbidden":
        return f"unknown field '{field}'"
    if kind.endswith("_type"):
        wanted = _TYPE_NAMES.get(kind.removesuffix("_type"), kind.removesuffix("_type"))
        return f"must be {wanted}, not {json_type_name(err.get('input'))}"
    if kind == "string_pattern_mismatch" and field == "id":
        return "ids start with a letter, then up to 63 letters, digits or '_'"
    if kind == "literal_error":
        return f"{err['msg'].replace('Input should be', 'must be')}; got {err.get('input')!r}"
    return str(err["msg"]).replace("Input should", "must").replace("String should", "must")
