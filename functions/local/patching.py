"""Reference-counted monkeypatches of moto: applied by the first local AWS that starts,
removed by the last that stops (local AWS instances may nest, e.g. a test's inside a
session's). Each patch is ``(key, owner, attribute, replacement)``; the originals stay
reachable by key, so a replacement can call the code it wraps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Patch = tuple[str, Any, str, Any]


class PatchSet:
    def __init__(self, patches: Callable[[], list[Patch]], forget: Callable[[], None] | None = None) -> None:
        """``forget``: run after the last user's uninstall (caches that belong to it)."""
        self._patches = patches
        self._forget = forget
        self._lock = threading.Lock()
        self._users = 0
        self.originals: dict[str, Any] = {}

    def install(self, before: Callable[[], None] | None = None) -> None:
        """Apply the patches (``before`` first) unless an earlier user already did."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            if before is not None:
                before()
            for key, owner, attribute, replacement in self._patches():
                # vars(): the attribute as stored (a staticmethod stays one; it is callable).
                self.originals[key] = vars(owner)[attribute]
                setattr(owner, attribute, replacement)

    def uninstall(self, after: Callable[[], None] | None = None) -> None:
        """Restore the originals (then ``after``) when the last user is done."""
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            self._users = 0
            for key, owner, attribute, _ in self._patches():
                setattr(owner, attribute, self.originals[key])
            if after is not None:
                after()
            if self._forget is not None:
                self._forget()


__all__ = ["Patch", "PatchSet"]
