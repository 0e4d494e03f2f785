"""Subset matching with a readable diff: one line per mismatch, with its path.

An expected object matches an actual object when every expected key is present and
matches (other keys may be present); lists match element by element and must have the
same length; scalars match when equal *and* of the same JSON type (``true`` is not
``1``, ``1`` equals ``1.0``).
"""

from __future__ import annotations

import json
from typing import Any

from contract.problems import json_type

MAX_SHOWN = 120  # characters of a value shown in a diff line


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def mismatches(expected: Any, actual: Any, path: str) -> list[str]:
    """Lines describing where ``actual`` does not contain ``expected`` (empty: it does)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                lines.append(f"{where}: expected {show(value)}, but the key is missing")
            else:
                lines += mismatches(value, actual[key], where)
        return lines
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} item(s), got {len(actual)}: {show(actual)}"]
        lines = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            lines += mismatches(want, got, f"{path}[{index}]")
        return lines
    if json_type(expected) == json_type(actual) and expected == actual:
        return []
    return [f"{path}: expected {show(expected)}, got {show(actual)}"]
