#!/usr/bin/env bash
# A bounded fuzz run of every cargo-fuzz target in rust-core/fuzz (about 25 s each, two at a
# time), failing if any target finds a crash, a panic, an allocation over its bound or an
# input that takes over 10 s. Works with only a stable toolchain: cargo-fuzz is installed from
# crates.io when missing, and the targets are built with `--sanitizer none`, which needs no
# nightly flags (the targets bound allocations themselves; see rust-core/fuzz/README.md).
#
# Environment: FUZZ_SECONDS (per target, default 25), FUZZ_JOBS (targets at once, default 2),
# FUZZ_TARGETS (space-separated subset).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

secs="${FUZZ_SECONDS:-25}"
jobs="${FUZZ_JOBS:-2}"
targets=(${FUZZ_TARGETS:-frame_decoder message_dispatch decode_reencode noise_responder noise_initiator noise_transport sv1_lines})

# Fuzz builds get their own target dir so they never invalidate the main build.
export CARGO_TARGET_DIR="$root/target/fuzz"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
logs="$CARGO_TARGET_DIR/smoke-logs"
mkdir -p "$logs"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it from crates.io"
  cargo install cargo-fuzz --locked
fi
command -v c++ >/dev/null 2>&1 || { echo "libFuzzer needs a C++ compiler (run scripts/setup.sh)" >&2; exit 1; }

fuzz() { cargo fuzz "$1" --fuzz-dir rust-core/fuzz --sanitizer none "${@:2}"; }

start=$SECONDS
echo "building ${#targets[@]} fuzz targets ($(cargo fuzz --version), $(rustc --version))"
if ! fuzz build >"$logs/build.log" 2>&1; then
  # A cargo-fuzz that passes nightly-only flags even without a sanitizer: let stable accept them.
  if rustc --version | grep -q nightly; then
    cat "$logs/build.log" >&2
    exit 1
  fi
  echo "build failed on a stable toolchain; retrying with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
  fuzz build >"$logs/build.log" 2>&1 || { cat "$logs/build.log" >&2; exit 1; }
fi
echo "built in $((SECONDS - start)) s"

# One target: its log, then a one-line verdict in $logs/<target>.verdict.
run_one() {
  local t="$1" log="$logs/$1.log" rc=0
  fuzz run "$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "ok    $t: ${execs:-?} inputs in ${secs} s" >"$logs/$t.verdict"
  else
    echo "FAIL  $t (exit $rc)" >"$logs/$t.verdict"
  fi
}

fuzz_start=$SECONDS
running=0
for t in "${targets[@]}"; do
  rm -f "$logs/$t.verdict"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

failed=0
for t in "${targets[@]}"; do
  verdict=$(cat "$logs/$t.verdict" 2>/dev/null || echo "FAIL  $t (no verdict)")
  echo "$verdict"
  case "$verdict" in
    ok*) ;;
    *)
      failed=1
      echo "---- from $logs/$t.log ----"
      # The finding (panic message, allocation report or libFuzzer's verdict) and what follows.
      awk '/panicked at|^sv2-fuzz:|== ERROR: libFuzzer|^Error:/ { p = 1 } p && n < 40 { print; n++ }' "$logs/$t.log"
      grep -q -E 'panicked at|^sv2-fuzz:|== ERROR: libFuzzer|^Error:' "$logs/$t.log" || tail -n 40 "$logs/$t.log"
      echo "---- crash inputs are kept in rust-core/fuzz/artifacts/$t/ ----"
      ;;
  esac
done
echo "fuzzed for $((SECONDS - fuzz_start)) s; $((SECONDS - start)) s in all"
exit "$failed"
