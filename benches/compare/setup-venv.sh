#!/usr/bin/env bash
# Creates benches/compare/.venv with the pinned Python peers of the comparison
# (DuckDB, polars) and psutil for the runner's memory sampling.
# Idempotent: does nothing when the venv already has exactly these versions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

# Pinned: bump together and note it in README.md.
pins=(
    "duckdb==2.0.0"
    "polars==2.1.0"
    "psutil==7.2.2"
)

installed_ok() {
    [[ -x "$venv/bin/python" ]] || return 1
    "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if have != want:
        sys.exit(1)
PY
}

if installed_ok; then
    echo "setup-venv: $venv is up to date (${pins[*]})"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup-venv: creating $venv"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
installed_ok || { echo "setup-venv: install did not give ${pins[*]}" >&2; exit 1; }
echo "setup-venv: installed ${pins[*]} into $venv"
