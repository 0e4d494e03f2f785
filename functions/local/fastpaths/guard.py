"""A fast path: replacements of a library's internals, installed only over the code they
were written for.

Each :class:`FastPath` names the third-party modules it was written against — every module
it imports from or replaces something in (``tests/functions/test_local_fastpaths.py``
walks each fast path's imports to keep that list whole) — and each module's source file
must be one of the versions in :data:`~functions.local.fastpaths.written_for.WRITTEN_FOR`,
the files a person read when writing or re-checking the replacement. A whole file, not one
function: a replacement also relies on what the replaced code calls and on constants it
copies, and those live in the same files. Each replaced attribute must also still be the
library's own code (not someone else's patch), defined in the file that was checked.

Anything else — another release, a file edited by hand, a missing module — and the fast
path stays off: that part of the local runtime runs on the library's own code, with the
same results, more slowly. The check reads each file once (about 0.1 ms a file).

Installation is reference-counted: local AWS instances may nest (a test's inside a
session's); the first to start installs, the last to stop restores the originals.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from contract.errors import RoutinesError
from functions.local.fastpaths.written_for import WRITTEN_FOR

# (key, owner, attribute, replacement); the original stays reachable by key, so a
# replacement can call the code it stands in for.
Patch = tuple[str, Any, str, Any]
FINGERPRINT_DIGITS = 16


def fingerprint_of(path: str) -> str:
    """The fingerprint of a source file: the first hex digits of its bytes' SHA-256."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:FINGERPRINT_DIGITS]


@cache
def _fingerprint(path: str) -> str | None:
    try:
        return fingerprint_of(path)
    except OSError:
        return None


def source_file(module: str) -> str | None:
    """The source file of an importable module (None: not importable, or no source)."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        path = getattr(loaded, "__file__", None)
        return path if path and path.endswith(".py") else None
    # Not imported: found under its top-level package's folder, so that looking does not
    # import its parent packages (find_spec would: the ``imports`` fast path exists to
    # keep moto.batch's package from being imported).
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        base = Path(folder, *rest.split(".")) if rest else Path(folder)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return str(candidate)
    return None


def module_fingerprint(module: str) -> str | None:
    path = source_file(module)
    return _fingerprint(path) if path is not None else None


def _own_code(value: Any) -> Any:
    """The function behind a stored attribute (staticmethod, property, functools.wraps)."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    return inspect.unwrap(value) if callable(value) else value


class FastPath:
    """``patches`` replaces attributes of ``written_for``'s modules; ``on_install`` and
    ``on_uninstall`` do what is not an attribute swap (an event handler, a cache to
    clear once the last user is done)."""

    def __init__(
        self,
        name: str,
        summary: str,
        written_for: tuple[str, ...],
        patches: Callable[[], list[Patch]] = list,
        *,
        on_install: Callable[[], None] | None = None,
        on_uninstall: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.summary = summary
        self.written_for = written_for
        self._patches = patches
        self._on_install = on_install
        self._on_uninstall = on_uninstall
        self._lock = threading.Lock()
        self._users = 0
        self.originals: dict[str, Any] = {}

    def changed(self) -> list[str]:
        """What differs from the code this fast path was written for (empty: nothing)."""
        found: list[str] = []
        for module in self.written_for:
            seen = module_fingerprint(module)
            if seen is None:
                found.append(f"{module} not found")
            elif seen not in WRITTEN_FOR.get(module, {}):
                found.append(f"{module} differs")
        if found or self.installed:  # installed: the replacements in place are ours
            return found
        files = {source_file(module) for module in self.written_for}
        try:
            patches = self._patches()
        except Exception as error:  # e.g. an attribute the list names is gone
            return [f"{self.name} ({type(error).__name__}: {error})"]
        for key, owner, attribute, _ in patches:
            if not _library_code(vars(owner).get(attribute), files):
                found.append(f"{key} is replaced by other code")
        return found

    @property
    def installed(self) -> bool:
        return self._users > 0

    def install(self) -> None:
        """Apply the patches unless an earlier user already did (no check: the registry
        in :mod:`functions.local.fastpaths` decides whether a fast path engages)."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            for key, owner, attribute, replacement in self._patches():
                # vars(): the attribute as stored (a staticmethod stays one; it is callable).
                self.originals[key] = vars(owner)[attribute]
                setattr(owner, attribute, replacement)
            if self._on_install is not None:
                self._on_install()

    def uninstall(self) -> None:
        """Restore the originals when the last user is done."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users > 0:
                return
            for key, owner, attribute, _ in self._patches():
                setattr(owner, attribute, self.originals[key])
            if self._on_uninstall is not None:
                self._on_uninstall()


def _library_code(stored: Any, files: set[str | None]) -> bool:
    """Whether a stored attribute is code from one of the files the guard checked (not
    another library's patch of it): a function defined there, or a value that is not code."""
    if stored is None:
        return False
    code = getattr(_own_code(stored), "__code__", None)
    return code is None or code.co_filename in files


class SeamError(RoutinesError, RuntimeError):
    """moto no longer has, or no longer calls the same way, something the local runtime
    cannot run without."""


class Seam(FastPath):
    """What the local runtime needs moto to do as AWS does (run Lambdas in-process, fail a
    Map Run, …): not a speed-up that could stay off, so not tied to one release of moto's
    files. Each replacement stands in for a moto method that moto's own code calls, so it
    must still be called as it was written for: ``parameters`` names each replaced
    method's parameters (None: any, for a wrapper that passes them all through). Anything
    else and :meth:`install` refuses with the reason, rather than run differently."""

    def __init__(
        self,
        name: str,
        summary: str,
        patches: Callable[[], list[Patch]],
        parameters: dict[str, tuple[str, ...] | None],
        *,
        on_install: Callable[[], None] | None = None,
        on_uninstall: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name, summary, (), patches, on_install=on_install, on_uninstall=on_uninstall)
        self.parameters = parameters

    def changed(self) -> list[str]:
        return [
            problem
            for key, owner, attribute, _ in self._patches()
            if (problem := parameters_differ(owner, attribute, self.parameters[key]))
        ]

    def install(self) -> None:
        if not self.installed:
            refuse(self.changed())
        super().install()


def parameters_differ(owner: Any, attribute: str, expected: tuple[str, ...] | None) -> str:
    """Why ``owner.attribute`` is not a method taking ``expected`` (empty: it is)."""
    stored = vars(owner).get(attribute)
    where = f"{getattr(owner, '__module__', '')}.{getattr(owner, '__qualname__', owner)}.{attribute}"
    if stored is None or not callable(_own_code(stored)):
        return f"{where} is gone"
    if expected is None:
        return ""
    names = tuple(inspect.signature(_own_code(stored)).parameters)
    return f"{where} takes ({', '.join(names)}), not ({', '.join(expected)})" if names != expected else ""


def require(owner: Any, attribute: str, expected: tuple[str, ...] | None) -> None:
    """Raise :class:`SeamError` unless ``owner.attribute`` takes ``expected`` (see Seam)."""
    problem = parameters_differ(owner, attribute, expected)
    refuse([problem] if problem else [])


def refuse(problems: list[str]) -> None:
    """Raise :class:`SeamError` naming the problems, if any."""
    if problems:
        from functions.local.fastpaths import versions

        raise SeamError(
            f"the local runtime cannot run on {versions()}: {'; '.join(problems)}. "
            "Install the versions it was tested with: uv sync --locked (see README)"
        )


def files_differ(written_for: dict[str, dict[str, str]]) -> list[str]:
    """The modules of ``written_for`` whose source file is none of the versions read."""
    return [
        f"{module} differs"
        for module, known in written_for.items()
        if module_fingerprint(module) not in known
    ]


def install_unless(seam: Seam, problems: list[str], told: list[str], note: str) -> bool:
    """For a seam the local runtime can do without: install it unless ``problems``; then
    say once on stderr what running on moto's own code costs (``note``, in which
    ``{problems}`` stands for them)."""
    if not seam.installed and problems:
        if not told:
            told.append("told")
            print(f"routines: {note.format(problems='; '.join(problems))}", file=sys.stderr)
        return False
    seam.install()
    return True


__all__ = [
    "FastPath",
    "Patch",
    "Seam",
    "SeamError",
    "files_differ",
    "fingerprint_of",
    "install_unless",
    "module_fingerprint",
    "parameters_differ",
    "refuse",
    "require",
    "source_file",
]
