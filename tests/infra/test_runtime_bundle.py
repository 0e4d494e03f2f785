"""The Lambda code asset: built from uv.lock at the locked versions, for the Lambda's
Python and platform, and hashed so that a lock change alone redeploys.

The tests that export the real lock run the pinned uv (``python -m uv``): fast and offline.
The one that installs the bundle downloads its wheels from PyPI (pip's cache keeps them).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import runtime
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# What the Lambda runtime provides, and what only those pull in: never in the bundle.
SDK = {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"}
HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def _pins(requirements: str) -> dict[str, str]:
    """Name → pinned version of each requirement line (``name==version --hash=...``)."""
    pins: dict[str, str] = {}
    for line in requirements.splitlines():
        requirement = Requirement(line.split(" --", 1)[0])
        [specifier] = requirement.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _locked_versions(lock: str) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads(lock)["package"]:
        if "version" in package:
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def _edit_lock(lock: str, package: str, old: str, new: str) -> str:
    """``lock`` with ``old`` replaced by ``new`` in the [[package]] entry of ``package``."""
    entries = lock.split("\n[[package]]\n")
    [index] = [i for i, entry in enumerate(entries) if entry.startswith(f'name = "{package}"\n')]
    assert old in entries[index]
    entries[index] = entries[index].replace(old, new, 1)
    return "\n[[package]]\n".join(entries)


def _new_wheel(lock: str, package: str) -> str:
    """``lock`` with another hash for the (only) wheel of ``package``."""
    [entry] = [p for p in tomllib.loads(lock)["package"] if p["name"] == package]
    [wheel] = entry["wheels"]
    old = wheel["hash"]
    return _edit_lock(lock, package, old, old[:-1] + ("0" if old[-1] != "0" else "1"))


def _project_copy(tmp: Path, lock: str) -> Path:
    tmp.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    (tmp / "uv.lock").write_text(lock)
    return tmp


def _packages(tmp: Path) -> Path:
    """A project tree with one file in each bundled package, and a test file beside them."""
    for package in runtime.PACKAGES:
        (tmp / package).mkdir(parents=True)
        (tmp / package / "__init__.py").write_text(f"NAME = {package!r}\n")
    (tmp / "tests").mkdir()
    (tmp / "tests" / "test_x.py").write_text("")
    return tmp


def test_the_export_is_the_runtime_closure_at_the_locked_versions() -> None:
    requirements = runtime.lambda_requirements(runtime.export_requirements())
    pins = _pins(requirements)
    locked = _locked_versions((ROOT / "uv.lock").read_text())
    assert all(version in locked[name] for name, version in pins.items()), (pins, locked)
    assert all(" --hash=sha256:" in line for line in requirements.splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    assert direct - {"boto3"} <= set(pins)
    # powertools' extras (tracer, validation) and what they need; jmespath stays for powertools
    assert {"aws-xray-sdk", "wrapt", "fastjsonschema", "jmespath", "pydantic-core"} <= set(pins)
    assert not SDK & set(pins)
    assert not {"moto", "pytest", "aws-cdk-lib"} & set(pins)  # no extras, no dev


def test_markers_are_evaluated_for_the_lambda_not_for_the_host() -> None:
    exported = (
        "old-pin==1.0 ; python_full_version < '3.12' \\\n"
        f"    --hash={HASH_A}\n"
        "new-pin==2.0 ; python_full_version >= '3.12' \\\n"
        f"    --hash={HASH_A} \\\n"
        f"    --hash={HASH_B}\n"
        "arm-only==1.0 ; platform_machine == 'aarch64' and sys_platform == 'linux' \\\n"
        f"    --hash={HASH_A}\n"
        "x86-only==1.0 ; platform_machine == 'x86_64' \\\n"
        f"    --hash={HASH_A}\n"
        "windows-only==1.0 ; sys_platform == 'win32' \\\n"
        f"    --hash={HASH_A}\n"
        "not-pypy==1.0 ; implementation_name != 'PyPy' \\\n"
        f"    --hash={HASH_A}\n"
        "# a comment\n"
        "plain==3.0 \\\n"
        f"    --hash={HASH_B}\n"
        "    # via someone\n"
    )
    assert runtime.lambda_requirements(exported).splitlines() == [
        f"new-pin==2.0 --hash={HASH_A} --hash={HASH_B}",
        f"arm-only==1.0 --hash={HASH_A}",
        f"not-pypy==1.0 --hash={HASH_A}",
        f"plain==3.0 --hash={HASH_B}",
    ]


@pytest.mark.parametrize(
    "exported",
    ["-e .\n", "unhashed==1.0\n", f"--index-url https://example.invalid/simple\nx==1 --hash={HASH_A}\n"],
)
def test_an_unhashed_or_foreign_line_is_refused(exported: str) -> None:
    with pytest.raises(ValueError, match="hashed requirement"):
        runtime.lambda_requirements(exported)


def test_the_asset_hash_follows_the_requirements_and_only_them(tmp_path: Path) -> None:
    root = _packages(tmp_path)
    a = f"pydantic==2.14.4 --hash={HASH_A}\n"
    b = f"pydantic==2.14.4 --hash={HASH_B}\n"  # same version, another artifact
    c = f"pydantic==2.14.5 --hash={HASH_A}\n"
    assert runtime.asset_hash(a, root) == runtime.asset_hash(a, root)
    assert len({runtime.asset_hash(r, root) for r in (a, b, c, "")}) == 4


def test_the_asset_hash_follows_the_packages_files_but_not_bytecode_or_tests(tmp_path: Path) -> None:
    root = _packages(tmp_path)
    requirements = f"pydantic==2.14.4 --hash={HASH_A}\n"
    before = runtime.asset_hash(requirements, root)
    (root / "plugins" / "__pycache__").mkdir()
    (root / "plugins" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "tests" / "test_y.py").write_text("")
    assert runtime.asset_hash(requirements, root) == before
    (root / "functions" / "__init__.py").write_text("NAME = 'changed'\n")
    changed = runtime.asset_hash(requirements, root)
    assert changed != before
    (root / "functions" / "__init__.py").rename(root / "functions" / "renamed.py")
    assert runtime.asset_hash(requirements, root) not in {before, changed}


def test_a_lock_change_alone_changes_the_asset_hash(tmp_path: Path) -> None:
    lock = (ROOT / "uv.lock").read_text()
    tree = _packages(tmp_path / "tree")

    def asset(lock_text: str, name: str) -> str:
        exported = runtime.export_requirements(_project_copy(tmp_path / name, lock_text))
        return runtime.asset_hash(runtime.lambda_requirements(exported), tree)

    same = asset(lock, "same")
    assert same == runtime.asset_hash(runtime.lambda_requirements(runtime.export_requirements()), tree)
    # A runtime dependency's artifact changes in the lock (same version): a new asset.
    assert asset(_new_wheel(lock, "pydantic"), "runtime") != same
    # A dev-only package changes in the lock: the Lambdas are not redeployed for it.
    assert asset(_new_wheel(lock, "pytest"), "dev") == same


def test_the_deployed_asset_key_follows_the_exported_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    monkeypatch.setattr(runtime, "ROOT", _packages(tmp_path / "tree"))

    def key(exported: str, name: str) -> str:
        monkeypatch.setattr(runtime, "export_requirements", lambda project=ROOT: exported)
        # No stack is bundled (no pip); the custom hash is used all the same.
        app = cdk.App(context={"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path / name))
        stack = cdk.Stack(app, "Asset")
        code = runtime.code_asset(Settings(bundle=True))
        lambda_.Function(stack, "F", runtime=runtime.RUNTIME, handler="plugins.x.handler", code=code)
        template = app.synth().get_stack_by_name("Asset").template
        [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
        return str(function["Properties"]["Code"]["S3Key"])

    a, b = f"tzdata==2026.6 --hash={HASH_A}\n", f"tzdata==2026.6 --hash={HASH_B}\n"
    first, again, other = key(a, "a"), key(a, "a-again"), key(b, "b")
    assert first == again != other
    assert re.fullmatch(r"[0-9a-f]{64}\.zip", first)


def test_without_the_pinned_uv_synthesis_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "uv" else real(name))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(RuntimeError, match=r"pip install uv==0\.13\.9.*routines:bundle=false"):
        runtime.export_requirements()


def test_the_target_python_is_the_runtime_python() -> None:
    assert runtime.PYTHON_VERSION == "3.13"  # jsonatapy has no cp314 wheels: see infra/runtime.py
    assert runtime.RUNTIME.name == f"python{runtime.PYTHON_VERSION}"
    assert runtime.LAMBDA_MARKERS["python_version"] == runtime.PYTHON_VERSION
    assert runtime.LAMBDA_MARKERS["python_full_version"] == f"{runtime.PYTHON_VERSION}.0"
    options = list(zip(runtime.PIP_PLATFORM[::2], runtime.PIP_PLATFORM[1::2], strict=True))
    assert dict(options)["--python-version"] == runtime.PYTHON_VERSION
    assert dict(options)["--implementation"] == "cp"
    platforms = [value for option, value in options if option == "--platform"]
    assert all(p.endswith("_aarch64") for p in platforms) and runtime.ARCHITECTURE.name == "arm64"
    # Amazon Linux 2023's glibc 2.34 runs every manylinux tag from 2014 (2_17) to 2_34;
    # jsonatapy's aarch64 wheel is tagged manylinux_2_28 only.
    assert {"manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"} <= set(platforms)
    assert platforms[0] == "manylinux_2_34_aarch64" and "manylinux_2_35_aarch64" not in platforms


def test_jsonatapy_is_locked_with_a_wheel_for_the_lambda() -> None:
    [entry] = [
        p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"] if p["name"] == "jsonatapy"
    ]
    wheels = {Path(w["url"]).name for w in entry["wheels"]}
    tag = f"cp{runtime.PYTHON_VERSION.replace('.', '')}"
    assert f"jsonatapy-{entry['version']}-{tag}-{tag}-manylinux_2_28_aarch64.whl" in wheels, wheels
    assert "jsonatapy" in _pins(runtime.lambda_requirements(runtime.export_requirements()))


def test_the_bundle_is_the_lock_for_python_3_13_on_arm64(tmp_path: Path) -> None:
    requirements = runtime.lambda_requirements(runtime.export_requirements())
    out = tmp_path / "asset"
    out.mkdir()
    assert runtime._PipBundling(requirements).try_bundle(str(out)) is True
    stems = [d.name.removesuffix(".dist-info").rsplit("-", 1) for d in out.glob("*.dist-info")]
    installed = {canonicalize_name(name): version for name, version in stems}
    assert installed == _pins(requirements)
    assert not list(out.rglob("*.pyc")) and not list(out.rglob("__pycache__"))
    assert not SDK & set(installed) and not (out / "botocore").exists() and not (out / "boto3").exists()
    extensions = [p.name for p in out.rglob("*.so")]
    assert extensions and all(".cpython-313-aarch64-linux-gnu." in n for n in extensions), extensions
    assert any(n.startswith("_pydantic_core.") for n in extensions)
    # jsonatapy's Rust extension, from its cp313 manylinux_2_28 aarch64 wheel.
    [jsonatapy] = out.glob("jsonatapy-*.dist-info")
    assert "Tag: cp313-cp313-manylinux_2_28_aarch64" in (jsonatapy / "WHEEL").read_text().splitlines()
    compiled = [p.relative_to(out).as_posix() for p in (out / "jsonatapy").rglob("*.so")]
    assert compiled and all(".cpython-313-aarch64-linux-gnu.so" in n for n in compiled), compiled
    for package in runtime.PACKAGES:
        assert (out / package / "__init__.py").is_file()
