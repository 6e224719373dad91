#!/usr/bin/env bash
# The main job: a Noise NX handshake between an in-process client and server, then every
# Stratum V2 message type sent across, with what went over the wire.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release -q -p sv2-roles --bin sv2 -- wire-demo "$@"
