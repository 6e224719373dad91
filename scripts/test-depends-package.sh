#!/usr/bin/env bash
# Bitcoin Core's depends/ building libsv2 (bitcoin-core-patch/0004, `SV2=1`) offline, the way
# it builds its other libraries:
# - a scratch clone of a full Bitcoin Core checkout at the series' base commit (the argument;
#   it needs depends/, which the libbitcoinkernel-sys crate used by CI does not carry);
# - `git am` of every patch of bitcoin-core-patch/;
# - the vendored libsv2 tarball from guix/make-source.sh in a SOURCES_PATH of its own;
# - `make -C depends ... libsv2` (that package alone: the others would need downloads) with
#   LIBSV2_SHA256, in a network namespace without network when `unshare -n` can make one,
#   and with an empty HOME so that nothing can come from ~/.cargo;
# - the package's cached archive checked: lib/libsv2.a, include/sv2.h, include/sv2/*.hpp,
#   lib/cmake/sv2/*, lib/pkgconfig/sv2.pc, and no libsv2.so or sv2-shared.pc; HOME still
#   empty; a C program built against it by find_package(sv2) with CMake looking only under
#   the package's prefix, as Core's depends toolchain file makes it look.
# Not part of scripts/test.sh or CI: CI has no full Core tree. For Core developers:
#   bash scripts/test-depends-package.sh /path/to/bitcoin    (work files in
#   target/depends-package, or SV2_DEPENDS_WORK; JOBS=n for make and cargo, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
core=$(cd "${1:?usage: $0 /path/to/bitcoin (full Bitcoin Core checkout at the base commit)}" && pwd)
work=${SV2_DEPENDS_WORK:-$root/target/depends-package}
jobs=${JOBS:-2}
core_commit=70d9ec7f3d452789d04dce81dc02db0b3b778bb5
# The tree of that commit: a checkout whose history lacks the commit (a subtree copy of it)
# is still the right base when its tree is this one.
core_tree=ab8f2975d1c02ea48a7402b6e1b311790ab3fb25
make_args=(SV2=1 NO_QT=1 NO_WALLET=1 NO_ZMQ=1 NO_USDT=1 NO_IPC=1)
started=$(date +%s)

step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -f "$core/depends/funcs.mk" ] || fail "$core has no depends/ (the crate's copy of Core lacks it)"
rev=$(git -C "$core" rev-parse HEAD)
if [ "$rev" != "$core_commit" ] && [ "$(git -C "$core" rev-parse HEAD^{tree})" != "$core_tree" ]; then
  echo "warning: $core is at $rev, not $core_commit; git am decides whether the series fits" >&2
fi
rm -rf "$work"
mkdir -p "$work"

step "scratch clone of $core at $rev, git am bitcoin-core-patch/*.patch"
git -c init.defaultBranch=base clone -q --shared --no-checkout "$core" "$work/bitcoin"
git -C "$work/bitcoin" checkout -q --detach "$rev"
git_id=(-c user.name=libsv2 -c user.email=libsv2@example.invalid -c commit.gpgsign=false)
git -C "$work/bitcoin" "${git_id[@]}" am -q "$root"/bitcoin-core-patch/*.patch
git -C "$work/bitcoin" log --oneline -n "$(ls "$root"/bitcoin-core-patch/*.patch | wc -l)"

step "vendored libsv2 tarball (guix/make-source.sh) in SOURCES_PATH"
version=$(sed -n 's/^\$(package)_version=//p' "$work/bitcoin/depends/packages/libsv2.mk")
sources="$work/sources"
mkdir -p "$sources"
tarball="$sources/libsv2-$version-vendored.tar.gz"
nice -n 19 bash guix/make-source.sh "$work/libsv2-src" "$tarball" >/dev/null
rm -rf "$work/libsv2-src"
sha=$(sha256sum "$tarball" | cut -d' ' -f1)
echo "$(basename "$tarball") $sha"

step "make -C depends ${make_args[*]} libsv2 (offline)"
home="$work/home"
mkdir -p "$home"
# rustup's proxies find their toolchains through RUSTUP_HOME, which defaults to ~/.rustup.
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
isolate=()
if unshare -n true 2>/dev/null; then
  isolate=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  isolate=(unshare -rn)
else
  echo "warning: no network namespace here: offline only by the recipe's CARGO_HOME and --offline" >&2
fi
build_start=$(date +%s)
env HOME="$home" RUSTUP_HOME="$rustup_home" CARGO_BUILD_JOBS="$jobs" \
  "${isolate[@]}" nice -n 19 make -C "$work/bitcoin/depends" -j"$jobs" "${make_args[@]}" \
  LIBSV2_SHA256="$sha" SOURCES_PATH="$sources" libsv2 > "$work/depends.log" 2>&1 ||
  { tail -40 "$work/depends.log"; fail "depends build of libsv2 (log: $work/depends.log)"; }
echo "libsv2 built by depends in $(( $(date +%s) - build_start )) s (log: $work/depends.log)"

step "the package depends built"
! grep -q '^Fetching ' "$work/depends.log" || fail "depends tried to download the tarball"
archive=$(ls "$work"/bitcoin/depends/built/*/libsv2/libsv2-"$version"-*.tar.gz)
[ "$(echo "$archive" | wc -l)" = 1 ] || fail "expected one cached libsv2 archive: $archive"
(cd "$(dirname "$archive")" && sha256sum -c "$(basename "$archive").hash" >/dev/null) ||
  fail "cached archive does not match its checksum"
contents=$(tar -tzf "$archive")
for f in lib/libsv2.a include/sv2.h include/sv2/sv2.hpp include/sv2/messages.hpp \
         include/sv2/error.hpp lib/cmake/sv2/sv2Config.cmake lib/cmake/sv2/sv2ConfigVersion.cmake \
         lib/pkgconfig/sv2.pc; do
  grep -qx "./$f" <<<"$contents" || fail "$f is not in $archive"
done
if grep -E 'libsv2\.so|sv2-shared\.pc' <<<"$contents"; then
  fail "the shared library or its .pc is in $archive"
fi
[ -z "$(ls -A "$home")" ] || fail "the build wrote to HOME ($(ls -A "$home")): not only its own CARGO_HOME"
echo "$contents" | grep -v '/$'

step "find_package(sv2) from the package's prefix alone"
prefix="$work/prefix"
mkdir -p "$prefix" "$work/consumer"
tar -xzf "$archive" -C "$prefix"
cat > "$work/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(sv2_depends_consumer C CXX)
find_package(sv2 0.1 CONFIG REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer sv2::sv2)
EOF
cat > "$work/consumer/main.c" <<'EOF'
#include <sv2.h>
#include <stdio.h>
int main(void) { puts(sv2_version()); return 0; }
EOF
# As depends/toolchain.cmake.in: packages are found under the prefix only, "/" re-added to
# the prefix path so that CMAKE_FIND_ROOT_PATH is searched.
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_FIND_ROOT_PATH="$prefix" \
      -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_PREFIX_PATH=/ >/dev/null
nice -n 19 cmake --build "$work/consumer/build" >/dev/null
grep -qx "sv2_DIR:PATH=$prefix/lib/cmake/sv2" "$work/consumer/build/CMakeCache.txt" ||
  fail "find_package(sv2) did not take the depends package"
[ "$("$work/consumer/build/consumer")" = "$version" ] || fail "the program does not report libsv2 $version"
echo "consumer linked statically against the package: libsv2 $version"

step "depends built libsv2 offline from the vendored tarball ($(( $(date +%s) - started )) s in all)"
