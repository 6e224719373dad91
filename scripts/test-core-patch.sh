#!/usr/bin/env bash
# Bitcoin Core with the Template Provider patch (bitcoin-core-patch/):
# - Core's source from the libbitcoinkernel-sys crate (crates.io, the one place CI can get it
#   from): Bitcoin Core 70d9ec7f3d452789d04dce81dc02db0b3b778bb5 without depends/, contrib/guix,
#   test/functional, wallet, GUI, ZMQ and fuzz sources;
# - the patches applied with `git am` (the depends/ and contrib/guix hunks excluded: the files
#   they change are not in the crate);
# - libsv2 built and installed from this tree with CMake, bitcoind built against it
#   (-DWITH_SV2=ON, find_package(sv2 CONFIG));
# - roles/tests/core_patch.rs against that bitcoind: handshake, templates, fee rise,
#   RequestTransactionData, SubmitSolution advancing the tip, restart; tip latency next to
#   the standalone `sv2 tp` over RPC; the pool's JDS taking bitcoind's verdicts over RPC;
# - `sv2 pool` and `sv2 miner` mining through the patched bitcoind -regtest: blocks accepted,
#   a fee bump gives a new template (and its transaction is mined), a restart keeps the
#   authority key and mining goes on.
# The reference pool_sv2 also mines through it when scripts/interop-roles.sh has installed it.
#   bash scripts/test-core-patch.sh       (work files in target/core-patch; JOBS=n for make)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${SV2_CORE_WORK:-$root/target/core-patch}
jobs=${JOBS:-$(nproc)}
crate=libbitcoinkernel-sys
crate_version=0.4.1
core_commit=70d9ec7f3d452789d04dce81dc02db0b3b778bb5
started=$(date +%s)

step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

bash scripts/setup.sh
need=()
[ -e /usr/include/event2/event.h ] || need+=(libevent-dev)
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$work"

step "Bitcoin Core $core_commit from the $crate $crate_version crate"
cargo fetch --locked -q
crate_dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$crate_version" | head -1)
[ -f "$crate_dir/bitcoin/src/init.cpp" ] || { echo "no Core source in $crate_dir" >&2; exit 1; }
grep -q 'CLIENT_VERSION_MAJOR 31' "$crate_dir/bitcoin/CMakeLists.txt"
# A fresh tree each run; timestamps are kept so that the build directory below only
# recompiles what the patches touch.
rm -rf "$work/bitcoin"
cp -a "$crate_dir/bitcoin" "$work/bitcoin"
git_id=(-c user.name=libsv2 -c user.email=libsv2@example.invalid -c commit.gpgsign=false)
(cd "$work/bitcoin" && git init -q && git add -A &&
  git "${git_id[@]}" commit -q -m "Bitcoin Core $core_commit (as in $crate $crate_version)")

step "git am bitcoin-core-patch/*.patch"
(cd "$work/bitcoin" && git "${git_id[@]}" am -q --committer-date-is-author-date \
  --exclude='depends/*' --exclude='contrib/guix/*' "$root"/bitcoin-core-patch/*.patch)
(cd "$work/bitcoin" && git log --oneline -n "$(ls "$root"/bitcoin-core-patch/*.patch | wc -l)")

step "libsv2 from this tree (CMake, installed for find_package)"
cmake -S . -B "$work/libsv2-build" -DCMAKE_BUILD_TYPE=Release -DSV2_BUILD_EXAMPLES=OFF \
      -DSV2_CARGO_TARGET_DIR="$root/target/cmake" -DCMAKE_INSTALL_PREFIX="$work/libsv2" >/dev/null
cmake --build "$work/libsv2-build" -j "$jobs"
cmake --install "$work/libsv2-build" >/dev/null

step "bitcoind -DWITH_SV2=ON"
core_build_start=$(date +%s)
cmake -S "$work/bitcoin" -B "$work/bitcoin-build" -DCMAKE_BUILD_TYPE=Release -DWITH_SV2=ON \
      -DCMAKE_PREFIX_PATH="$work/libsv2" -DBUILD_TESTS=OFF -DENABLE_WALLET=OFF -DENABLE_IPC=OFF \
      -DWITH_EMBEDDED_ASMAP=OFF -DBUILD_BITCOIN_BIN=OFF -DBUILD_CLI=OFF -DBUILD_TX=OFF -DBUILD_UTIL=OFF \
      -DINSTALL_MAN=OFF -DENABLE_EXTERNAL_SIGNER=OFF -DWITH_CCACHE=OFF >/dev/null
cmake --build "$work/bitcoin-build" -j "$jobs" --target bitcoind
bitcoind="$work/bitcoin-build/bin/bitcoind"
echo "bitcoind built in $(( $(date +%s) - core_build_start )) s"
"$bitcoind" -help | grep -A2 -E '^  -sv2(bind|feedelta|interval|port)?\b\b'

step "roles/tests/core_patch.rs against the patched bitcoind"
SV2_CORE_BITCOIND="$bitcoind" cargo test -q -p sv2-roles --test core_patch -- --test-threads=1

step "sv2 pool + sv2 miner through the patched bitcoind -regtest"
cargo build -q -p sv2-roles --bin sv2
sv2="$root/target/debug/sv2"
bash scripts/core-patch-mining.sh "$bitcoind" "$sv2" "$work/mining"

pool_sv2="$root/target/ref-bins/bin/pool_sv2"
if [ -x "$pool_sv2" ]; then
  step "the reference pool_sv2 + sv2 miner through the patched bitcoind"
  bash scripts/core-patch-mining.sh "$bitcoind" "$sv2" "$work/mining-ref" "$pool_sv2"
else
  echo "SKIPPED the reference pool_sv2: not installed (bash scripts/interop-roles.sh installs it)"
fi

step "done in $(( $(date +%s) - started )) s"
