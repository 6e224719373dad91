#!/usr/bin/env python3
"""Fails when a crate in the workspace's dependency graph is not under an MIT-compatible
license, so that libsv2 stays linkable into MIT projects such as Bitcoin Core.

Reads `cargo metadata` and evaluates each SPDX expression: an OR needs one allowed side, an
AND needs both, `X WITH exception` counts as X.
"""
import json
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "MITNFA", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib",
    "CC0-1.0", "Unlicense", "Unicode-3.0", "Unicode-DFS-2016", "0BSD", "BSL-1.0",
}


def allowed(expr: str) -> bool:
    # Older crates write "MIT/Apache-2.0" for "MIT OR Apache-2.0".
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+-]+", expr.replace("/", " OR "))
    pos = 0

    def parse_or():
        nonlocal pos
        ok = parse_and()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            ok = parse_and() or ok
        return ok

    def parse_and():
        nonlocal pos
        ok = parse_atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            ok = parse_atom() and ok
        return ok

    def parse_atom():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            ok = parse_or()
            pos += 1  # ")"
        else:
            ok = tok in ALLOWED
        if pos < len(tokens) and tokens[pos] == "WITH":
            pos += 2
        return ok

    return parse_or()


def main() -> int:
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1"]))
    bad = []
    for pkg in meta["packages"]:
        lic = pkg.get("license")
        if not lic or not allowed(lic):
            bad.append(f"{pkg['name']} {pkg['version']}: {lic or 'no license field'}")
    for line in sorted(bad):
        print("not MIT-compatible:", line)
    print(f"{len(meta['packages'])} crates checked, {len(bad)} refused")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
