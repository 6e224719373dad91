#!/usr/bin/env bash
# Makes the offline source of libsv2: this tree's files plus every crate Cargo.lock names,
# vendored (cargo vendor), with a .cargo/config.toml that points cargo at them. Guix
# (guix/libsv2.scm), Bitcoin Core's depends (bitcoin-core-patch/) and scripts/reproducible.sh
# build from it with `cargo --offline --locked` and no network.
#
#   guix/make-source.sh DIR            the tree, in DIR
#   guix/make-source.sh DIR TARBALL    also a reproducible tarball of it (sorted, mtime 0,
#                                      owner 0, gzip without a timestamp)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
tarball="${2:-}"

rm -rf "$dir"
mkdir -p "$dir"
# The committed tree (HEAD): a source release is what the history holds, not a checkout's
# uncommitted edits.
git -C "$repo" archive --format=tar HEAD | tar -x -C "$dir"
mkdir -p "$dir/.cargo"
(cd "$dir" && cargo vendor --locked --versioned-dirs vendor > .cargo/config.toml.new 2>/dev/null)
{
  echo "# Written by guix/make-source.sh: every crate comes from vendor/, never the network."
  cat "$dir/.cargo/config.toml.new"
  printf '\n[net]\noffline = true\n'
} > "$dir/.cargo/config.toml"
rm "$dir/.cargo/config.toml.new"

if [ -n "$tarball" ]; then
  name="$(basename "$tarball" .tar.gz)"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w,a+rX --format=gnu \
      --transform "s,^\.,$name," -C "$dir" -cf - . | gzip -9n > "$tarball"
  sha256sum "$tarball"
fi
