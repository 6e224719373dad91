#!/usr/bin/env bash
# SV1 against SV2 in `sv2 demo` (deployments 0, 3 and 5): builds the release binary, installs
# matplotlib into a virtual environment under target/, and writes docs/SV1_VS_SV2.md and
# docs/img/sv1_vs_sv2_*.png. Arguments go to scripts/compare_sv1_sv2.py (e.g. --blocks 30).
set -euo pipefail
cd "$(dirname "$0")/.."

nice -n 19 cargo build --release -p sv2-roles --bin sv2

venv=target/compare-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import matplotlib' 2>/dev/null || "$venv/bin/pip" install --quiet matplotlib

command="scripts/compare-sv1-sv2.sh $*"
"$venv/bin/python" scripts/compare_sv1_sv2.py --command "${command% }" "$@"
