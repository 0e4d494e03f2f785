"""The packages form layers: each imports only the ones below it (issue #24).

    contract  <-  plugins  <-  statemachines  <-  functions
                     ^
                   infra (the CDK app: contract and plugins)

The test reads every import statement of the product's modules (also those inside
functions and under TYPE_CHECKING: a lazy import is still a dependency) and fails on an
edge the layers do not allow, which also rules out every cycle between packages. Lambda
bundles copy the packages of ``infra.runtime.PACKAGES``: ``infra`` is not among them, and
no bundled module imports it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from infra.runtime import PACKAGES

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "contract": set(),
    "plugins": {"contract"},
    "statemachines": {"contract", "plugins"},
    "functions": {"contract", "plugins", "statemachines"},
    "infra": {"contract", "plugins"},
}


def imports(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Imported product package → the modules of ``package`` that import it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top in ALLOWED and top != package:
                    found[top].add(str(path.relative_to(root)))
    return found


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = {
        f"{package} -> {target}": sorted(modules)
        for package in ALLOWED
        for target, modules in imports(package).items()
        if target not in ALLOWED[package]
    }
    assert wrong == {}


def test_the_allowed_layers_have_no_cycle() -> None:
    # The rule above is only as good as ALLOWED: a cycle there would allow one in the code.
    order: list[str] = []
    seen: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, f"cycle: {' -> '.join((*path, package))}"
        if package not in seen:
            for below in sorted(ALLOWED[package]):
                visit(below, (*path, package))
            seen.add(package)
            order.append(package)

    for package in ALLOWED:
        visit(package, ())
    assert order.index("contract") == 0


def test_lambda_bundles_hold_no_cdk_code() -> None:
    assert "infra" not in PACKAGES
    assert set(PACKAGES) == set(ALLOWED) - {"infra"}
    for package in PACKAGES:
        assert "infra" not in imports(package), package


def test_the_test_sees_an_import_that_breaks_the_layers(tmp_path: Path) -> None:
    # The walk finds imports inside functions too, where a lazy import would hide a cycle.
    fake = tmp_path / "contract"
    fake.mkdir()
    (fake / "lazy.py").write_text("def f():\n    from statemachines.compiler import compile_routine\n")
    assert imports("contract", tmp_path) == {"statemachines": {"contract/lazy.py"}}
