"""State names: unique, at most 80 characters, and distinct even for ids that differ only
in case (so nothing that folds case — a console search, a log index — can confuse two
states). Node ids are reserved for their own nodes, so helper states ("x (route)",
"Done") never take a node's plain name."""

from __future__ import annotations

from statemachines.asl import MAX_STATE_NAME


class Namer:
    """Unique state names (case-insensitively), ≤ 80 characters; node ids are reserved for
    their own nodes so helper states never take a node's plain name."""

    def __init__(self, node_ids: list[str]) -> None:
        self.taken: set[str] = set()
        self.reserved: dict[str, str] = {}
        for node_id in node_ids:
            self.reserved.setdefault(node_id.casefold(), node_id)

    def take(self, base: str, owner: str | None = None) -> str:
        base = base[:MAX_STATE_NAME]
        candidate, counter = base, 1
        while candidate.casefold() in self.taken or self.reserved.get(candidate.casefold(), owner) != owner:
            counter += 1
            suffix = f" ({counter})"
            candidate = base[: MAX_STATE_NAME - len(suffix)] + suffix
        self.taken.add(candidate.casefold())
        return candidate
