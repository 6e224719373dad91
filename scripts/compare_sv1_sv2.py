#!/usr/bin/env python3
"""SV1 against SV2 in `sv2 demo`: runs deployments 0 (SV2 miners straight to the pool), 3 (SV2
miners through the proxy, aggregated) and 5 (SV1 miners through the translator) for a fixed
number of blocks each, and writes docs/SV1_VS_SV2.md and docs/img/sv1_vs_sv2_*.png.

Run it through scripts/compare-sv1-sv2.sh, which builds the release binary and installs
matplotlib into a virtual environment under target/.

What is measured, per deployment:
- bytes per share and bytes per job message, as the demo's miners count them on their own
  link (SV2: Noise frames; SV1: JSON lines with their newline);
- new tip -> miner job: the demo's median and maximum;
- CPU: user+sys of the whole demo process from /usr/bin/time -v, divided by the shares the
  miners sent; and, read from /proc/PID/task/*/schedstat at the first and the last block, the
  CPU of every thread but the miners' hashing threads (named sv2-miner-N) in between, divided
  by the shares the pool accepted in between.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

DEPLOYMENTS = [
    (0, "SV2 direct", "SV2 miners straight to the pool (Noise)"),
    (3, "SV2 via proxy", "SV2 miners through sv2 proxy, aggregated into one extended channel"),
    (5, "SV1 via translator", "SV1 miners (JSON lines) through sv2 translator"),
]

BLOCK_LINE = re.compile(
    r"\| (\d+) B/share (\d+) B/job msg \| new tip -> miner job "
    r"(?:([\d.]+) ms \(median ([\d.]+), max ([\d.]+) over (\d+)\)|-)"
)
MINER_LINE = re.compile(r"^(\S+): ([\d.]+) MH/s, shares sent (\d+) accepted (\d+)")
BLOCKS_LINE = re.compile(r"^(\d+) blocks accepted in ([\d.]+) s")
SHARES_OK = re.compile(r"\| shares ok (\d+) rejected")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def thread_cpu(pid):
    """{tid: (name, CPU seconds)} for every thread of pid now: the on-CPU nanoseconds of
    schedstat (stat's user+sys ticks, 10 ms apart, are too coarse for one block)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        out[tid] = (name, ns / 1e9)
    return out


class Sampler(threading.Thread):
    """Keeps the last CPU reading of every thread of the demo process."""

    def __init__(self, time_pid):
        super().__init__(daemon=True)
        self.time_pid = time_pid
        self.pid = None
        self.last = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def sample(self):
        """Reads every thread now; returns (hashing, other) CPU seconds so far."""
        with self.lock:
            if self.pid is None:
                kids = children(self.time_pid)
                self.pid = kids[0] if kids else None
            if self.pid is not None:
                self.last.update(thread_cpu(self.pid))
            hashing = sum(c for name, c in self.last.values() if name.startswith("sv2-miner-"))
            other = sum(c for name, c in self.last.values() if not name.startswith("sv2-miner-"))
            return hashing, other

    def run(self):
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.1)


def run_demo(binary, deployment, blocks, log_dir):
    time_file = log_dir / f"time-{deployment}.txt"
    cmd = ["/usr/bin/time", "-v", "-o", str(time_file), str(binary), "demo",
           "--deployment", str(deployment), "--blocks", str(blocks)]
    print("$", " ".join(cmd[4:]), flush=True)
    started = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = Sampler(p.pid)
    sampler.start()
    lines = []
    # CPU and pool shares at the first and the last block line: the mining, without the
    # node's start-up and the shutdown.
    marks = []
    for line in p.stdout:
        lines.append(line.rstrip("\n"))
        m = SHARES_OK.search(line)
        if m and BLOCK_LINE.search(line):
            marks.append((int(m.group(1)), sampler.sample()))
    p.wait()
    sampler.stop.set()
    sampler.join()
    wall = time.time() - started
    (log_dir / f"demo-{deployment}.log").write_text("\n".join(lines) + "\n")
    if p.returncode != 0:
        sys.exit(f"sv2 demo --deployment {deployment} failed ({p.returncode}); see {log_dir}")

    r = {"deployment": deployment, "wall": wall}
    block_lines = [m for m in (BLOCK_LINE.search(l) for l in lines) if m]
    if not block_lines:
        sys.exit(f"deployment {deployment}: no block lines in the demo's output")
    last = block_lines[-1]
    r["bytes_per_share"] = int(last.group(1))
    r["bytes_per_job"] = int(last.group(2))
    r["tip_median_ms"] = float(last.group(4)) if last.group(4) else None
    r["tip_max_ms"] = float(last.group(5)) if last.group(5) else None
    r["tips_timed"] = int(last.group(6)) if last.group(6) else 0
    r["shares"] = 0
    for l in lines:
        m = MINER_LINE.match(l)
        if m:
            r["shares"] += int(m.group(3))
        m = BLOCKS_LINE.match(l)
        if m:
            r["blocks"] = int(m.group(1))
            r["demo_secs"] = float(m.group(2))
        if l.startswith(("proxy:", "translator:")):
            r["farm_line"] = l
    t = time_file.read_text()
    grab = lambda key: float(re.search(re.escape(key) + r": ([\d.]+)", t).group(1))
    r["cpu_total"] = grab("User time (seconds)") + grab("System time (seconds)")
    r["max_rss_mib"] = grab("Maximum resident set size (kbytes)") / 1024
    r["cpu_ms_per_share"] = r["cpu_total"] * 1e3 / max(r["shares"], 1)
    if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
        sys.exit(f"deployment {deployment}: too few blocks to time the CPU between them")
    (s0, (h0, o0)), (s1, (h1, o1)) = marks[0], marks[-1]
    r["interval_shares"] = s1 - s0
    r["cpu_hashing"] = h1 - h0
    r["cpu_other"] = o1 - o0
    r["cpu_other_ms_per_share"] = (o1 - o0) * 1e3 / (s1 - s0)
    return r


def bar_chart(path, title, ylabel, labels, series):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        bars = ax.bar(xs, [v or 0 for v in values], width, label=name)
        for b, v in zip(bars, values):
            if v is not None:
                ax.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def machine_notes():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU, {model}, {platform.system()} {platform.release()}"


def write_doc(out, img_rel, results, blocks, command, load_before, load_after):
    by = {r["deployment"]: r for r in results}
    rows = [(name, by[d]) for d, name, _ in DEPLOYMENTS]
    sv2 = by[0]
    L = []
    w = L.append
    w("# SV1 against SV2 in `sv2 demo`")
    w("")
    w("Written by `scripts/compare_sv1_sv2.py` (run through `scripts/compare-sv1-sv2.sh`); the")
    w("figures below are from one run of it, the three deployments one after another.")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w(f"Machine: {machine_notes()}; load average {load_before} before and {load_after} after. The")
    w("machine was shared with other engineers' builds (2 cores), so absolute figures are")
    w("pessimistic; what a run shows is the ratios between deployments measured in it.")
    w("")
    sv1 = by[5]
    prx = by[3]
    w("In this run, against SV2 straight to the pool:")
    w("")
    w(f"- an SV1 share is {sv1['bytes_per_share'] / sv2['bytes_per_share']:.2f}x the bytes on the miner's link, and "
      f"SV1 job traffic {sv1['bytes_per_job'] / sv2['bytes_per_job']:.2f}x;")
    if sv2["tip_median_ms"] and sv1["tip_median_ms"] and prx["tip_median_ms"]:
        w(f"- the new tip reaches the miner's job {prx['tip_median_ms'] - sv2['tip_median_ms']:.1f} ms later "
          f"(median) through the proxy and {sv1['tip_median_ms'] - sv2['tip_median_ms']:.1f} ms later "
          "through the translator;")
    w(f"- CPU per share outside the hashing threads: {sv2['cpu_other_ms_per_share']:.1f} ms direct, "
      f"{prx['cpu_other_ms_per_share']:.1f} ms through the proxy, {sv1['cpu_other_ms_per_share']:.1f} ms "
      "through the translator (mostly the node's block work, see below).")
    w("")
    w("| deployment | what mines |")
    w("| --- | --- |")
    for d, name, what in DEPLOYMENTS:
        w(f"| {d} ({name}) | {what} |")
    w("")
    w("Each runs the embedded regtest node, the pool, and (3) the proxy or (5) the translator, with")
    w(f"the demo's 3 CPU miners, one hashing thread each, until {blocks} blocks are accepted.")
    w("")
    w("## Bytes on the miner's link")
    w("")
    w("| deployment | bytes per share | ratio to SV2 direct | bytes per job message | ratio to SV2 direct |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        w(f"| {name} | {r['bytes_per_share']} | {r['bytes_per_share'] / sv2['bytes_per_share']:.2f} | "
          f"{r['bytes_per_job']} | {r['bytes_per_job'] / sv2['bytes_per_job']:.2f} |")
    w("")
    w(f"![bytes per share]({img_rel}/sv1_vs_sv2_bytes_per_share.png)")
    w(f"![bytes per job message]({img_rel}/sv1_vs_sv2_bytes_per_job.png)")
    w("")
    w("What is counted, as the demo's miners count it on the link they speak:")
    w("")
    w("- **SV2 (0 and 3)**: whole Noise frames between the miner and the pool (0) or the proxy (3):")
    w("  the 22-byte encrypted header, the payload and the 16-byte tag. A share is")
    w("  SubmitSharesStandard (62 bytes) or SubmitSharesExtended (75 bytes with a 12-byte")
    w("  extranonce); the demo's 3 miners are a standard channel with group jobs, one with its own")
    w("  jobs and an extended channel, so the figure is their mix. Job messages are")
    w("  NewMiningJob / NewExtendedMiningJob and SetNewPrevHash.")
    w("- **SV1 (5)**: the JSON lines between the miner and the translator, newline included: a")
    w("  share is one `mining.submit` line, a job message one `mining.notify` line (coinbase halves")
    w("  and merkle branch in hex). TCP, no encryption. The link from the translator to the pool is")
    w("  SV2 and is not in this figure.")
    w("- **Per job message** is, for both, all job bytes divided by the job updates plus the new")
    w("  tips a miner received. SV2 sends a new tip as two messages (a job and SetNewPrevHash), SV1")
    w("  as one `mining.notify` that the SV1 miner counts as a job and a tip; the same events make")
    w("  the denominator on both sides, so the ratio is that of the job traffic for the same work,")
    w("  not of single lines against single frames.")
    w("- Not counted on either side: setup (SetupConnection, channel opening; subscribe, authorize),")
    w("  difficulty changes (SetTarget; `mining.set_difficulty`), and the answers to shares")
    w("  (SubmitShares.Success, which the pool may batch; one `{\"id\":..,\"result\":true}` line per")
    w("  SV1 share).")
    w("- Not like for like: the SV2 miners' mix includes extended channels, whose jobs carry the")
    w("  coinbase and merkle path like SV1's do; SV2 standard-channel jobs (a merkle root instead)")
    w("  are much smaller. docs/BENCHMARKS.md gives each SV2 message's size alone.")
    w("")
    w("## New tip to miner job")
    w("")
    w("From the node learning of a new tip to the miner decoding its new job (SV2:")
    w("SetNewPrevHash; SV1: the `mining.notify` with the new previous hash), one process, one clock.")
    w("")
    w("| deployment | tips timed | median | max | ratio of medians to SV2 direct |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        ratio = (f"{r['tip_median_ms'] / sv2['tip_median_ms']:.2f}"
                 if r["tip_median_ms"] and sv2["tip_median_ms"] else "-")
        med = f"{r['tip_median_ms']:.2f} ms" if r["tip_median_ms"] is not None else "-"
        mx = f"{r['tip_max_ms']:.2f} ms" if r["tip_max_ms"] is not None else "-"
        w(f"| {name} | {r['tips_timed']} | {med} | {mx} | {ratio} |")
    w("")
    w(f"![tip to miner job]({img_rel}/sv1_vs_sv2_tip_latency.png)")
    w("")
    w("## CPU per share")
    w("")
    w("`/usr/bin/time -v` gives the demo process's user+sys time from start to end, node start-up")
    w("included (\"whole run\"). For the mining itself, every thread's on-CPU time is read from")
    w("`/proc/PID/task/*/schedstat` when the demo prints its first and its last block line, and the")
    w("difference, without the miners' hashing threads (`sv2-miner-N`, which run flat out whatever")
    w("the protocol), is divided by the shares the pool accepted in between (\"protocol path\"):")
    w("the template provider and node, the pool, the proxy or translator, and the miners' protocol")
    w("sessions. On regtest every share is a block, so most of that is the node validating and")
    w("connecting blocks and building templates, the same in every deployment; what differs")
    w("between deployments is the protocol path's own part.")
    w("")
    w("| deployment | blocks | shares sent | CPU whole run | per share sent | shares between first and last block | CPU not hashing, between | per share | max RSS |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        w(f"| {name} | {r.get('blocks', '?')} | {r['shares']} | {r['cpu_total']:.1f} s | "
          f"{r['cpu_ms_per_share']:.0f} ms | {r['interval_shares']} | {r['cpu_other']:.2f} s | "
          f"{r['cpu_other_ms_per_share']:.1f} ms | {r['max_rss_mib']:.0f} MiB |")
    w("")
    w(f"![CPU per share]({img_rel}/sv1_vs_sv2_cpu_per_share.png)")
    w("")
    w("These CPU miners send a share every few seconds, so this is the cost of a share with a")
    w("block behind it; the protocol's own cost per share under load, with thousands of devices,")
    w("is measured by `roles/benches/farm_load.rs` and `roles/benches/pool_load.rs`")
    w("(docs/BENCHMARKS.md).")
    farm = [r["farm_line"] for _, r in rows if "farm_line" in r]
    if farm:
        w("")
        w("The farm roles' own accounting in this run:")
        w("")
        for f in farm:
            w(f"- `{f}`")
    w("")
    out.write_text("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="target/release/sv2")
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--doc", default="docs/SV1_VS_SV2.md")
    ap.add_argument("--img-dir", default="docs/img")
    ap.add_argument("--log-dir", default="target/compare-sv1-sv2")
    ap.add_argument("--command", default="scripts/compare-sv1-sv2.sh")
    ap.add_argument("--from-results", help="write the doc and charts from a results.json of an earlier run")
    a = ap.parse_args()
    log_dir = Path(a.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    img = Path(a.img_dir)
    img.mkdir(parents=True, exist_ok=True)
    if a.from_results:
        saved = json.loads(Path(a.from_results).read_text())
    else:
        load_before = open("/proc/loadavg").read().split()[0]
        results = [run_demo(Path(a.binary), d, a.blocks, log_dir) for d, _, _ in DEPLOYMENTS]
        load_after = open("/proc/loadavg").read().split()[0]
        saved = {"blocks": a.blocks, "load": [load_before, load_after], "results": results}
        (log_dir / "results.json").write_text(json.dumps(saved, indent=1))
    results = saved["results"]
    load_before, load_after = saved["load"]
    for r in results:
        print({k: v for k, v in r.items() if k != "farm_line"})

    labels = [name for _, name, _ in DEPLOYMENTS]
    bar_chart(img / "sv1_vs_sv2_bytes_per_share.png", "Bytes per share on the miner's link", "bytes",
              labels, [("bytes/share", [r["bytes_per_share"] for r in results])])
    bar_chart(img / "sv1_vs_sv2_bytes_per_job.png", "Bytes per job message (job updates + tips)", "bytes",
              labels, [("bytes/job message", [r["bytes_per_job"] for r in results])])
    bar_chart(img / "sv1_vs_sv2_tip_latency.png", "New tip -> miner job", "ms", labels,
              [("median", [r["tip_median_ms"] for r in results]), ("max", [r["tip_max_ms"] for r in results])])
    bar_chart(img / "sv1_vs_sv2_cpu_per_share.png", "CPU per share, hashing threads excluded", "ms",
              labels, [("not hashing", [r["cpu_other_ms_per_share"] for r in results])])

    doc = Path(a.doc)
    img_rel = os.path.relpath(img, doc.parent)
    write_doc(doc, img_rel, results, saved["blocks"], a.command, load_before, load_after)
    print(f"wrote {doc} and {img}/sv1_vs_sv2_*.png")


if __name__ == "__main__":
    main()
