#!/bin/sh
# Builds libsv2 from a tree made by guix/make-source.sh, with no network: CMake gives
# libsv2.a, libsv2.so, the headers and the CMake and pkg-config files; cargo gives the sv2
# binary. Everything is staged under ./stage/usr (DESTDIR, prefix /usr), so the installed
# files name no build path. Run from the top of that tree. scripts/reproducible.sh runs it
# under reprotest; it is also what guix/libsv2.scm's phases do.
set -eu
src="$(pwd)"
target="$src/target-offline"
# cargo's home inside the tree: nothing is read from the builder's own ~/.cargo.
export CARGO_HOME="$src/.cargo-home" CARGO_NET_OFFLINE=true

cmake -S . -B build-offline -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DCMAKE_INSTALL_LIBDIR=lib -DSV2_BUILD_EXAMPLES=OFF -DSV2_CARGO_TARGET_DIR="$target"
cmake --build build-offline
DESTDIR="$src/stage" cmake --install build-offline

# SV2_OFFLINE_TIDY=1: the build trees are removed once their output is staged (a checker that
# keeps several trees side by side, as scripts/reproducible.sh does, then needs a fraction of
# the disk).
tidy() {
  [ "${SV2_OFFLINE_TIDY:-}" = 1 ] && rm -rf build-offline "$target" "$CARGO_HOME"
  return 0
}

# SV2_OFFLINE_LIBS_ONLY=1 stops here (the libraries alone build in a fraction of the time).
if [ "${SV2_OFFLINE_LIBS_ONLY:-}" = 1 ]; then tidy; exit 0; fi

# The sv2 binary, with the path remapping CMakeLists.txt applies to libsv2 (the embedded
# node's C++ in libbitcoinkernel-sys and SQLite's C included).
rustflags="" cflags=""
for map in "$src=/libsv2" "$CARGO_HOME=/cargo" "$target=/target"; do
  rustflags="$rustflags --remap-path-prefix=$map"
  cflags="$cflags -ffile-prefix-map=$map"
done
RUSTFLAGS="$rustflags" CFLAGS="$cflags" CXXFLAGS="$cflags" SOURCE_DATE_EPOCH=0 ZERO_AR_DATE=1 \
  cargo build --offline --locked --profile dist -p sv2-roles --bin sv2 --target-dir "$target"
install -D -m 755 "$target/dist/sv2" "$src/stage/usr/bin/sv2"
tidy
