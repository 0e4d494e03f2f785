#!/usr/bin/env bash
# The canary: will the newest releases of our dependencies break the local runtime?
#
#   scripts/check_latest.sh            newest releases pyproject.toml's ranges allow
#   scripts/check_latest.sh --lowest   lowest releases they allow (proves the lower bounds)
#
# Installs into a throwaway venv (never .venv, never uv.lock), prints the versions that
# differ from the lock and each local fast path's state on them, then runs the local-runtime
# and conformance tests twice: with the fast paths as their guards decide, and with all of
# them off (ROUTINES_LOCAL_FAST=0). Last, the fast paths' own tests, which compare each fast
# path with the library code it replaces: where those pass on a release the guards keep a
# fast path off for, its fingerprints can be added (functions/local/fastpaths/written_for.py)
# after reading the change. Exits non-zero when the product tests fail either way.
set -uo pipefail
cd "$(dirname "$0")/.."
resolution=highest
[ "${1:-}" = "--lowest" ] && resolution=lowest-direct

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q uv==0.13.9
export VIRTUAL_ENV="$work/venv"
"$work/venv/bin/uv" pip install -q --resolution "$resolution" -e '.[dev]' || exit 2
py="$work/venv/bin/python"

echo "== versions that differ from uv.lock ($resolution)"
"$work/venv/bin/uv" pip freeze -q --exclude-editable 2>/dev/null | sort > "$work/now.txt"
.venv/bin/uv export -q --frozen --all-extras --no-hashes --no-emit-project --no-header --no-annotate 2>/dev/null \
  | sed 's/ *;.*//' | grep '==' | sort > "$work/lock.txt" || true
comm -13 "$work/lock.txt" "$work/now.txt" | grep -v -E '^(pip|setuptools|wheel)==' | sed 's/^/  /'

echo "== local fast paths on these releases"
"$py" -m functions.local.fastpaths

product=(tests/functions/test_local_runtime.py tests/functions/test_conformance.py
         tests/functions/test_routine_tests.py tests/statemachines/test_golden_runs.py examples)
fast=(tests/functions/test_local_inline_runs.py tests/functions/test_local_moto_paths.py
      tests/functions/test_local_interp_paths.py tests/functions/test_local_direct_dynamodb.py
      tests/functions/test_local_speed_paths.py)

echo "== product tests, fast paths as their guards decide"
"$py" -m pytest -p no:cacheprovider -n 2 "${product[@]}" 2>&1 | grep -E "^(FAILED|ERROR)| passed| failed| error" | tail -20
guarded=${PIPESTATUS[0]}
echo "== product tests, ROUTINES_LOCAL_FAST=0"
ROUTINES_LOCAL_FAST=0 "$py" -m pytest -p no:cacheprovider -n 2 "${product[@]}" 2>&1 | grep -E "^(FAILED|ERROR)| passed| failed| error" | tail -20
plain=${PIPESTATUS[0]}
echo "== the fast paths' own tests (each against the library code it replaces)"
"$py" -m pytest -p no:cacheprovider -n 2 "${fast[@]}" 2>&1 | grep -E "^(FAILED|ERROR)| passed| failed| error" | tail -20

echo "== summary: guarded exit $guarded, plain exit $plain"
[ "$guarded" -eq 0 ] && [ "$plain" -eq 0 ]
