"""Reading a routine file from the command line: bounded, and every failure explained."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from contract.limits import MAX_FILE_BYTES
from contract.problems import Code, Report
from functions.cli.errors import UsageError
from statemachines.document import read_document


class UnreadableFile(UsageError):
    """The file could not be read at all (missing, a directory, no permission)."""


def read_source(name: str) -> bytes:
    try:
        if name == "-":
            return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        with Path(name).open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot read {name}: {exc.strerror or exc}") from None


def parse_json(raw: bytes, report: Report) -> tuple[bool, Any]:
    """(ok, document); on failure the reason is in ``report``. Strict JSON, read as the API
    reads a routine body (:func:`statemachines.document.read_document`): repeated keys,
    NaN, numbers Python cannot hold and nesting too deep are reported, not crashes."""
    if len(raw) > MAX_FILE_BYTES:
        report.error(Code.LIMIT_EXCEEDED, "", f"the file is larger than {MAX_FILE_BYTES:,} bytes")
        return False, None
    return read_document(raw, report)
