#!/usr/bin/env bash
# Sets up the Python venv (idempotent) and runs one comparison workload.
# Usage: benches/compare/run.sh WORKLOAD [compare.py options...]
#   e.g. benches/compare/run.sh weather --rows 100000000 --runs 3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup-venv.sh" >&2
exec "$here/.venv/bin/python" "$here/compare.py" "$@"
