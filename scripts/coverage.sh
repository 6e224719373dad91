#!/usr/bin/env bash
# Line coverage of the libraries by their tests: rust-core (crate sv2) and the C ABI (crate
# sv2-ffi) by their Rust tests, and the C ABI again by the C test suites (examples-c/test_abi.c,
# test_channels.c) linked against an instrumented libsv2. rustc's source-based coverage
# (-C instrument-coverage), merged and read with llvm-profdata/llvm-cov from Debian's llvm-N,
# N being the LLVM major of this rustc. Prints a table per crate and fails below the floors.
#   bash scripts/coverage.sh              # measure, check the floors
#   SV2_COVERAGE_JSON=out.json bash ...   # also keep llvm-cov's per-file summary
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Floors, in percent of lines: a little under the figures of docs/COVERAGE.md, so that a
# change that drops tests fails while run-to-run noise does not.
declare -A FLOOR=([sv2]=87 [sv2-ffi]=96)

llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if ! command -v "llvm-profdata-$llvm" >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "llvm-$llvm" >/dev/null
fi

out="$root/target/coverage"
prof="$out/profraw"
rm -rf "$prof" && mkdir -p "$prof"
export CARGO_TARGET_DIR="$out" RUSTFLAGS="-C instrument-coverage" LLVM_PROFILE_FILE="$prof/%m-%p.profraw"

# The Rust tests; the list of test executables for llvm-cov. sv2-ffi without the C++ API
# (feature cxx), whose C++ is not what this measures.
objects=()
run_tests() {
  cargo test -q "$@"
  while IFS= read -r exe; do objects+=("$exe"); done < <(
    cargo test -q --no-run --message-format=json "$@" |
      python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])')
}
run_tests -p sv2
run_tests -p sv2-ffi --no-default-features

# The C test suites on the instrumented archive.
cargo build -q -p sv2-ffi --lib --no-default-features
# The probe's output goes to a file of ours: rustc replaces its -o path with a new file, which
# as root would turn /dev/null into a regular file for the whole machine.
native=$(rustc --crate-type staticlib --crate-name sv2_probe --print native-static-libs \
  -o "$out/libsv2_probe.a" - </dev/null 2>&1 | sed -n 's/.*native-static-libs: //p')
rm -f "$out/libsv2_probe.a"
for t in test_abi test_channels; do
  # shellcheck disable=SC2086 # the native libraries are meant to split
  # --gc-sections: the archive's coverage records name generic functions it never instantiated.
  cc -std=c11 -O1 -Iinclude -Iexamples-c "examples-c/$t.c" -o "$out/$t" "$out/debug/libsv2_ffi.a" -lpthread \
     -Wl,--gc-sections $native
  "$out/$t" > /dev/null
  objects+=("$out/$t")
done

"llvm-profdata-$llvm" merge -sparse "$prof"/*.profraw -o "$out/merged.profdata"
args=()
for o in "${objects[@]}"; do args+=(-object "$o"); done
"llvm-cov-$llvm" export -summary-only -instr-profile "$out/merged.profdata" \
  -ignore-filename-regex='/(\.cargo|rustc|target)/|/tests/|/benches/' "${args[@]}" > "$out/summary.json"
[ -n "${SV2_COVERAGE_JSON:-}" ] && cp "$out/summary.json" "$SV2_COVERAGE_JSON"

floors=""
for crate in "${!FLOOR[@]}"; do floors+="$crate=${FLOOR[$crate]} "; done
python3 - "$out/summary.json" "$root" $floors <<'PY'
import json, sys
summary, root, floors = sys.argv[1], sys.argv[2], dict(a.split("=") for a in sys.argv[3:])
crates = {"rust-core/src/": "sv2", "ffi/src/": "sv2-ffi"}
totals = {}
for f in json.load(open(summary))["data"][0]["files"]:
    rel = f["filename"].removeprefix(root + "/")
    crate = next((c for p, c in crates.items() if rel.startswith(p)), None)
    if crate:
        t = totals.setdefault(crate, [0, 0, 0, 0])
        l, fn = f["summary"]["lines"], f["summary"]["functions"]
        t[0] += l["covered"]; t[1] += l["count"]; t[2] += fn["covered"]; t[3] += fn["count"]
failed = False
print("| crate | lines | line coverage | functions | floor |")
print("| --- | ---: | ---: | ---: | ---: |")
for crate, (lc, ln, fc, fnn) in sorted(totals.items()):
    pct = 100 * lc / ln
    floor = float(floors.get(crate, 0))
    print(f"| {crate} | {lc}/{ln} | {pct:.1f} % | {100 * fc / fnn:.1f} % | {floor:.0f} % |")
    failed |= pct < floor
if set(floors) - set(totals):
    print("no coverage data for", set(floors) - set(totals)); failed = True
sys.exit(1 if failed else 0)
PY
