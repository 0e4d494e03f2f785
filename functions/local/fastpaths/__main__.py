"""``python -m functions.local.fastpaths [--fingerprints]``: each fast path's state here.

Without options: one line per fast path, engaged or off and why. With ``--fingerprints``:
the installed library files every fast path was written against, as lines for
:data:`~functions.local.fastpaths.written_for.WRITTEN_FOR` — for a maintainer who has
checked the fast paths against a new release (never to be pasted unchecked). Exits 1
when a fast path would stay off, so a script can tell.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

from functions.local.fastpaths import fast_paths, states, versions
from functions.local.fastpaths.guard import module_fingerprint
from functions.local.fastpaths.written_for import WRITTEN_FOR


def _release(module: str) -> str:
    library = module.split(".", 1)[0].replace("_", "-")
    try:
        return f"{library} {version(library)}"
    except PackageNotFoundError:
        return library


def fingerprint_lines() -> list[str]:
    found, _ = fast_paths()
    modules = sorted({module for path in found for module in path.written_for})
    lines = []
    for module in modules:
        seen = module_fingerprint(module)
        known = seen in WRITTEN_FOR.get(module, {})
        mark = "" if known else "  # new: check the fast paths that read it first"
        lines.append(f'    "{module}": {{"{seen}": "{_release(module)}"}},{mark}')
    return lines


def main(argv: list[str]) -> int:
    if "--fingerprints" in argv:
        print("\n".join(fingerprint_lines()))
        return 0
    print(f"fast paths on {versions()}:")
    off = 0
    for state in states():
        off += not state.engaged
        print(f"  {state.name:22} {'on ' if state.engaged else 'OFF'}  {state.why or state.summary}")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
