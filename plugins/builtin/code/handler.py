"""The ``code`` node's Lambda: compiles and checks the code here, then runs it in a child
process (plugins/builtin/code/runner.py) and returns what ``main`` returned.

Isolation is the child process, its limits and this function's role, nothing else (Python
cannot be sandboxed in-process; docs/plugins.md, "The code node: what user code can and
cannot reach"):

* ``timeoutSeconds`` is wall-clock time: at the deadline the child's whole process group is
  killed (``Routines.CodeTimeout``); its CPU time is capped as well, as a backstop.
* ``memoryMB`` caps the child's address space: an allocation past it raises ``MemoryError``
  in the code, reported as ``Routines.CodeMemory``.
* The child gets a clean environment (no AWS credentials, no variables of this function),
  a private working and temporary directory (removed afterwards), input and output as
  JSON over pipes, both read with bounds.
* On AWS this process turns non-dumpable first, so that the child, running as the same
  user, cannot read this process's environment (its AWS credentials) from ``/proc``.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import importlib.util
import json
import marshal
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.builtin.code import (
    ALLOWED_MODULES,
    MEMORY_DEFAULT,
    MEMORY_MAX,
    MEMORY_MIN,
    PLUGIN,
    TIMEOUT_DEFAULT,
    TIMEOUT_MAX,
    CodeProblem,
    compile_code,
)
from plugins.runtime.errors import PluginError, UserError
from plugins.runtime.handler import RunContext, lambda_handler
from plugins.runtime.observability import logger
from plugins.sdk.errors import CODE_ERROR, CODE_MEMORY, CODE_TIMEOUT

RUNNER = Path(__file__).with_name("runner.py")
MAX_OUTPUT_BYTES = 32 * 1024 * 1024  # the answer's JSON; the runtime offloads a large output to S3
MAX_LOG_BYTES = 16 * 1024  # what the code prints, kept for the function's log
CHUNK = 64 * 1024
LAMBDA_MARGIN_S = 2.0  # the node ends before its Lambda does, to report the timeout itself
PR_SET_DUMPABLE = 4


class CodeError(PluginError):
    """The code raised, returned something that is not JSON, or does not compile."""

    retryable = False


class CodeTimeout(PluginError):
    """The code ran past its ``timeoutSeconds`` and was killed."""


class CodeMemory(PluginError):
    """The code ran out of its ``memoryMB``."""


for _cls, _name in ((CodeError, CODE_ERROR), (CodeTimeout, CODE_TIMEOUT), (CodeMemory, CODE_MEMORY)):
    _cls.__name__ = _name  # the name Step Functions matches, like the runtime's errors


def _tz_path() -> str | None:
    """The IANA database of the tzdata package (a dependency): the child runs without
    site-packages, and Lambda images have no /usr/share/zoneinfo."""
    spec = importlib.util.find_spec("tzdata")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "zoneinfo"
    return str(path) if path.is_dir() else None


TZ_PATH = _tz_path()
_protected = threading.Event()


def _protect_this_process() -> None:
    """On Lambda, make this process non-dumpable: its ``/proc/<pid>/environ`` (with the
    function's AWS credentials) and memory become unreadable to the child, which runs as
    the same user. Locally the code runs as the developer anyway; nothing changes there."""
    if (
        _protected.is_set()
        or "AWS_LAMBDA_RUNTIME_API" not in os.environ
        or not sys.platform.startswith("linux")
    ):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed: the code node will not run")
    _protected.set()


def child_environment(workdir: str) -> dict[str, str]:
    """All the child gets: no AWS credentials, no variables of this function."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "TZ": "UTC",
    }
    if TZ_PATH:
        env["PYTHONTZPATH"] = TZ_PATH  # read by zoneinfo itself, not by the interpreter (-I)
    return env


@dataclass(slots=True)
class Finished:
    """How the child ended: its answer (bytes on the result channel), what it printed, and
    whether it was stopped at the deadline or for an answer over the bound."""

    answer: bytes
    printed: bytes
    returncode: int | None
    timed_out: bool = False
    overflow: bool = False
    seconds: float = 0.0


def run_child(request: bytes, timeout: float, memory_mb: int) -> Finished:
    """Run the runner on ``request`` with the limits; never leaves a process behind."""
    started = time.monotonic()
    deadline = started + timeout
    workdir = tempfile.mkdtemp(prefix="routines-code-")
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(RUNNER), str(memory_mb), str(math.ceil(timeout) + 1)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=child_environment(workdir),
            start_new_session=True,  # its own process group: killed whole
            close_fds=True,
        )
        try:
            finished = _exchange(process, request, deadline)
        finally:
            _kill_group(process)
        finished.seconds = time.monotonic() - started
        return finished
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _exchange(process: subprocess.Popen[bytes], request: bytes, deadline: float) -> Finished:
    assert process.stdin and process.stdout and process.stderr
    answer, printed = bytearray(), bytearray()
    pending = memoryview(request)
    with selectors.DefaultSelector() as selector:
        os.set_blocking(process.stdin.fileno(), False)
        selector.register(process.stdin, selectors.EVENT_WRITE)
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Finished(bytes(answer), bytes(printed), None, timed_out=True)
            for key, _ in selector.select(remaining):
                stream = key.fileobj
                if stream is process.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending[:CHUNK]) :]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # the child is gone: its end says why
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stream)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, CHUNK)
                if not chunk:
                    selector.unregister(stream)
                    continue
                if stream is process.stdout:
                    answer += chunk
                    if len(answer) > MAX_OUTPUT_BYTES:
                        return Finished(b"", bytes(printed), None, overflow=True)
                else:
                    printed += chunk[: max(0, MAX_LOG_BYTES - len(printed))]
    try:
        returncode = process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # it closed its pipes and went on running
        return Finished(bytes(answer), bytes(printed), None, timed_out=True)
    return Finished(bytes(answer), bytes(printed), returncode)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (anything it started, if it could), then reap."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _whole(parameters: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = parameters.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise UserError(f"'{name}' must be a number from {low} to {high}, not {value!r}")
    return math.ceil(value)


def execute(parameters: dict[str, Any], run: RunContext) -> Any:
    code = parameters.get("code")
    if not isinstance(code, str):
        raise UserError("'code' must be Python source text")
    try:
        compiled = compile_code(code)
    except CodeProblem as problem:
        raise CodeError(str(problem)) from None
    timeout = _whole(parameters, "timeoutSeconds", TIMEOUT_DEFAULT, 1, TIMEOUT_MAX)
    memory_mb = _whole(parameters, "memoryMB", MEMORY_DEFAULT, MEMORY_MIN, MEMORY_MAX)
    wall = min(float(timeout), max(1.0, run.remaining_ms() / 1000 - LAMBDA_MARGIN_S))
    invocation = run.invocation
    request = {
        "code": base64.b64encode(marshal.dumps(compiled)).decode(),
        "input": parameters.get("input"),
        "ctx": {
            "execution": invocation.execution.model_dump(by_alias=True),
            "node": invocation.node,
            "attempt": invocation.attempt + 1,
        },
        "allowed": sorted(ALLOWED_MODULES),
    }
    _protect_this_process()
    finished = run_child(json.dumps(request).encode(), wall, memory_mb)
    if finished.printed:
        logger.info("code printed", extra={"printed": finished.printed.decode(errors="replace")})
    return outcome(finished, wall, memory_mb)


def outcome(finished: Finished, timeout: float, memory_mb: int) -> Any:
    """The output, or the typed error the child's end stands for."""
    if finished.timed_out:
        raise CodeTimeout(
            f"the code ran longer than its limit of {timeout:g} s (timeoutSeconds) and was stopped"
        )
    if finished.overflow:
        raise CodeError(f"the code's output is over {MAX_OUTPUT_BYTES // (1024 * 1024)} MB")
    try:
        answer = json.loads(finished.answer) if finished.answer else None
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("ok") is True:
        return answer.get("output")
    if isinstance(answer, dict) and answer.get("kind") == "memory":
        raise CodeMemory(f"the code ran out of memory: its limit is {memory_mb} MB (memoryMB)")
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        raise CodeError(answer["message"])
    printed = finished.printed.decode(errors="replace")
    if finished.returncode == -signal.SIGXCPU:
        raise CodeTimeout(f"the code used more CPU time than its limit of {timeout:g} s (timeoutSeconds)")
    if "MemoryError" in printed:
        raise CodeMemory(f"the code ran out of memory: its limit is {memory_mb} MB (memoryMB)")
    tail = printed.strip().splitlines()[-1:] or [""]
    why = f": {tail[0][:500]}" if tail[0] else ""
    raise CodeError(f"the code's process ended without an answer (exit status {finished.returncode}){why}")


handler = lambda_handler(PLUGIN, execute)
