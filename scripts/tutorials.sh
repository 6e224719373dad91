#!/usr/bin/env bash
# Runs every tutorial in docs/tutorials/ end to end: the ```sh blocks of each page, in order,
# as one bash script (set -euo pipefail) in a new empty $WORK, with the `sv2` binary and the
# installed C SDK at hand. A tutorial fails when any of its commands does, or after 15 minutes.
#   bash scripts/tutorials.sh                 # all of them
#   bash scripts/tutorials.sh c-firmware      # those whose file name contains a word
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cargo build -q -p sv2-roles --bin sv2
# Where cargo put it: CARGO_TARGET_DIR when set, as cargo itself does.
export PATH="${CARGO_TARGET_DIR:-$root/target}/debug:$PATH"
export SV2_ROOT="$root"
# The cargo build scripts/test-c.sh made, for the tutorials that build the SDK with CMake.
export SV2_CARGO_TARGET_DIR="$root/target/cmake"

# The code of a page: its ```sh blocks, nothing else (```ini, ```c, ```text are to read).
extract() {
  awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on' "$1"
}

status=0
for page in docs/tutorials/*.md; do
  name=$(basename "$page" .md)
  [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]] && continue
  work=$(mktemp -d "${TMPDIR:-/tmp}/sv2-tutorial-$name.XXXXXX")
  script="$work/tutorial.sh"
  {
    echo 'set -euo pipefail'
    # Background processes a page starts end with it, even when a step fails.
    echo 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT'
    extract "$page"
  } > "$script"
  printf '\n==> tutorial %s\n' "$name"
  start=$(date +%s)
  if (cd "$work" && WORK="$work" timeout 900 bash "$script"); then
    echo "tutorial $name: ok in $(( $(date +%s) - start )) s"
    rm -rf "$work"
  else
    echo "tutorial $name FAILED; its files are in $work:"
    for log in "$work"/*.log; do [ -e "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
    status=1
  fi
done
exit $status
