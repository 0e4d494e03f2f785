"""The child process of a ``code`` node: ``python -I -S code_runner.py MEMORY_MB CPU_SECONDS``.

Run as a script by plugins/builtin/code/handler.py, never imported by it: standard library only,
no site-packages (``-S``), no environment variables read by the interpreter (``-I``).

1. Limits first, before anything is read: address space (``RLIMIT_AS``: a large allocation
   raises ``MemoryError``), CPU seconds (a backstop to the parent's wall-clock kill), no
   core files, files of at most 64 MB, and no new processes or threads (``RLIMIT_NPROC``
   0: enforced for every user but root).
2. File descriptor 1 becomes the result channel and is replaced by fd 2: whatever the
   code prints (``print``, or a write to fd 1) lands in the parent's bounded log buffer.
3. stdin holds one JSON request: ``code`` (a marshalled code object the parent compiled
   and checked), ``input``, ``ctx``, ``allowed`` (top-level modules the code may import).
4. The code runs in a fresh namespace whose ``__import__`` refuses other modules (for
   ``exec('import os')``: the save-time check reads only the code's own text). This is no
   sandbox — Python has none — and docs/plugins.md says what the code can reach.
5. One JSON answer on the result channel: ``{"ok": true, "output": ...}``, or
   ``{"ok": false, "kind": "error"|"memory", "message": ...}``; exit status 0.
"""

from __future__ import annotations

import os
import resource
import sys

TYPE_CHECKING = False  # not typing's: importing typing would take a third of the start-up
if TYPE_CHECKING:
    from typing import Any

FILENAME = "<code>"  # plugins.builtin.code.FILENAME: how the code's frames are found
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_MESSAGE = 2_000
MB = 1024 * 1024


def limit(memory_mb: int, cpu_seconds: int) -> None:
    memory = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    try:  # noqa: SIM105 - contextlib would be one more import before the code runs
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError):  # pragma: no cover - a platform without it
        pass


class Context:
    """``ctx``: ``ctx.execution`` (``id``, ``routineId``, ``startedAt``), ``ctx.node``,
    ``ctx.attempt`` (1 for the first); ``ctx["node"]`` reads the same."""

    __slots__ = ("attempt", "execution", "node")

    def __init__(self, execution: dict[str, Any], node: str, attempt: int) -> None:
        self.execution, self.node, self.attempt = execution, node, attempt

    def __getitem__(self, key: str) -> Any:
        if key not in self.__slots__:
            raise KeyError(key)
        return getattr(self, key)

    def __repr__(self) -> str:
        return f"Context(execution={self.execution!r}, node={self.node!r}, attempt={self.attempt!r})"


def guarded_builtins(allowed: frozenset[str]) -> dict[str, Any]:
    import builtins

    real_import = builtins.__import__

    def __import__(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level or name.split(".", 1)[0] not in allowed:
            raise ImportError(f"import of '{name}' is not allowed in a code node")
        return real_import(name, globals, locals, fromlist, level)

    namespace = dict(vars(builtins))
    namespace["__import__"] = __import__
    return namespace


def user_line(exc: BaseException) -> int | None:
    """The line of the code's innermost frame in the traceback (none of ours)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "…"
    line = user_line(exc)
    return f"{text} (line {line})" if line is not None else text


HINTS = {
    "set": "return a list instead",
    "frozenset": "return a list instead",
    "bytes": "decode it, or base64-encode it",
    "bytearray": "decode it, or base64-encode it",
    "Decimal": "convert it with float() or str()",
    "datetime": "convert it with .isoformat()",
    "date": "convert it with .isoformat()",
    "time": "convert it with .isoformat()",
    "UUID": "convert it with str()",
}


def not_json(value: Any) -> str | None:
    """Why ``value`` is not a JSON value (with where in it), or None."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if item is None or isinstance(item, str | bool | int):
            continue
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return f"main returned {item!r}{path and ' at ' + path}, which JSON cannot hold"
            continue
        if isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
            continue
        if isinstance(item, dict):
            for key, v in item.items():
                if not isinstance(key, str):
                    where = f" at {path}" if path else ""
                    return f"main returned a dict with the key {key!r}{where}: keys must be strings"
                stack.append((f"{path}.{key}" if path else key, v))
            continue
        kind = type(item).__name__
        hint = HINTS.get(kind, "return dicts, lists, str, int, float, bool or None")
        return f"main returned a {kind}{path and ' at ' + path}, which is not JSON: {hint}"
    return None


def run(request: dict[str, Any]) -> dict[str, Any]:
    import base64
    import marshal

    code = marshal.loads(base64.b64decode(request["code"]))
    namespace: dict[str, Any] = {
        "__name__": "__routines_code__",
        "__builtins__": guarded_builtins(frozenset(request["allowed"])),
    }
    ctx = request["ctx"]
    context = Context(ctx["execution"], ctx["node"], ctx["attempt"])
    try:
        exec(code, namespace)
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "kind": "error", "message": "define main(input, ctx), or write its body"}
        function = getattr(main, "__code__", None)
        arguments: tuple[Any, ...] = (request["input"], context)
        if function is not None and not function.co_flags & 0x04:  # no *args: pass what it takes
            arguments = arguments[: function.co_argcount]
        output = main(*arguments)
        problem = not_json(output)
        if problem:
            return {"ok": False, "kind": "error", "message": problem}
        return {"ok": True, "output": output}
    except MemoryError:
        namespace.clear()  # what the code still holds (a global list) goes with it
        return {"ok": False, "kind": "memory", "message": "MemoryError"}
    except BaseException as exc:
        return {"ok": False, "kind": "error", "message": describe(exc)}


def main() -> None:
    limit(int(sys.argv[1]), int(sys.argv[2]))
    reserve = bytearray(2 * MB)  # freed on MemoryError, so the answer can still be written
    result_fd = os.dup(1)
    os.dup2(2, 1)  # prints (and writes to fd 1) go to the log, not into the result
    import json

    try:
        request = json.loads(sys.stdin.buffer.read())
        answer = run(request)
        del request
        text = json.dumps(answer, allow_nan=False, separators=(",", ":"))
    except MemoryError:
        del reserve
        text = '{"ok":false,"kind":"memory","message":"MemoryError"}'
    data = text.encode()
    sys.stdout.flush()
    sys.stderr.flush()
    view = memoryview(data)
    while view:
        view = view[os.write(result_fd, view) :]
    os.close(result_fd)
    os._exit(0)  # no interpreter teardown: nothing of the code's runs after its answer


if __name__ == "__main__":
    main()
