"""State names from node ids: unique, at most 80 characters, and distinct even for ids that
differ only in case (so nothing that folds case — a console search, a log index — can
confuse two states)."""

from __future__ import annotations

from collections.abc import Iterable

from statemachines.asl import MAX_STATE_NAME


def state_names(node_ids: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """Map each node id to its state name; ``reserved`` names are never handed out."""
    taken = {name.casefold() for name in reserved}
    names: dict[str, str] = {}
    for node_id in node_ids:
        base = node_id[:MAX_STATE_NAME]
        candidate, counter = base, 1
        while candidate.casefold() in taken:
            counter += 1
            suffix = f" ({counter})"
            candidate = base[: MAX_STATE_NAME - len(suffix)] + suffix
        taken.add(candidate.casefold())
        names[node_id] = candidate
    return names
