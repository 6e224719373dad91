#!/usr/bin/env bash
# The C and C++ SDK checks:
# - include/sv2.h is what cbindgen makes from ffi/src, documents every parameter, and
#   docs/C_API.md's function reference is generated from it;
# - CMake builds the Rust crates (dist profile), installs libsv2, and ctest runs every C and C++
#   example and the C and C++ test suites plainly and under valgrind (zero errors, zero leaks);
# - the same tests under AddressSanitizer + UndefinedBehaviorSanitizer, reusing that Rust build;
# - libsv2.so carries the SONAME of its ABI (libsv2.so.0.MINOR) and exports exactly the header's
#   sv2_ functions, and the C++ API's symbols (namespace sv2);
# - projects outside the tree, in C and in C++, build and run against the installed tree with
#   find_package(sv2) and with pkg-config, on libsv2.a and on libsv2.so;
# - libsv2.a built from a copy of the sources at another path has the same SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${SV2_C_WORK:-$root/build/c-sdk}
cargo_dir="$root/target/cmake"
jobs=$(nproc)
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

step() { printf '\n==> %s\n' "$*"; }

step "include/sv2.h matches cbindgen"
# From the sources alone: crate mode would run `cargo metadata --all-features` over the whole
# workspace, which fails for reasons that have nothing to do with the header.
cbindgen --quiet --config ffi/cbindgen.toml --verify --output include/sv2.h ffi/src/lib.rs

step "every C function documented parameter by parameter; docs/C_API.md generated from sv2.h"
python3 scripts/check-c-api.py

step "build, install, ctest (plain and under valgrind)"
cmake -S . -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DSV2_CARGO_TARGET_DIR="$cargo_dir" \
      -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$work/build" -j "$jobs"
cmake --install "$work/build" >/dev/null
(cd "$work/build" && ctest --output-on-failure -j "$jobs")

step "ctest under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B "$work/asan" -DCMAKE_BUILD_TYPE=Debug -DSV2_CARGO_TARGET_DIR="$cargo_dir" \
      -DSV2_SANITIZE=address,undefined >/dev/null
cmake --build "$work/asan" -j "$jobs"
(cd "$work/asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs")

step "installed shared library: versioned SONAME, exported symbols"
lib="$prefix/lib"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
so="$lib/libsv2.so.$version"
soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
echo "SONAME $soname"
# libsv2.so.0.MINOR while the major is 0, libsv2.so.MAJOR after (docs/ABI.md).
major=${version%%.*} minor=${version#*.} && minor=${minor%%.*}
if [ "$major" = 0 ]; then want="libsv2.so.0.$minor"; else want="libsv2.so.$major"; fi
[ "$soname" = "$want" ] && [ "$(readlink "$lib/$soname")" = "libsv2.so.$version" ]
# The C symbols exported are exactly the header's functions (nothing of the crates inside,
# such as secp256k1's rustsecp256k1_v0_*); C++ symbols, if any, belong to namespace sv2.
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
c_exported=$(echo "$exported" | grep -v '^_Z' || true)
declared=$(python3 scripts/check-c-api.py --list)
[ "$c_exported" = "$declared" ] || {
  echo "exported C symbols differ from the header's functions:"; diff <(echo "$declared") <(echo "$c_exported"); exit 1; }
# Matched mangled: c++filt gives up on the longest signatures (those with sv2::Message).
foreign_cxx=$(echo "$exported" | grep '^_Z' | grep -v -e '^_ZN3sv2' -e '^_ZNK3sv2' -e '^_ZT[ISV]N3sv2' || true)
[ -z "$foreign_cxx" ] || { echo "exported C++ symbols outside namespace sv2:"; echo "$foreign_cxx"; exit 1; }
echo "$(echo "$c_exported" | wc -l) C functions exported, exactly those of sv2.h"

step "consumer project: find_package(sv2) against the installed tree"
cmake -S examples-c/consumer -B "$work/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer-cmake" -j "$jobs"
"$work/consumer-cmake/consumer_c"
"$work/consumer-cmake/consumer_cxx"
"$work/consumer-cmake/consumer_c_shared"
readelf -d "$work/consumer-cmake/consumer_c_shared" | grep -q "NEEDED.*\[$soname\]"
"$work/consumer-cmake/consumer_cxx_shared"
readelf -d "$work/consumer-cmake/consumer_cxx_shared" | grep -q "NEEDED.*\[$soname\]"

step "consumer project: pkg-config --static --libs sv2"
export PKG_CONFIG_PATH="$lib/pkgconfig"
echo "pkg-config --static --libs sv2: $(pkg-config --static --libs sv2)"
# shellcheck disable=SC2046 # the flags are meant to split
cc -std=c11 -Wall -Wextra -Werror -pedantic examples-c/consumer/consumer.c -o "$work/consumer_pc" \
   $(pkg-config --cflags sv2) $(pkg-config --static --libs sv2)
"$work/consumer_pc"
! readelf -d "$work/consumer_pc" | grep -q 'libsv2\.so'
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -pedantic examples-c/consumer/consumer.cpp \
    -o "$work/consumer_pc_cxx" $(pkg-config --cflags sv2) $(pkg-config --static --libs sv2)
"$work/consumer_pc_cxx"
# The C++ API from libsv2.so, through sv2-shared.pc.
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -pedantic examples-c/consumer/consumer.cpp \
    -o "$work/consumer_pc_cxx_shared" $(pkg-config --cflags --libs sv2-shared) -Wl,-rpath,"$lib"
"$work/consumer_pc_cxx_shared"
readelf -d "$work/consumer_pc_cxx_shared" | grep -q "NEEDED.*\[$soname\]"

step "libsv2.a is reproducible from another checkout path"
other="$work/other-checkout"
mkdir -p "$other"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$other"
cmake -S "$other" -B "$work/other-build" -DCMAKE_BUILD_TYPE=Release -DSV2_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$work/other-build" --target sv2_cargo -j "$jobs"
a=$(sha256sum "$cargo_dir/dist/libsv2_ffi.a" | cut -d' ' -f1)
b=$(sha256sum "$work/other-build/cargo/dist/libsv2_ffi.a" | cut -d' ' -f1)
echo "libsv2.a sha256 $a (here) $b (at $other)"
[ "$a" = "$b" ]
rm -rf "$other" "$work/other-build"
