"""The guard around the local runtime's fast paths: each engages only over the library
files it was written for, says once when it does not, and ``ROUTINES_LOCAL_FAST`` turns
them off; the seams the runtime cannot do without refuse a moto they do not fit."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.local import LocalAWS, fastpaths, run_routine
from functions.local.fastpaths import guard
from functions.local.fastpaths.guard import FastPath, Seam, SeamError, module_fingerprint, source_file
from functions.local.fastpaths.written_for import WRITTEN_FOR

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "functions" / "local" / "fastpaths"
LIBRARIES = ("moto", "botocore", "boto3", "jsonpath_ng")
HELLO = json.loads((ROOT / "examples" / "hello.json").read_text())


def all_fast_paths() -> list[FastPath]:
    found, broken = fastpaths.fast_paths()
    assert not broken, broken
    return found


@pytest.fixture
def fresh_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No local AWS up, nothing told yet: each test decides and tells anew."""
    assert not any(path.installed for path in all_fast_paths()), "a local AWS is up"
    monkeypatch.setattr(fastpaths, "_told", False)
    guard._fingerprint.cache_clear()
    yield
    guard._fingerprint.cache_clear()


def test_on_the_locked_versions_every_fast_path_engages(fresh_guard: None) -> None:
    """The lock and the fingerprints move together: a lock change that brings a library
    file no fast path was checked against fails here, not on a user's machine."""
    states = {s.name: s for s in fastpaths.states()}
    assert {path.name for path in all_fast_paths()} == set(states)
    assert [s.why for s in states.values() if not s.engaged] == []


def _third_party_imports(path: Path) -> set[str]:
    """Modules of moto, botocore, boto3 and jsonpath-ng a source file imports from."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in LIBRARIES:
                for alias in node.names:  # a submodule imported by name counts as its own
                    child = f"{node.module}.{alias.name}"
                    found.add(child if source_file(child) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in LIBRARIES}
    return found


def test_each_fast_path_names_every_library_module_it_imports() -> None:
    all_fast_paths()  # imports them
    for module in fastpaths.MODULES:
        loaded = sys.modules[f"functions.local.fastpaths.{module}"]
        covered = set(loaded.FAST_PATH.written_for)
        # boto3: its default session only (direct-dynamodb registers a handler there)
        imported = _third_party_imports(FOLDER / f"{module}.py") - {"boto3"}
        assert imported <= covered, f"{module}: {sorted(imported - covered)} not in written_for"


def test_every_file_a_fast_path_relies_on_has_a_checked_fingerprint() -> None:
    for path in all_fast_paths():
        for module in path.written_for:
            assert module in WRITTEN_FOR, f"{path.name}: {module} has no fingerprint"
            assert module_fingerprint(module) in WRITTEN_FOR[module], f"{path.name}: {module} changed"


def _changed_copy(module: str, tmp_path: Path) -> str:
    """A copy of a library file with one line added: what a new release looks like."""
    original = source_file(module)
    assert original is not None
    copy = tmp_path / Path(original).name
    shutil.copy(original, copy)
    with copy.open("a") as out:
        out.write("\n# a new release\n")
    return str(copy)


def test_a_changed_library_file_keeps_its_fast_paths_off_and_says_so_once(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto.dynamodb.models import dynamo_type

    monkeypatch.setattr(dynamo_type, "__file__", _changed_copy(dynamo_type.__name__, tmp_path))
    with LocalAWS() as aws:
        off = {s.name for s in fastpaths.states() if not s.engaged}
        assert off == {"moto-layer"}
        assert not fastpaths.engaged("moto-layer") and fastpaths.engaged("interpreter-steps")
        assert dynamo_type.DynamoType.size.__module__ == dynamo_type.__name__  # moto's own
        assert run_routine(aws, HELLO).status == "SUCCEEDED"
    with LocalAWS():
        pass
    told = capsys.readouterr().err.splitlines()
    notices = [line for line in told if line.startswith("routines:")]
    assert len(notices) == 1, told
    assert "moto-layer" in notices[0] and f"moto {_version('moto')}" in notices[0]


def test_someone_else_s_patch_is_left_alone(fresh_guard: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    def query(*args: Any, **kwargs: Any) -> Any:  # another library's replacement
        raise AssertionError("not called")

    monkeypatch.setattr(Table, "query", query)
    from functions.local.fastpaths import moto_paths

    assert moto_paths.FAST_PATH.changed() == ["table_query is replaced by other code"]


def test_routines_local_fast_0_runs_on_the_libraries_own_code(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = vars(AmazonStateLanguageParser)["parse"]
    monkeypatch.setenv(fastpaths.ENV, "0")
    with LocalAWS() as aws:
        assert not any(s.engaged for s in fastpaths.states())
        assert vars(AmazonStateLanguageParser)["parse"] is parse
        result = run_routine(aws, HELLO)  # followed through the API: no interpreter hook
        assert result.status == "SUCCEEDED"
        assert result.nodes["greet"]["output"]["message"] == "Hello, Ada!"
    assert "routines:" not in capsys.readouterr().err  # asked for: nothing to tell


def test_one_fast_path_can_be_turned_off_by_name(fresh_guard: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fastpaths.ENV, "-direct-dynamodb, -imports")
    with LocalAWS():
        off = {s.name for s in fastpaths.states() if not s.engaged}
    assert off == {"direct-dynamodb", "imports"}


def test_a_seam_refuses_a_moto_that_calls_it_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self: Any, function_name: str, body: Any) -> Any:  # a moto with another signature
        return None

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    with pytest.raises(SeamError, match=r"LambdaSimpleBackend\.invoke takes \(self, function_name, body\)"):
        LocalAWS().__enter__()
    assert not any(path.installed for path in all_fast_paths())  # the failed start undid itself

    class Owner:
        def method(self, a: int) -> None: ...

    seam = Seam("s", "test", lambda: [("m", Owner, "method", lambda self, b: None)], {"m": ("self", "b")})
    with pytest.raises(SeamError, match="cannot run on moto"):
        seam.install()
    assert not seam.installed


def test_the_cli_runs_on_plain_moto_when_moto_changed(tmp_path: Path) -> None:
    """``routines run examples/hello.json`` with a moto file none of the fast paths was
    written for: the run succeeds, and stderr says so in one line."""
    changed = _changed_copy("moto.core.serialize", tmp_path)
    script = (
        "import sys\n"
        "import moto.core.serialize as changed\n"
        f"changed.__file__ = {changed!r}\n"
        "from functions.cli.main import script\n"
        "sys.argv = ['routines', 'run', 'examples/hello.json', '--json']\n"
        "script()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "SUCCEEDED"
    notices = [line for line in done.stderr.splitlines() if line.startswith("routines:")]
    assert len(notices) == 1 and "moto-layer" in notices[0], done.stderr
    assert "not written for moto" in notices[0]


def test_the_status_command_names_what_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ROUTINES_LOCAL_FAST": "-imports"}
    done = subprocess.run(
        [sys.executable, "-m", "functions.local.fastpaths"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**_environ(), **env},
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout
    assert "imports                OFF  ROUTINES_LOCAL_FAST turns it off" in done.stdout
    assert "moto-layer             on" in done.stdout


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def _version(library: str) -> str:
    from importlib.metadata import version

    return version(library)


def test_the_registry_names_each_module_s_fast_paths() -> None:
    all_fast_paths()
    for module, name in fastpaths.MODULES.items():
        loaded = sys.modules[f"functions.local.fastpaths.{module}"]
        assert loaded.FAST_PATH.name == name


def test_a_fast_path_whose_imports_fail_stays_off_by_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A release without an internal a fast path imports: the import fails, the rest engage."""
    monkeypatch.setitem(sys.modules, "functions.local.fastpaths.moto_paths", None)  # import fails
    found, broken = fastpaths.fast_paths()
    assert list(broken) == ["moto-layer"] and broken["moto-layer"].startswith("cannot import")
    assert "moto-layer" not in {path.name for path in found} and len(found) == len(fastpaths.MODULES) - 1
