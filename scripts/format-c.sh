#!/usr/bin/env bash
# clang-format over the C and C++ sources (.clang-format at the root): checks by default,
# rewrites with --fix.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not found (bash scripts/setup.sh)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'examples-c/*.c' 'examples-c/*.h' 'examples-c/*.cpp' \
  'examples-cpp/*.cpp' 'examples-cpp/*.hpp' 'cpp/*.cpp' 'cpp/*.hpp' 'cpp/*.h' 'docs/*.cpp' 'scripts/*.c')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
  echo "${#files[@]} files formatted as .clang-format says"
fi
