#!/usr/bin/env bash
# Line coverage of the libraries by their tests: rust-core (crate sv2) and the C ABI (crate
# sv2-ffi) by their Rust tests, then all three with the C++ API (crate sv2-cxx: its Rust bridge
# and C++ layer) by the C and C++ test suites (examples-c/test_*.c, examples-cpp/test_*.cpp)
# linked against an instrumented libsv2. rustc's and clang's source-based coverage, merged and
# read with llvm-profdata/llvm-cov from Debian's llvm-N and clang-N, N being the LLVM major of
# this rustc. Prints a table per crate and fails below the floors.
#   bash scripts/coverage.sh              # measure, check the floors
#   SV2_COVERAGE_LCOV=out.info bash ...   # also keep the per-program line data (lcov)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Floors, in percent of lines: a little under the figures of docs/COVERAGE.md, so that a
# change that drops tests fails while run-to-run noise does not.
declare -A FLOOR=([sv2]=89 [sv2-ffi]=96 [sv2-cxx]=93)

# llvm-N and clang-N of rustc's LLVM major: one profile format for the Rust and the C++.
llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if ! command -v "llvm-profdata-$llvm" >/dev/null || ! command -v "clang++-$llvm" >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "llvm-$llvm" "clang-$llvm" >/dev/null
fi

out="$root/target/coverage"
prof="$out/profraw"
rm -rf "$prof" && mkdir -p "$prof"
export CARGO_TARGET_DIR="$out" RUSTFLAGS="-C instrument-coverage" LLVM_PROFILE_FILE="$prof/%m-%p.profraw"
# The C++ API's layer (cpp/src/sv2.cpp, built by the cc crate) and the C++ tests: clang's
# source-based coverage, which llvm-cov reads alongside rustc's.
cxxflags=(-fprofile-instr-generate -fcoverage-mapping)
export CXX="clang++-$llvm" CXXFLAGS="${cxxflags[*]}"

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

# The C and C++ test suites on the instrumented archive (with the C++ API).
cargo build -q -p sv2-ffi --lib
# The probe's output goes to a file of ours: rustc replaces its -o path with a new file, which
# as root would turn /dev/null into a regular file for the whole machine.
native=$(rustc --crate-type staticlib --crate-name sv2_probe --print native-static-libs \
  -o "$out/libsv2_probe.a" - </dev/null 2>&1 | sed -n 's/.*native-static-libs: //p')
rm -f "$out/libsv2_probe.a"
for src in examples-c/test_*.c examples-cpp/test_*.cpp; do
  t=$(basename "$src")
  case "$src" in
    *.c) compile=(cc -std=c11 -O1) ;;
    *) compile=("clang++-$llvm" -std=c++20 -O1 "${cxxflags[@]}" -Icpp/include) ;;
  esac
  # -u __llvm_profile_runtime: rustc asks for the profiler runtime only when it links an
  # executable itself; without it the programs run uncounted and write no profile.
  # --gc-sections: the archive's coverage records name generic functions it never instantiated.
  # shellcheck disable=SC2086 # the native libraries are meant to split
  "${compile[@]}" -Iinclude -Iexamples-c -Iexamples-cpp "$src" -o "$out/$t" "$out/debug/libsv2_ffi.a" \
     -lstdc++ -lpthread -Wl,-u,__llvm_profile_runtime -Wl,--gc-sections $native
  LLVM_PROFILE_FILE="$prof/c-$t-%p.profraw" "$out/$t" > /dev/null
  objects+=("$out/$t")
done
[ -n "$(ls "$prof"/c-*.profraw 2>/dev/null)" ] || { echo "the C tests wrote no profile" >&2; exit 1; }

# One profile for all runs; then each program's lines read on their own and united here. One
# llvm-cov call over all programs would keep one program's copy of each exported C function
# (the test archive and the Rust tests' rlib are separate builds, so their records differ) and
# count only that copy's runs.
"llvm-profdata-$llvm" merge -sparse "$prof"/*.profraw -o "$out/merged.profdata"
rm -rf "$out/lcov" && mkdir -p "$out/lcov"
for i in "${!objects[@]}"; do
  "llvm-cov-$llvm" export -format=lcov -instr-profile "$out/merged.profdata" \
    -ignore-filename-regex='/(\.cargo|rustc|target|examples-c|examples-cpp)/|/tests/|/benches/|^/usr/' "${objects[$i]}" > "$out/lcov/$i.info"
done
[ -n "${SV2_COVERAGE_LCOV:-}" ] && cat "$out"/lcov/*.info > "$SV2_COVERAGE_LCOV"

floors=""
for crate in "${!FLOOR[@]}"; do floors+="$crate=${FLOOR[$crate]} "; done
# shellcheck disable=SC2086 # the floors are meant to split
python3 - "$out/lcov" "$root" $floors <<'PY'
import os, sys
lcov, root, floors = sys.argv[1], sys.argv[2], dict(a.split("=") for a in sys.argv[3:])
crates = {"rust-core/src/": "sv2", "ffi/src/": "sv2-ffi", "cpp/": "sv2-cxx"}
# (file, line) -> covered anywhere; (file, function's first line) -> called anywhere.
lines, functions = {}, {}
for name in os.listdir(lcov):
    rel, fn_line = None, {}
    for rec in open(os.path.join(lcov, name)):
        key, _, val = rec.strip().partition(":")
        if key == "SF":
            rel, fn_line = val.removeprefix(root + "/"), {}
        elif key == "DA":
            line, count = val.split(",")[:2]
            lines[(rel, int(line))] = lines.get((rel, int(line)), False) or int(count) > 0
        elif key == "FN":
            line, fname = val.split(",", 1)
            fn_line[fname] = int(line)
        elif key == "FNDA":
            count, fname = val.split(",", 1)
            k = (rel, fn_line[fname])
            functions[k] = functions.get(k, False) or int(count) > 0
totals = {}
for table, col in ((lines, 0), (functions, 2)):
    for (rel, _), hit in table.items():
        crate = next((c for p, c in crates.items() if rel.startswith(p)), None)
        if crate:
            t = totals.setdefault(crate, [0, 0, 0, 0])
            t[col] += hit; t[col + 1] += 1
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
