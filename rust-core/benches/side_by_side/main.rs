//! libsv2's protocol core side by side with the reference implementation's published crates,
//! in one process, with the raw primitive costs of this machine as floors.
//!
//! `cargo bench -p sv2 --bench side_by_side [-- FILTER...]` runs every case whose name
//! (`area case`, e.g. `transport 64 B frame enc+dec`, `primitives secp256k1: ...`) contains
//! one of the filters, and prints markdown tables. `SV2_BENCH_ROUNDS` and
//! `SV2_BENCH_SAMPLE_MS` change the number of interleaved rounds (default 21) and the
//! length of one sample (default 5 ms). See docs/BENCHMARKS.md.

mod codec;
mod data;
mod handshake;
mod harness;
mod shares;
mod transport;

use std::time::Duration;

use harness::{Harness, Line, Stat};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|v| *v > 0).unwrap_or(default)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn ns(s: Stat) -> String {
    if s.ns >= 10_000.0 {
        format!("{:.1} µs", s.ns / 1000.0)
    } else if s.ns >= 100.0 {
        format!("{:.0} ns", s.ns)
    } else {
        format!("{:.1} ns", s.ns)
    }
}

fn print_line(l: &Line) {
    let reference = l.reference.map(ns).unwrap_or_else(|| "–".into());
    let ratio = l.reference.map(|r| format!("{:.1}×", r.ns / l.ours.ns)).unwrap_or_else(|| "–".into());
    let (floor_name, floor, over) = match &l.floor {
        Some((name, f)) => (name.as_str(), ns(*f), format!("{:.2}", l.ours.ns / f.ns)),
        None => ("–", "–".into(), "–".into()),
    };
    let spread = [Some(l.ours), l.reference, l.floor.as_ref().map(|f| f.1)]
        .into_iter()
        .flatten()
        .map(|s| s.spread)
        .fold(0.0, f64::max);
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% |",
        l.area,
        l.case,
        ns(l.ours),
        reference,
        ratio,
        floor_name,
        floor,
        over,
        spread * 100.0
    );
}

fn main() {
    // cargo passes `--bench`; anything else not starting with `-` is a filter.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let rounds = env_number("SV2_BENCH_ROUNDS", 21) as usize;
    let sample = Duration::from_millis(env_number("SV2_BENCH_SAMPLE_MS", 5));
    let mut h = Harness::new(filters, sample, rounds);

    eprintln!("side_by_side: {rounds} interleaved rounds of {} ms samples per routine", sample.as_millis());
    codec::run(&mut h);
    transport::run(&mut h);
    handshake::run(&mut h);
    shares::run(&mut h);

    println!();
    println!("CPU: {} ({} logical cores)", cpu_model(), std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!(
        "Median of {rounds} interleaved samples of ~{} ms each; spread = (p75 − p25) / median, worst of the row.",
        sample.as_millis()
    );
    println!();
    println!("| area | case | ours | reference | ref / ours | floor | floor cost | ours / floor | spread |");
    println!("|---|---|---:|---:|---:|---|---:|---:|---:|");
    h.lines.iter().for_each(print_line);
    println!();
    println!("| primitive (same machine, same run) | cost | spread |");
    println!("|---|---:|---:|");
    for (name, s) in &h.floors {
        println!("| {name} | {} | {:.0}% |", ns(*s), s.spread * 100.0);
    }
}
