"""The ``code`` node (plugins/builtin/code/__init__.py, plugins/builtin/code/handler.py and its child,
code_runner.py): save-time checks of the Python, and runs through the local runtime —
values, input, ctx, errors with the user's line, the time and memory limits, the child's
clean environment."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from functions.local.runner import ExecutionResult
from plugins.builtin.code import ALLOWED_MODULES
from statemachines.validator import validate_document
from tests.conftest import link, routine

PATH = "nodes[c].parameters.code"


def code_node(code: str, node_id: str = "c", **parameters: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {k: parameters.pop(k) for k in ("onError", "retry") if k in parameters}
    return {"id": node_id, "plugin": "code", "parameters": {"code": code, **parameters}, **extra}


def errors(code: str, **parameters: Any) -> list[tuple[str, str, str]]:
    report = validate_document(routine(code_node(code, **parameters)))
    return [(p.code, p.path, p.message) for p in report.errors]


# -- save time ----------------------------------------------------------------------


def test_code_that_compiles_and_imports_allowed_modules_is_valid() -> None:
    imports = "\n".join(f"import {m}" for m in sorted(ALLOWED_MODULES))
    assert errors(f"{imports}\nfrom collections import Counter\nimport collections.abc\nreturn 1") == []
    assert errors("def main(input, ctx):\n    return input") == []
    assert errors("return input", input="{{ trigger.order }}", timeoutSeconds=300, memoryMB=3008) == []


def test_a_syntax_error_is_reported_at_the_code_with_its_line_and_column() -> None:
    [(code, path, message)] = errors("x = 1\ny = (2 +\nreturn y")
    assert (code, path) == ("invalid_parameter", PATH)
    assert message.startswith("SyntaxError: ") and "(line 2, column 5)" in message
    [(_, _, message)] = errors("x = 1\n  y = 2")
    assert "unexpected indent" in message and "line 2" in message
    # What only the compiler sees: 'return' at module level beside a main.
    [(_, path, message)] = errors("def main(input, ctx):\n    return 1\nreturn 2")
    assert path == PATH and "'return' outside function (line 3" in message


@pytest.mark.parametrize(
    ("source", "wanted"),
    [
        ("import os", "import of 'os' is not allowed (line 1)"),
        ("import json\nfrom os import path", "import of 'os' is not allowed (line 2)"),
        ("import os.path", "import of 'os.path' is not allowed"),
        ("import json, subprocess", "import of 'subprocess' is not allowed"),
        ("x = __import__('os')", "'__import__' is not allowed (line 1)"),
        ("import builtins", "import of 'builtins' is not allowed"),
        ("x = importlib.import_module('os')", "'importlib' is not allowed"),
        ("import importlib", "import of 'importlib' is not allowed"),
        ("x = json.__import__('os')", "'__import__' is not allowed"),
        ("from . import x", "relative imports are not allowed"),
        (
            "def main(input, ctx):\n    import socket\n    return 1",
            "import of 'socket' is not allowed (line 2)",
        ),
    ],
)
def test_imports_outside_the_allow_list_are_refused(source: str, wanted: str) -> None:
    found = errors(source)
    assert found and all((c, p) == ("invalid_parameter", PATH) for c, p, _ in found)
    assert any(wanted in m for _, _, m in found), found


def test_braces_in_code_and_secrets_in_input_are_refused_with_a_reason() -> None:
    found = errors("return '{{ x }}'")
    assert any(p == PATH and "never a template" in m for _, p, m in found), found
    found = errors("return input", input={"key": "{{ secrets.api }}"})
    assert [(c, p) for c, p, m in found if "cannot read secrets" in m] == [
        ("invalid_parameter", "nodes[c].parameters.input")
    ]


def test_limits_are_bounded() -> None:
    assert errors("return 1", timeoutSeconds=301)
    assert errors("return 1", timeoutSeconds=0)
    assert errors("return 1", memoryMB=64)
    assert errors("return 1", memoryMB=4096)


# -- run time -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def run(aws: LocalAWS, *nodes: dict[str, Any], trigger: Any = None, **extra: Any) -> ExecutionResult:
    return run_routine(aws, routine(*nodes, **extra), trigger)


def failure(result: ExecutionResult, node: str = "c") -> dict[str, Any]:
    error = result.nodes[node]["error"]
    assert isinstance(error, dict)
    return error


def test_it_returns_a_value_computed_from_its_input_and_ctx(aws: LocalAWS) -> None:
    source = (
        "import math\n"
        "return {\n"
        "    'total': math.fsum(i['price'] for i in input['items']),\n"
        "    'execution': ctx.execution['id'],\n"
        "    'routine': ctx.execution['routineId'],\n"
        "    'started': ctx['execution']['startedAt'],\n"
        "    'node': ctx.node,\n"
        "    'attempt': ctx.attempt,\n"
        "}\n"
    )
    result = run(
        aws, code_node(source, input="{{ trigger }}"), trigger={"items": [{"price": 1.5}, {"price": 2}]}
    )
    assert result.status == "SUCCEEDED", result
    out = result.nodes["c"]["output"]
    assert out["total"] == 3.5
    assert out["execution"] == result.execution_arn and out["routine"] == "local"
    assert out["started"].startswith("20") and out["node"] == "c" and out["attempt"] == 1


def test_module_form_main_and_helpers_and_any_json_value(aws: LocalAWS) -> None:
    source = (
        "def double(x):\n    return x * 2\n\ndef main(input):\n    return [double(input), None, True, 'é']\n"
    )
    result = run(aws, code_node(source, input=21))
    assert result.nodes["c"]["output"] == [42, None, True, "é"]
    result = run(aws, code_node("return input"))  # no input: None
    assert result.status == "SUCCEEDED" and result.nodes["c"]["output"] is None


def test_the_output_feeds_the_next_node(aws: LocalAWS) -> None:
    result = run(
        aws,
        code_node("return {'n': 7}"),
        {"id": "t", "plugin": "transform", "parameters": {"fields": {"m": "{{ nodes.c.n }}"}}},
        connections=[link("c", "t")],
    )
    assert result.nodes["t"]["output"] == {"m": 7}


def test_an_exception_is_a_typed_error_with_the_users_line_routed_by_on_error(aws: LocalAWS) -> None:
    source = "a = 1\nb = input\nreturn a / b\n"
    result = run(
        aws,
        code_node(source, input=0, onError="route"),
        {"id": "ok", "plugin": "transform", "parameters": {"fields": {"v": "{{ nodes.c }}"}}},
        {
            "id": "handle",
            "plugin": "transform",
            "parameters": {
                "fields": {"type": "{{ nodes.c.error.type }}", "message": "{{ nodes.c.error.message }}"}
            },
        },
        connections=[link("c", "ok"), link("c", "handle", "error")],
    )
    assert result.status == "SUCCEEDED"
    assert result.nodes["c"]["status"] == "failed" and result.nodes["ok"]["status"] == "skipped"
    assert result.nodes["handle"]["output"] == {
        "type": "Routines.CodeError",
        "message": "ZeroDivisionError: division by zero (line 3)",
    }


def test_the_line_is_the_users_in_both_forms_and_no_frame_of_ours_shows(aws: LocalAWS) -> None:
    source = "def helper(d):\n    return d['missing']\n\ndef main(input, ctx):\n    return helper({})\n"
    error = failure(run(aws, code_node(source)))
    assert error["message"] == "KeyError: 'missing' (line 2)"
    error = failure(run(aws, code_node("\n\n\nraise ValueError('bad order')")))
    assert error == {"type": "Routines.CodeError", "message": "ValueError: bad order (line 4)"}
    assert "Traceback" not in json.dumps(error) and "code_runner" not in json.dumps(error)


def test_a_failing_node_without_on_error_fails_the_execution(aws: LocalAWS) -> None:
    result = run(aws, code_node("return [][1]"))
    assert result.status == "FAILED" and result.error == "Routines.CodeError"
    assert "IndexError: list index out of range (line 1)" in (result.cause or "")


def test_a_return_value_that_is_not_json_is_a_typed_error(aws: LocalAWS) -> None:
    error = failure(run(aws, code_node("return {1, 2}", onError="continue")))
    assert error["type"] == "Routines.CodeError"
    assert error["message"] == "main returned a set, which is not JSON: return a list instead"
    error = failure(run(aws, code_node("return {'a': [float('nan')]}", onError="continue")))
    assert "nan at a[0]" in error["message"]
    error = failure(
        run(aws, code_node("import datetime\nreturn {'at': datetime.date(2024, 1, 1)}", onError="continue"))
    )
    assert "a date at at, which is not JSON: convert it with .isoformat()" in error["message"]


def test_an_endless_loop_ends_at_the_timeout_and_the_next_run_still_works(aws: LocalAWS) -> None:
    started = time.monotonic()
    result = run(aws, code_node("while True:\n    pass", timeoutSeconds=1, onError="continue"))
    elapsed = time.monotonic() - started
    error = failure(result)
    assert error["type"] == "Routines.CodeTimeout"
    assert "limit of 1 s (timeoutSeconds)" in error["message"]
    assert 1.0 <= elapsed < 4.0, elapsed
    again = run(aws, code_node("return 'still here'"))
    assert again.status == "SUCCEEDED" and again.nodes["c"]["output"] == "still here"


def test_a_huge_allocation_ends_in_a_memory_error_not_the_runtime(aws: LocalAWS) -> None:
    result = run(
        aws, code_node("data = bytearray(10 * 1024 ** 3)\nreturn len(data)", memoryMB=128, onError="continue")
    )
    error = failure(result)
    assert error["type"] == "Routines.CodeMemory"
    assert "128 MB (memoryMB)" in error["message"]
    grows = "chunks = []\nwhile True:\n    chunks.append('x' * 1_000_000)"
    assert (
        failure(run(aws, code_node(grows, memoryMB=128, onError="continue")))["type"] == "Routines.CodeMemory"
    )
    assert (
        run(aws, code_node("return len(bytearray(50 * 1024 ** 2))", memoryMB=128)).nodes["c"]["output"]
        == 50 * 1024**2
    )


def test_the_child_has_a_clean_environment_and_a_private_directory(aws: LocalAWS) -> None:
    source = (
        "import json\n"
        "env = dict(v.split('=', 1) for v in open('/proc/self/environ').read().split('\\0') if v)\n"
        "with open('scratch.txt', 'w') as f:\n"
        "    f.write('x')\n"
        "return {'env': env}\n"
    )
    result = run(aws, code_node(source))
    assert result.status == "SUCCEEDED", result.cause
    env = result.nodes["c"]["output"]["env"]
    assert not [k for k in env if k.startswith("AWS_") or "TOKEN" in k or "SECRET" in k], env
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "TZ", "PYTHONTZPATH"}
    assert env["TZ"] == "UTC" and env["HOME"] == env["TMPDIR"]
    assert not os.path.exists(env["TMPDIR"]), "the child's directory outlived it"


def test_zoneinfo_works_in_the_child_and_prints_do_not_reach_the_output(aws: LocalAWS) -> None:
    source = (
        "from datetime import datetime\n"
        "from zoneinfo import ZoneInfo\n"
        "print('this goes to the log')\n"
        "return datetime(2024, 7, 1, 12, tzinfo=ZoneInfo('Europe/Paris')).isoformat()\n"
    )
    result = run(aws, code_node(source))
    assert result.nodes["c"]["output"] == "2024-07-01T12:00:00+02:00"


def test_imports_through_exec_are_refused_at_run_time_too(aws: LocalAWS) -> None:
    error = failure(run(aws, code_node("x = 1\nexec('import os')", onError="continue")))
    assert error["message"] == "ImportError: import of 'os' is not allowed in a code node (line 2)"
