"""The ``code`` node: a Python function run on a value, in a child process with a time and a
memory limit (run by plugins/builtin/code/handler.py; docs/plugins.md, "The code node").

The code is either a module that defines ``main(input, ctx)``, or — when it defines no
top-level ``main`` — the body of that function. Both are checked at save time: the code
must compile, and it may import only the modules of :data:`ALLOWED_MODULES`. The same
checks run again before each run (a document may reach the runtime unvalidated), which
compiles the code here, in the plugin's process: the child only executes it.

Pure standard library, like every declaration: validating a routine imports no AWS SDK.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import lru_cache
from types import CodeType
from typing import Any

from contract.errors import RoutinesError
from contract.expressions import ExpressionSyntaxError, iter_strings, parse_template
from plugins.sdk import ERROR, OUT, Parameter, ParameterType, PluginDefinition

# Modules user code may import (and their submodules: collections.abc, ...).
ALLOWED_MODULES = frozenset(
    {
        "base64",
        "collections",
        "datetime",
        "decimal",
        "hashlib",
        "itertools",
        "json",
        "math",
        "re",
        "statistics",
        "uuid",
        "zoneinfo",
    }
)
# Names that reach the import machinery without an import statement.
IMPORT_NAMES = frozenset({"__import__", "importlib"})
FILENAME = "<code>"  # the file name of user code in tracebacks: how its frames are found
MAX_CODE_CHARS = 32_768
TIMEOUT_DEFAULT, TIMEOUT_MAX = 10, 300
MEMORY_DEFAULT, MEMORY_MIN, MEMORY_MAX = 256, 128, 3008

# The error names a code node fails with, besides the runtime's (plugins/runtime/errors.py).

EXAMPLE = """total = sum(item["price"] * item["qty"] for item in input["items"])
return {"total": round(total, 2), "node": ctx.node}
"""


class CodeProblem(RoutinesError, ValueError):
    """Code that cannot run: it does not compile, or it imports what it may not."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def syntax_message(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}" if exc.lineno else "unknown line"
    if exc.offset:
        where += f", column {exc.offset}"
    return f"SyntaxError: {exc.msg} ({where})"


def _module_of(tree: ast.Module) -> ast.Module:
    """The module to run: the code itself when it defines ``main``, else the code as the
    body of ``def main(input, ctx)`` — built on the syntax tree, so every statement keeps
    the line number it has in the user's text."""
    if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "main" for n in tree.body):
        return tree
    wrapper = ast.parse("def main(input, ctx):\n    pass\n", FILENAME)
    function = wrapper.body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = tree.body or function.body
    return wrapper


def forbidden_imports(tree: ast.AST) -> list[str]:
    """A message per import outside :data:`ALLOWED_MODULES` (and per ``__import__`` or
    ``importlib``), with its line."""
    allowed = ", ".join(sorted(ALLOWED_MODULES))
    found: list[str] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append(f"relative imports are not allowed (line {node.lineno})")
                continue
            modules = [node.module or ""]
        elif isinstance(node, ast.Name) and node.id in IMPORT_NAMES:
            found.append(f"'{node.id}' is not allowed (line {node.lineno}): use an import statement")
        elif isinstance(node, ast.Attribute) and node.attr in IMPORT_NAMES:
            found.append(f"'{node.attr}' is not allowed (line {node.lineno}): use an import statement")
        for module in modules:
            if module.split(".", 1)[0] not in ALLOWED_MODULES:
                line = getattr(node, "lineno", 0)
                found.append(f"import of '{module}' is not allowed (line {line}); allowed: {allowed}")
    return found


@lru_cache(maxsize=64)
def compile_code(code: str) -> CodeType:
    """The code object to run; :class:`CodeProblem` when it cannot run."""
    try:
        tree = ast.parse(code, FILENAME)
    except SyntaxError as exc:
        raise CodeProblem([syntax_message(exc)]) from None
    problems = forbidden_imports(tree)
    if problems:
        raise CodeProblem(problems)
    try:
        # Also what only the compiler reports: 'return' outside function, misplaced
        # 'nonlocal', 'await' outside async function, ...
        return compile(_module_of(tree), FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes, for one
        raise CodeProblem([syntax_message(exc) if isinstance(exc, SyntaxError) else str(exc)]) from None


def _check_code(value: Any, path: str) -> list[tuple[str, str]]:
    try:
        compile_code(value)
    except CodeProblem as problem:
        return [(path, message) for message in problem.messages]
    return []


def _check(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    code = parameters.get("code")
    if isinstance(code, str) and "{{" in code:
        found.append(
            (
                "code",
                "code is Python, never a template, but '{{' in it reads as a routine expression: "
                "write it as '{' '{' (or pass values through 'input')",
            )
        )
    for _, text in iter_strings(parameters.get("input")):
        if "{{" not in text:
            continue
        try:
            template = parse_template(text)
        except ExpressionSyntaxError:
            continue  # the validator reports it
        if any(ref.root == "secrets" for e in template.expressions for ref in e.references):
            found.append(
                ("input", "a code node cannot read secrets: its function has no access to Secrets Manager")
            )
            break
    return found


PLUGIN = PluginDefinition(
    name="code",
    version=1,
    display_name="Code (Python)",
    description=(
        "Runs a Python function on a value and outputs what it returns. The code is the body "
        "of main(input, ctx), or a module that defines it; it may import only "
        + ", ".join(sorted(ALLOWED_MODULES))
        + "."
    ),
    category="data",
    parameters=(
        Parameter(
            "code",
            ParameterType.CODE,
            "Code",
            required=True,
            language="python",
            max_length=MAX_CODE_CHARS,
            check=_check_code,
            placeholder=EXAMPLE,
            description=(
                "Python: the body of main(input, ctx), or a module defining it. Return a JSON "
                "value (dict, list, str, int, float, bool or None). ctx has execution "
                "(id, routineId, startedAt), node and attempt."
            ),
        ),
        Parameter(
            "input",
            ParameterType.JSON,
            "Input",
            description=(
                "What main gets as 'input', usually an expression: {{ nodes.fetch.body }}, "
                "{{ trigger }}. Nodes have no implicit input: without it, input is None."
            ),
        ),
        Parameter(
            "timeoutSeconds",
            ParameterType.NUMBER,
            "Timeout (seconds)",
            default=TIMEOUT_DEFAULT,
            minimum=1,
            maximum=TIMEOUT_MAX,
            integer=True,
            description="The code is stopped after this long (error Routines.CodeTimeout)",
        ),
        Parameter(
            "memoryMB",
            ParameterType.NUMBER,
            "Memory (MB)",
            default=MEMORY_DEFAULT,
            minimum=MEMORY_MIN,
            maximum=MEMORY_MAX,
            integer=True,
            description="The code's memory (address space) limit (error Routines.CodeMemory)",
        ),
    ),
    outputs=(OUT, ERROR),
    check=_check,
    # A computation on its input, in a child process with a clean environment: as intended
    # (the allowed modules) it has no effect outside its output. The import allow-list is a
    # guard rail, not a wall (docs/plugins.md): code that climbs over it to reach the
    # network does so on its author's account — a repeat is then its author's to handle.
    repeat_safe=True,
    reads_execution=True,  # ctx.execution in user code: id, routineId, startedAt
)
