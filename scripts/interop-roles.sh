#!/usr/bin/env bash
# Interop with the reference implementation's published role binaries on loopback: installs
# pool_sv2, translator_sv2 and jd_client_sv2 (the versions tried, pinned; the three share
# stratum-apps 0.8.0) into target/ref-bins and runs roles/tests/pool_interop.rs (our template
# provider and pool), roles/tests/farm_interop.rs (our proxy and translator) and
# roles/tests/jd_interop.rs (our pool's Job Declaration Server) against them. Not part of
# test.sh: building the binaries takes over 20 minutes each on 2 cores; each test skips with a
# message when its binary is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root=$(pwd)/target/ref-bins
if ! command -v capnp >/dev/null 2>&1; then
  # pool_sv2 and jd_client_sv2 compile Bitcoin Core's IPC (Cap'n Proto) schema.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq capnproto libcapnp-dev >/dev/null
fi
for bin in pool_sv2@0.7.0 translator_sv2@0.6.0 jd_client_sv2@0.6.0; do
  [ -x "$root/bin/${bin%@*}" ] || cargo install --locked --quiet --root "$root" "$bin"
done
SV2_REF_BINS="$root/bin" cargo test --release -p sv2-roles --test pool_interop --test farm_interop --test jd_interop -- --nocapture
