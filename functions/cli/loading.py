"""Reading a routine file from the command line: bounded, and every failure explained."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from statemachines.limits import MAX_FILE_BYTES
from statemachines.problems import Code, Report


class UnreadableFile(Exception):
    """The file could not be read at all (missing, a directory, no permission)."""


def read_source(name: str) -> bytes:
    try:
        if name == "-":
            return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        with Path(name).open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot read {name}: {exc.strerror or exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes, report: Report) -> tuple[bool, Any]:
    """(ok, document); on failure the reason is in ``report``."""
    if len(raw) > MAX_FILE_BYTES:
        report.error(Code.LIMIT_EXCEEDED, "", f"the file is larger than {MAX_FILE_BYTES:,} bytes")
        return False, None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error(Code.INVALID_DOCUMENT, "", f"not UTF-8 text (byte {exc.start})")
        return False, None
    try:
        return True, json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        report.error(
            Code.INVALID_DOCUMENT, "", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
    except RecursionError:
        report.error(Code.LIMIT_EXCEEDED, "", "the document nests too deeply")
    except ValueError as exc:
        report.error(Code.INVALID_DOCUMENT, "", str(exc))
    return False, None
