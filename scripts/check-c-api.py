#!/usr/bin/env python3
"""The C API's documentation against include/sv2.h.

Checks that every function the header declares has a Doxygen block with one @param per
parameter (by name, in order) and, unless it returns void, an @return; that the function
reference in docs/C_API.md is what this script generates from the header; and that every
sv2_/SV2_ name the guide mentions exists in the header. With --write, regenerates the
reference instead of checking it; with --list, prints the functions' names. Exits 1 listing
what is wrong."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
header = (root / "include/sv2.h").read_text()
guide_path = root / "docs/C_API.md"
guide = guide_path.read_text()
BEGIN, END = "<!-- generated: function reference -->\n", "<!-- end of generated function reference -->\n"

# A declaration: its /** ... */ block, SV2_API (and SV2_NODISCARD), then `type name(params);`.
DECL = re.compile(r"/\*\*(?P<doc>(?:(?!\*/).)*)\*/\s*SV2_API\s+(?P<nodiscard>SV2_NODISCARD\s+)?"
                  r"(?P<ret>[\w\s\*]+?)\s*\b(?P<name>sv2_\w+)\((?P<params>[^)]*)\);", re.S)


def doc_lines(doc):
    return [re.sub(r"^\s*\* ?", "", line).rstrip() for line in doc.strip("\n").split("\n")]


def reference(decls):
    """Markdown for every function: signature, description, parameters, result."""
    out = []
    for m in decls:
        lines = doc_lines(m["doc"])
        prose, tags = [], []
        for line in lines:
            if line.startswith("# Safety"):
                break
            if line.startswith("@"):
                tags.append(line)
            elif tags and line:
                tags[-1] += " " + line  # an @param or @return continued on the next line
            else:
                prose.append(line)
        signature = f"{m['ret'].strip()} {m['name']}({' '.join(m['params'].split())});"
        out += [f"### `{m['name']}`", "", "```c", signature, "```", ""]
        out += [" ".join(" ".join(prose).split()), ""]
        for t in tags:
            p = re.match(r"@param(?:\[(?P<dir>[a-z,]+)\])?\s+(?P<name>\w+)\s+(?P<text>.*)", t)
            if p:
                direction = f" ({p['dir']})" if p["dir"] else ""
                out.append(f"- `{p['name']}`{direction}: {p['text']}")
            elif t.startswith("@return"):
                out.append(f"- returns {t[len('@return'):].strip()}")
        out.append("")
    return "\n".join(out)


decls = list(DECL.finditer(header))
if "--list" in sys.argv:  # the names of the functions the header declares, one a line
    print("\n".join(sorted(m["name"] for m in decls)))
    sys.exit(0)
problems = []
for m in decls:
    name, doc, ret = m["name"], m["doc"], m["ret"].strip()
    params = [] if m["params"].strip() in ("", "void") else [
        re.search(r"(\w+)\s*(?:\[\d*\])?$", p.strip())[1] for p in m["params"].split(",")]
    documented = re.findall(r"@param(?:\[[a-z,]+\])?\s+(\w+)", doc)
    if documented != params:
        problems.append(f"{name}: @param for {documented}, parameters {params}")
    if ret != "void" and "@return" not in doc:
        problems.append(f"{name}: no @return")
    if ret == "sv2_result" and not m["nodiscard"]:
        problems.append(f"{name}: returns sv2_result without SV2_NODISCARD (#[must_use] in Rust)")
exported = set(re.findall(r"\bsv2_\w+(?=\()", re.sub(r"/\*.*?\*/", "", header, flags=re.S)))
if {m["name"] for m in decls} != exported:
    problems.append(f"declarations this script cannot read: {sorted(exported - {m['name'] for m in decls})}")

if BEGIN not in guide or END not in guide:
    problems.append("docs/C_API.md has no generated function reference markers")
else:
    head, rest = guide.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    fresh = head + BEGIN + "\n" + reference(decls) + END + tail
    if "--write" in sys.argv:
        guide_path.write_text(fresh)
    elif fresh != guide:
        problems.append("docs/C_API.md: the function reference is out of date "
                        "(python3 scripts/check-c-api.py --write)")
declared = set(re.findall(r"\b(?:sv2|SV2)_\w+", header))
for name in sorted(set(re.findall(r"(?<!::)\b(?:sv2|SV2)_\w+", guide))):
    if name not in declared and not name.endswith("_"):
        problems.append(f"docs/C_API.md mentions {name}, which the header does not declare")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{len(decls)} functions: every parameter and result documented; docs/C_API.md in step")
