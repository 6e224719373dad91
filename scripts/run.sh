#!/usr/bin/env bash
# The main job: the whole mining stack in one process on its embedded default — the template
# provider on a regtest node (Bitcoin Core's validation engine), the pool, and CPU miners —
# mining real blocks and printing what happens. Extra arguments go to `sv2 demo`
# (e.g. --blocks 0 to run until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q -p sv2-roles --bin sv2
exec target/release/sv2 demo "$@"
