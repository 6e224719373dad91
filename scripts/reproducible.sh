#!/usr/bin/env bash
# libsv2.a, libsv2.so and the sv2 binary are bit-identical across builds: reprotest (Debian's)
# builds the offline source (guix/make-source.sh) twice with guix/build-offline.sh, the second
# time at another path, as another user, under another locale, time zone, umask, home, PATH
# and environment; then a third time 217 days later (the clock shifted by scripts/time-shift.c,
# see below); diffoscope compares what was built. Needs root (a build user is created), a C
# compiler and apt (reprotest, diffoscope-minimal, sudo).
#   bash scripts/reproducible.sh [WORK_DIR]          WORK_DIR is kept afterwards
#   SV2_OFFLINE_LIBS_ONLY=1 bash scripts/reproducible.sh    libsv2.a and libsv2.so only
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/libsv2-reproducible}"

need=()
for tool in reprotest:reprotest diffoscope:diffoscope-minimal sudo:sudo; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The varied build runs as this user, which cannot enter /root: it gets the toolchain that
# builds here through a copy of rustc's sysroot (hard links when the file system allows).
builder=sv2repro
id "$builder" >/dev/null 2>&1 || useradd --system --user-group --no-create-home "$builder"
sysroot="$(rustc --print sysroot)"
toolchain="/opt/libsv2-reprotest/$(rustc --version | tr -c 'a-zA-Z0-9.\n' '-')"
if [ ! -x "$toolchain/bin/cargo" ]; then
  mkdir -p "$(dirname "$toolchain")"
  cp -al "$sysroot" "$toolchain" 2>/dev/null || cp -a "$sysroot" "$toolchain"
fi
chmod -R a+rX "$(dirname "$toolchain")"

rm -rf "$work"
mkdir -p "$work"
bash "$repo/guix/make-source.sh" "$work/src"
chmod -R a+rX "$work"

# reprotest runs `sudo -h localhost -u USER ...`, which sudo >= 1.9 refuses ("a remote host
# may only be specified when listing privileges"): a shim first on the PATH drops the -h.
mkdir -p "$work/shim"
printf '#!/bin/sh\n[ "$1" = -h ] && [ "$2" = localhost ] && shift 2\nexec /usr/bin/sudo "$@"\n' > "$work/shim/sudo"
chmod 755 "$work/shim/sudo"

artifacts='stage/usr/lib/libsv2.a stage/usr/lib/libsv2.so.* stage/usr/include/sv2.h stage/usr/include/sv2/*.h* stage/usr/lib/cmake/sv2/* stage/usr/lib/pkgconfig/*'
binaries="stage/usr/lib/libsv2.a stage/usr/lib/libsv2.so.*"
libs_only=${SV2_OFFLINE_LIBS_ONLY:-}
if [ "$libs_only" != 1 ]; then
  artifacts="$artifacts stage/usr/bin/sv2"
  binaries="$binaries stage/usr/bin/sv2"
fi
# Time is varied after reprotest, by a third build: reprotest varies it with faketime, and
# rustc never returns under Debian 12's libfaketime (0.9.10; its jemalloc asks the time while
# it initialises and libfaketime then allocates: a deadlock):
#   timeout 20 faketime +217days rustc --crate-type staticlib -o x.a - </dev/null  -> 124
start=$(date +%s)
# PATH is set inside the command: the varied build's exec_path and user must still find the
# same rustc, cargo, cmake and cc.
build_path="$toolchain/bin:/usr/local/bin:/usr/bin:/bin"
(cd "$work" && PATH="$work/shim:$PATH" reprotest --min-cpus="$(nproc)" \
  --vary=-all,+build_path,+user_group,+locales,+umask,+home,+timezone,+environment,+exec_path \
  --vary=user_group.available+="$builder:$builder" \
  --store-dir "$work/store" \
  -c "PATH=$build_path SV2_OFFLINE_LIBS_ONLY=$libs_only SV2_OFFLINE_TIDY=1 sh guix/build-offline.sh" src "$artifacts")
echo "reprotest: two builds identical in $(( $(date +%s) - start )) s"

# Named, per file: the same bytes in the control build and another one (its tree in $1).
same_as_control() {
  local control="$work/store/control/source-root" a f
  for f in $binaries; do
    a=$(ls "$control"/$f | grep -v '\.so\.[0-9]*\.[0-9]*$' | head -1)
    diffoscope --no-progress "$a" "$1/${a#"$control"/}" >/dev/null
    echo "identical$2: ${a#"$control"/stage/usr/} $(sha256sum < "$a" | cut -c1-16)"
  done
}
same_as_control "$work/store/experiment-1/source-root" ""

# Time: the same build 217 days later, by the wall clock every process of it reads
# (scripts/time-shift.c preloaded), at yet another path, compared with the control build.
cc -shared -fPIC -O2 -o "$work/time-shift.so" "$repo/scripts/time-shift.c"
later=$((217 * 86400))
shifted=$(LD_PRELOAD="$work/time-shift.so" SV2_TIME_SHIFT_SECS=$later date -u +%F)
[ "$shifted" = "$(date -u -d "@$(( $(date +%s) + later ))" +%F)" ] || { echo "the clock did not move: $shifted" >&2; exit 1; }
rm -rf "$work/later"
cp -a "$work/src" "$work/later"
start=$(date +%s)
(cd "$work/later" && LD_PRELOAD="$work/time-shift.so" SV2_TIME_SHIFT_SECS=$later \
  PATH="$build_path" SV2_OFFLINE_LIBS_ONLY=$libs_only SV2_OFFLINE_TIDY=1 sh guix/build-offline.sh >/dev/null)
same_as_control "$work/later" " when built on $shifted"
echo "time: the build $((later / 86400)) days later identical in $(( $(date +%s) - start )) s"
# The builds' trees are gone (SV2_OFFLINE_TIDY); what is left goes too unless it was asked for.
[ -n "${1:-}" ] || rm -rf "$work"
