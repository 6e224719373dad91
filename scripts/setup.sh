#!/usr/bin/env bash
# Installs what building and testing libsv2 needs on a fresh Debian machine with rustup.
# Safe to run again: it installs only what is missing.
set -euo pipefail

# command:package pairs. cmake and Boost headers build libbitcoinkernel (the embedded node);
# cmake, pkg-config and valgrind drive and check the C/C++ SDK; clang-format checks its style.
need_apt=()
for tool in cc:gcc c++:g++ make:make pkg-config:pkg-config cmake:cmake valgrind:valgrind clang-format:clang-format; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
[ -e /usr/include/boost/version.hpp ] || need_apt+=(libboost-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: this project needs a Rust toolchain (rustup, stable >= 1.85)" >&2
  exit 1
fi
rustup component add clippy rustfmt >/dev/null 2>&1 || true

# cbindgen makes include/sv2.h; pinned so the committed header check is stable.
CBINDGEN_VERSION=0.29.2
if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
  cargo install --locked --quiet cbindgen --version "$CBINDGEN_VERSION"
fi
