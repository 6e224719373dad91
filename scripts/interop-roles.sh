#!/usr/bin/env bash
# Interop with the reference implementation's published role binaries on loopback: installs
# pool_sv2 and translator_sv2 (the versions tried, pinned) into target/ref-bins and runs
# roles/tests/pool_interop.rs (our template provider and pool) and roles/tests/farm_interop.rs
# (our proxy and translator) against them. Not part of test.sh: building the two binaries
# takes over 20 minutes on 2 cores; the test skips with a message when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root=$(pwd)/target/ref-bins
if ! command -v capnp >/dev/null 2>&1; then
  # pool_sv2 compiles Bitcoin Core's IPC (Cap'n Proto) schema.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq capnproto libcapnp-dev >/dev/null
fi
for bin in pool_sv2@0.7.0 translator_sv2@0.6.0; do
  [ -x "$root/bin/${bin%@*}" ] || cargo install --locked --quiet --root "$root" "$bin"
done
SV2_REF_BINS="$root/bin" cargo test --release -p sv2-roles --test pool_interop --test farm_interop -- --nocapture
