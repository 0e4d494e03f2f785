"""AWS's own Amazon States Language validator, from Python: tools/asl/validate.mjs runs the
VS Code toolkit's language service (npm ``amazon-states-language-service``, pinned in
tools/asl/package-lock.json) over a batch of definitions in one node process.

:func:`validate_definitions` installs the tool from its lock (``npm ci``) the first time it
is needed in a process, when ``tools/asl/node_modules`` is missing or older than the lock;
an exclusive file lock keeps pytest-xdist's workers from installing over each other. The
``asl_validator`` fixture (tests/conftest.py) provides it, and fails the test, never skips
it, when node or npm is missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "asl"
SCRIPT = TOOL / "validate.mjs"
LOCK = TOOL / "package-lock.json"
MODULES = TOOL / "node_modules"
# Written by every npm install into node_modules: its age is the installation's.
INSTALLED = MODULES / ".package-lock.json"
NODE_MAJOR = 20  # tools/asl/package.json "engines"
INSTALL_TIMEOUT = 600
VALIDATE_TIMEOUT = 600


class ValidatorUnavailable(RuntimeError):
    """node or npm is missing or too old, or the tool cannot be installed."""


@dataclass(frozen=True)
class Diagnostic:
    message: str
    severity: str  # "error", "warning", "information" or "hint"
    path: str  # JSON path of the node it points at, e.g. 'States.Fetch.Next'
    range: dict[str, Any]  # LSP range (0-based line/character) in the validated text
    source: str  # "amazon-states-language-service", or "routines-query-language"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path or '<root>'}: {self.message} [{self.source}]"


@dataclass(frozen=True)
class AslResult:
    ok: bool  # no diagnostic of severity "error"
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != "error"]

    def describe(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics) or "no diagnostics"


Validate = Callable[[Sequence[Mapping[str, Any] | str]], list[AslResult]]
"""The type of :func:`validate_definitions` (and of the ``asl_validator`` fixture)."""

_installed = False
_install_guard = threading.Lock()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ValidatorUnavailable(
            f"'{name}' is not on PATH: the ASL validator (tools/asl, AWS's "
            f"amazon-states-language-service) needs Node.js {NODE_MAJOR}+ with npm. Install Node.js "
            "(https://nodejs.org or the system's package manager) and run the tests again."
        )
    return found


def _check_node(node: str) -> None:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".", 1)[0])
    except ValueError:
        raise ValidatorUnavailable(f"{node} --version printed {version!r}, not a Node.js version") from None
    if major < NODE_MAJOR:
        raise ValidatorUnavailable(f"the ASL validator needs Node.js {NODE_MAJOR}+; {node} is {version}")


def _stale() -> bool:
    return not INSTALLED.is_file() or INSTALLED.stat().st_mtime < LOCK.stat().st_mtime


def ensure_installed() -> str:
    """The node executable, once tools/asl's dependencies are installed from the lock
    (``npm ci``, only when node_modules is missing or older than package-lock.json)."""
    global _installed
    node, npm = _tool("node"), _tool("npm")
    with _install_guard:
        if _installed:
            return node
        _check_node(node)
        if _stale():
            import fcntl  # POSIX; imported here so that merely importing this module works anywhere

            key = hashlib.sha256(str(TOOL).encode()).hexdigest()[:16]
            with open(Path(tempfile.gettempdir()) / f"routines-asl-npm-{key}.lock", "w") as guard:
                fcntl.flock(guard, fcntl.LOCK_EX)  # another xdist worker may be installing
                try:
                    if _stale():
                        _npm_ci(npm)
                finally:
                    fcntl.flock(guard, fcntl.LOCK_UN)
        _installed = True
    return node


def _npm_ci(npm: str) -> None:
    command = [npm, "ci", "--prefix", str(TOOL), "--ignore-scripts", "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=INSTALL_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise ValidatorUnavailable(f"{' '.join(command)} took over {INSTALL_TIMEOUT} s") from None
    if done.returncode != 0:
        raise ValidatorUnavailable(
            f"{' '.join(command)} failed (exit {done.returncode}); it installs tools/asl from "
            f"package-lock.json and needs the npm registry:\n{done.stderr.strip()}"
        )


def _result(line: str) -> AslResult:
    raw = json.loads(line)
    diagnostics = tuple(
        Diagnostic(
            message=str(d["message"]),
            severity=str(d["severity"]),
            path=str(d.get("path", "")),
            range=dict(d.get("range") or {}),
            source=str(d.get("source", "")),
        )
        for d in raw["diagnostics"]
    )
    return AslResult(ok=bool(raw["ok"]), diagnostics=diagnostics)


def validate_definitions(definitions: Sequence[Mapping[str, Any] | str]) -> list[AslResult]:
    """Validate ASL definitions (objects, or their JSON text as deployed) in one node
    process; one result per definition, in order. Only diagnostics of severity "error"
    make a result not ok; warnings are listed too."""
    if not definitions:
        return []
    node = ensure_installed()
    payload = json.dumps([d if isinstance(d, str) else dict(d) for d in definitions], ensure_ascii=False)
    done = subprocess.run(
        [node, str(SCRIPT)],
        cwd=TOOL,
        input=payload,
        capture_output=True,
        text=True,
        check=False,
        timeout=VALIDATE_TIMEOUT,
    )
    lines = done.stdout.splitlines()
    if done.returncode not in (0, 1) or len(lines) != len(definitions):
        raise RuntimeError(
            f"node {SCRIPT.relative_to(ROOT)} exited {done.returncode} with {len(lines)} results for "
            f"{len(definitions)} definitions:\n{done.stderr.strip()}"
        )
    return [_result(line) for line in lines]
