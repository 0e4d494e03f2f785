"""The product's package dependency graph at a commit, from its imports: how many imports
each package makes of each other one, and the pairs that import each other (a cycle).

    python3 scripts/package_graph.py [REV]   (default HEAD)

tests/test_layers.py enforces the layers on the working tree; this reads any commit (the
closing notes of issue #24 compare before and after)."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contract", "plugins", "statemachines", "functions", "infra")


def present(rev: str, path: str) -> bool:
    return (
        subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}:{path}"], capture_output=True
        ).returncode
        == 0
    )


def edges(rev: str) -> Counter[tuple[str, str]]:
    paths = [p for p in PACKAGES if present(rev, p)]
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, *paths], capture_output=True, check=True
    )
    found: Counter[tuple[str, str]] = Counter()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            source = tar.extractfile(member) if member.name.endswith(".py") else None
            if source is None:
                continue
            package = member.name.split("/")[0]
            for node in ast.walk(ast.parse(source.read())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".")[0]
                    if target in PACKAGES and target != package:
                        found[(package, target)] += 1
    return found


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    graph = edges(rev)
    for (source, target), count in sorted(graph.items()):
        print(f"{source} -> {target}: {count}")
    mutual = sorted({tuple(sorted(pair)) for pair in graph if (pair[1], pair[0]) in graph})
    print("import each other:", ", ".join(" <-> ".join(pair) for pair in mutual) or "none")


if __name__ == "__main__":
    main()
