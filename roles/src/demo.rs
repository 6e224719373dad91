//! `sv2 demo`: the whole mining path in one process. A template provider on its embedded
//! regtest node (Bitcoin Core's validation engine, libbitcoinkernel), the pool, and CPU miners
//! on a standard channel with group jobs, a standard channel with per-channel jobs, and an
//! extended channel. It prints every block as the node accepts it, with the shares accepted
//! and rejected, the bytes on the wire per share and per job, and the time from the node's new
//! tip to the miners' new job. `--deployment N` runs Annex deployment N instead: 1 puts
//! `sv2 proxy` between the pool and miners on standard channels, relaying each channel; 3
//! puts it there aggregating every kind of channel into one extended channel; 5 puts
//! `sv2 translator` between the pool and SV1 CPU miners. 4 is 3 with the farm choosing its
//! transactions: the proxy's Job Declarator Client takes templates from the farm's own
//! template provider (a second embedded node) and declares them to the pool's Job
//! Declaration Server; 2 is the same for devices on standard channels (deployment 1's), which
//! Job Declaration serves through one upstream extended channel too (docs/PROXY.md); 6 is 5
//! with the farm choosing its transactions: the translator's Job Declarator Client, its SV1
//! devices aggregated into one upstream extended channel (docs/TRANSLATOR.md).
//!
//! The farm's node and the pool's node follow one chain: the farm's starts from a copy of the
//! pool's chain, and every block the farm finds goes to both (SubmitSolution to the farm's
//! template provider; PushSolution, the pool's own copy of the share, and the demo's relay of
//! each found block standing in for the Bitcoin network, to the pool's node).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;

use sv2::sv1::session::VardiffConfig;

use crate::jdc::{FoundBlock, JdConfig};
use crate::miner::sv1::Sv1MinerConfig;
use crate::miner::{self, ChannelMode, MinerConfig, MinerHandle};
use crate::pool::jds::{JdNode, JdServerConfig};
use crate::pool::{self, PoolConfig};
use crate::proxy::{Layout, ProxyConfig, ProxyHandle};
use crate::tp::source::display_hash;
use crate::tp::{self, BlockVerdict, SolutionOutcome, TpConfig};
use crate::translator::{self, TranslatorConfig, TranslatorHandle};
use crate::upstream::{PoolEndpoint, UpstreamConfig};

/// `sv2 demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after this many blocks (0: run until Ctrl-C).
    #[arg(long, default_value_t = 20)]
    pub blocks: u32,
    /// Miners (they take turns: standard with group jobs, standard with its own jobs, extended).
    #[arg(long, default_value_t = 3)]
    pub miners: usize,
    /// Hashing threads per miner.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Shares a minute the pool's vardiff aims at per miner. On regtest every share is a
    /// block, so this sets the pace of the chain.
    #[arg(long, default_value_t = 20.0)]
    pub shares_per_minute: f64,
    /// Keep the chain, keys and share database here (default: a temporary directory removed
    /// at the end, except the share database, which is kept beside it).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// What mines: 0, SV2 CPU miners straight to the pool; 1, SV2 miners on standard channels
    /// through `sv2 proxy` relaying each channel; 3, SV2 miners on every kind of channel
    /// through `sv2 proxy` aggregating them into one extended channel; 5, SV1 CPU miners (like
    /// Bitaxe and like cgminer, in turn) through `sv2 translator`; 2, 4 and 6, 1, 3 and 5 with
    /// the farm choosing its transactions (Job Declaration, from the farm's own node).
    #[arg(long, default_value_t = 0)]
    pub deployment: u8,
    /// Deployments 2, 4 and 6: declare in Coinbase-only mode instead of Full-Template.
    #[arg(long)]
    pub coinbase_only: bool,
}

const KINDS: [(&str, ChannelMode, bool); 3] = [
    ("standard channel, group jobs", ChannelMode::Standard, false),
    ("standard channel, own jobs", ChannelMode::Standard, true),
    ("extended channel", ChannelMode::Extended, false),
];

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<(), String> {
    crate::logging::init("warn");
    if !(args.shares_per_minute.is_finite() && args.shares_per_minute > 0.0) {
        return Err("--shares-per-minute must be a positive number".into());
    }
    if args.miners == 0 || args.miners > 64 {
        return Err("--miners must be between 1 and 64".into());
    }
    if args.deployment > 6 {
        return Err(format!("--deployment {}: this demo runs deployments 0 to 6", args.deployment));
    }
    let (dir, temporary) = match &args.data_dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("sv2-demo-{}", std::process::id())), true),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let result = rt.block_on(demo(&args, &dir));
    drop(rt);
    if temporary {
        // The chain and keys go; the share records stay for the user to open.
        let kept = dir.with_extension("sqlite");
        if std::fs::rename(dir.join("pool").join("pool.sqlite"), &kept).is_ok() {
            println!("share records kept in {} (sqlite3; see docs/POOL.md for its tables)", kept.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn demo(args: &DemoArgs, dir: &std::path::Path) -> Result<(), String> {
    match args.deployment {
        1 | 3 => println!(
            "libsv2 demo, deployment {}: template provider + pool + proxy + {} miners in one process\n",
            args.deployment, args.miners
        ),
        2 | 4 => println!(
            "libsv2 demo, deployment {}: pool's node and template provider + pool with its Job Declaration Server\n\
             + farm's node and template provider + proxy with its Job Declarator Client + {} miners in one process\n",
            args.deployment, args.miners
        ),
        5 => println!(
            "libsv2 demo, deployment 5: template provider + pool + translator + {} SV1 miners in one process\n",
            args.miners
        ),
        6 => println!(
            "libsv2 demo, deployment 6: pool's node and template provider + pool with its Job Declaration Server\n\
             + farm's node and template provider + translator with its Job Declarator Client + {} SV1 miners in one process\n",
            args.miners
        ),
        _ => println!("libsv2 demo: template provider + pool + {} miners in one process\n", args.miners),
    }
    print!("starting the embedded regtest node (libbitcoinkernel) ... ");
    let mut tp_config = TpConfig::embedded(dir.join("tp"));
    tp_config.fee_check_interval = Duration::from_millis(500);
    let tp = tp::start(tp_config.clone()).await?;
    let jd = matches!(args.deployment, 2 | 4 | 6);
    let (tp, farm_tp) = match jd {
        true => two_nodes(tp, tp_config, dir).await.map(|(a, b)| (a, Some(b)))?,
        false => (tp, None),
    };
    println!("tip at height {}", tp.tip().height);
    println!("template provider  {}  authority {}", tp.addr(), tp.authority());
    if let Some(f) = &farm_tp {
        println!(
            "template provider  {}  authority {}  (the farm's own node, a copy of the pool's chain)",
            f.addr(),
            f.authority()
        );
    }

    use bitcoin::hashes::Hash as _;
    let payout = bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([0x5a; 20]));
    let mut pool_config = PoolConfig::new(dir.join("pool"), tp.addr().to_string(), payout.to_bytes());
    pool_config.tp_authority = Some(tp.authority());
    pool_config.shares_per_minute = args.shares_per_minute;
    // CPU miners on regtest: let vardiff go as easy as the demo's share rate asks.
    pool_config.min_difficulty = 1e-9;
    pool_config.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    if jd {
        let node = tp.embedded_node().ok_or("the pool's template provider runs no embedded node")?;
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        pool_config.jds = Some(JdServerConfig::new(listen, JdNode::Embedded(node)));
    }
    let pool = pool::start(pool_config).await?;
    println!("pool               {}  authority {}", pool.addr(), pool.authority());
    if let Some(a) = pool.jds_addr() {
        println!("jds                {a}  authority {}  (checks declared jobs with the pool's node)", pool.authority());
    }
    if let Some(m) = pool.metrics_addr() {
        println!("pool metrics       http://{m}/metrics");
    }
    if args.data_dir.is_some() {
        println!("pool share records {}", pool.database().display());
    }

    let (miners, farm) = match args.deployment {
        5 | 6 => {
            let (m, t) = sv1_miners(args, &pool, farm_tp.as_ref()).await?;
            (m, Some(Farm::Translator(t)))
        }
        1..=4 => {
            let (m, p) = proxied_miners(args, &pool, farm_tp.as_ref(), dir).await?;
            (m, Some(Farm::Proxy(p)))
        }
        _ => (sv2_miners(args, pool.addr().to_string(), pool.authority(), &KINDS), None),
    };
    println!();

    // With Job Declaration the farm's template provider takes the blocks first.
    let mined = farm_tp.as_ref().unwrap_or(&tp);
    let found = FoundBlocks::default();
    let relay = match farm.as_ref().and_then(Farm::jd_blocks) {
        Some(blocks) => Some(relay_blocks(blocks, &tp, found.clone())?),
        None => None,
    };
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let watchers = watch_tip_latency(mined, &miners, latencies.clone());
    let mut reports = mined.solutions();
    let mut accepted = 0u32;
    let mut last_height = mined.tip().height;
    let started = Instant::now();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let report = tokio::select! {
            r = reports.recv() => match r {
                Ok(r) => r,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let Some(hash) = report.block_hash else { continue };
        let verdict = match &report.outcome {
            SolutionOutcome::Node(BlockVerdict::NewTip) => {
                accepted += 1;
                last_height = mined.wait_for_height(last_height + 1).await.height;
                format!("#{last_height:<4} accepted by libbitcoinkernel")
            }
            other => format!("      not the tip: {other:?}"),
        };
        let (finder, txs) = if jd {
            // The relay recorded it just before or after the farm's node took it.
            let mut seen = None;
            for _ in 0..100 {
                seen = found.lock().unwrap_or_else(|e| e.into_inner()).get(&hash).copied();
                if seen.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            match seen {
                Some((solo, n)) => (if solo { "farm, solo" } else { "farm, declared" }.to_string(), tx_count(n)),
                None => ("?".into(), "?"),
            }
        } else {
            // The pool writes its record of the block just after submitting it.
            let mut found = None;
            for _ in 0..100 {
                found = pool.records().ok().and_then(|r| r.blocks.into_iter().rev().find(|b| b.hash == hash));
                if found.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            found.map_or(("?".into(), "?"), |b| {
                (b.identity, if b.merkle_path_len > 0 { "with transactions" } else { "coinbase only" })
            })
        };
        let m = pool.metrics();
        let (sent, share_bytes, jobs, job_bytes) = miners.iter().fold((0, 0, 0, 0), |acc, (_, h)| {
            let s = h.stats();
            (acc.0 + s.submitted, acc.1 + s.share_bytes, acc.2 + s.jobs + s.tips, acc.3 + s.job_bytes)
        });
        let lat = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
        println!(
            "block {verdict}  {}…  by {finder:<11} {txs:<17} | shares ok {} rejected {} | {} B/share {} B/job msg | new tip -> miner job {}",
            &display_hash(&hash)[..16],
            m.shares_accepted.load(Ordering::Relaxed),
            m.rejected_total(),
            share_bytes.checked_div(sent).unwrap_or(0),
            job_bytes.checked_div(jobs).unwrap_or(0),
            latency_text(&lat),
        );
        // Give the node's mempool new transactions now and then, so blocks keep carrying some.
        // (With Job Declaration, to the farm's node only: the pool's JDS asks for them.)
        if accepted % 3 == 0 {
            let _ = mined.add_transactions(2).await;
        }
        if args.blocks > 0 && accepted >= args.blocks {
            break;
        }
    }
    for w in watchers {
        w.abort();
    }
    if let Some(r) = relay {
        r.abort();
    }
    println!();
    let secs = started.elapsed().as_secs_f64();
    println!("{accepted} blocks accepted in {secs:.1} s");
    for (user, h) in &miners {
        let s = h.stats();
        println!(
            "{user}: {:.2} MH/s, shares sent {} accepted {} rejected {:?}, found stale before sending {}",
            s.hashrate() / 1e6,
            s.submitted,
            s.accepted,
            s.rejected,
            s.dropped_stale
        );
    }
    let m = pool.metrics();
    println!(
        "pool: shares accepted {}, rejected {}, blocks found {}, accepted as tip {}, bytes sent {} received {}",
        m.shares_accepted.load(Ordering::Relaxed),
        m.rejected_total(),
        m.blocks_found.load(Ordering::Relaxed),
        m.blocks_accepted.load(Ordering::Relaxed),
        m.bytes_out.load(Ordering::Relaxed),
        m.bytes_in.load(Ordering::Relaxed),
    );
    if let Some(f) = &farm {
        if let Some(s) = f.jd_stats() {
            let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            println!(
                "jdc: jobs declared {} (JDS accepted {}, refused {}), missing transactions sent {}, custom jobs accepted by the pool {}, solo jobs {}, blocks {} (PushSolution {}), fallbacks {}",
                n(&s.declared),
                n(&s.declarations_accepted),
                n(&s.declarations_refused),
                n(&s.missing_transactions_sent),
                n(&s.custom_jobs_accepted),
                n(&s.solo_jobs),
                n(&s.blocks_found),
                n(&s.solutions_pushed),
                n(&s.fallbacks)
            );
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let (d, c) = (&s.declare_round_trip, &s.custom_job_round_trip);
            println!(
                "jdc: DeclareMiningJob -> Success {:.2} ms mean, {:.2} max over {}; SetCustomMiningJob -> Success {:.2} ms mean, {:.2} max over {}",
                ms(d.mean()),
                ms(d.max()),
                d.count(),
                ms(c.mean()),
                ms(c.max()),
                c.count()
            );
        }
    }
    if let Some(f) = &farm {
        let s = f.metrics().totals();
        println!(
            "{}: device shares accepted {}, rejected {}, forwarded {} (pool accepted {}, rejected {}), below the pool's target {}",
            f.name(),
            s.shares_accepted,
            s.rejected_total(),
            s.shares_forwarded,
            s.upstream_accepted,
            s.upstream_rejected_total(),
            s.shares_below_upstream
        );
    }
    for (_, h) in miners {
        h.shutdown().await;
    }
    match farm {
        Some(Farm::Translator(t)) => t.shutdown().await,
        Some(Farm::Proxy(p)) => p.shutdown().await,
        None => {}
    }
    pool.shutdown().await;
    tp.shutdown().await;
    if let Some(f) = farm_tp {
        f.shutdown().await;
    }
    Ok(())
}

/// How a farm's block reads in the demo's lines ("coinbase only" would read as the JD mode).
fn tx_count(n: usize) -> &'static str {
    match n {
        0 => "no transactions",
        _ => "with transactions",
    }
}

/// The farm's node for Job Declaration: the pool's node is stopped (its chain is then on
/// disk), its chain copied for the farm's node, and both started: one chain. Returns (the
/// pool's, the farm's) template providers.
async fn two_nodes(
    pool_tp: tp::TpHandle,
    config: TpConfig,
    dir: &std::path::Path,
) -> Result<(tp::TpHandle, tp::TpHandle), String> {
    pool_tp.shutdown().await;
    let farm_dir = dir.join("farm-tp");
    let _ = std::fs::remove_dir_all(farm_dir.join("regtest"));
    copy_dir(&config.data_dir.join("regtest"), &farm_dir.join("regtest"))
        .map_err(|e| format!("copying the chain for the farm's node: {e}"))?;
    let pool_tp = tp::start(config.clone()).await?;
    let mut farm = TpConfig::embedded(farm_dir);
    farm.fee_check_interval = config.fee_check_interval;
    let farm_tp = tp::start(farm).await?;
    Ok((pool_tp, farm_tp))
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

/// Blocks the farm found (Job Declaration): whether solo, and how many transactions.
type FoundBlocks = Arc<Mutex<HashMap<[u8; 32], (bool, usize)>>>;

/// Hands every block the farm finds to the pool's node too (the network's part between the
/// two embedded nodes) and notes who it pays and whether it carries transactions.
fn relay_blocks(
    mut blocks: tokio::sync::broadcast::Receiver<FoundBlock>,
    pool_tp: &tp::TpHandle,
    found: FoundBlocks,
) -> Result<tokio::task::JoinHandle<()>, String> {
    use crate::tp::source::TemplateSource as _;
    let node = pool_tp.embedded_node().ok_or("the pool's template provider runs no embedded node")?;
    Ok(tokio::spawn(async move {
        while let Ok(b) = blocks.recv().await {
            // Transactions after the coinbase: the block's count is a CompactSize after the header.
            let n = match b.block.get(80) {
                Some(&c) if c < 0xfd => usize::from(c).saturating_sub(1),
                _ => usize::MAX,
            };
            found.lock().unwrap_or_else(|e| e.into_inner()).insert(b.hash, (b.solo, n));
            let _ = node.submit_block(b.block).await;
        }
    }))
}

/// The role between the miners and the pool, when there is one.
enum Farm {
    Translator(TranslatorHandle),
    Proxy(ProxyHandle),
}

impl Farm {
    fn name(&self) -> &'static str {
        match self {
            Farm::Translator(_) => "translator",
            Farm::Proxy(_) => "proxy",
        }
    }

    fn metrics(&self) -> &crate::farm_metrics::Metrics {
        match self {
            Farm::Translator(t) => t.metrics(),
            Farm::Proxy(p) => p.metrics(),
        }
    }

    /// The blocks its Job Declarator Client finds (None: no Job Declaration).
    fn jd_blocks(&self) -> Option<tokio::sync::broadcast::Receiver<FoundBlock>> {
        match self {
            Farm::Translator(t) => t.jd_blocks(),
            Farm::Proxy(p) => p.jd_blocks(),
        }
    }

    fn jd_stats(&self) -> Option<&crate::jdc::JdcStats> {
        match self {
            Farm::Translator(t) => t.jd_stats(),
            Farm::Proxy(p) => p.jd_stats(),
        }
    }
}

/// SV2 CPU miners on the channel `kinds` in turn, to the server at `addr` (deployment 0: the
/// pool).
fn sv2_miners(
    args: &DemoArgs,
    addr: String,
    authority: sv2::noise::AuthorityPublicKey,
    kinds: &[(&str, ChannelMode, bool)],
) -> Vec<(String, MinerHandle)> {
    let mut miners = Vec::new();
    for i in 0..args.miners {
        let (kind, mode, standard_jobs) = kinds[i % kinds.len()];
        let user = format!("demo.miner{}", i + 1);
        let mut c = MinerConfig::new(addr.clone(), authority, &user, mode);
        c.threads = args.threads.max(1);
        c.requires_standard_jobs = standard_jobs;
        c.report_every = None;
        println!("miner              {user}: {kind}, {} thread(s)", c.threads);
        miners.push((user, miner::start(c)));
    }
    miners
}

/// Deployments 1 to 4: `sv2 proxy` in front of the pool, relaying each standard channel
/// (1) or aggregating every kind of channel into one extended channel (3), with Job
/// Declaration from the farm's node `farm_tp` (2 and 4: aggregating), and SV2 CPU miners
/// behind it.
async fn proxied_miners(
    args: &DemoArgs,
    pool: &pool::PoolHandle,
    farm_tp: Option<&tp::TpHandle>,
    dir: &std::path::Path,
) -> Result<(Vec<(String, MinerHandle)>, ProxyHandle), String> {
    let pools = vec![PoolEndpoint::new(pool.addr().to_string(), pool.authority())];
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let mut c = ProxyConfig::new(dir.join("proxy"), listen, UpstreamConfig::new(pools));
    // Job Declaration needs one upstream extended channel: deployment 2 aggregates too.
    let aggregate = args.deployment != 1;
    c.jd = farm_jd(args, pool, farm_tp);
    c.layout = if aggregate { Layout::Aggregate } else { Layout::PassThrough };
    c.user = "demo.proxy".into();
    c.nominal_hashrate = 1e6 * args.miners as f32;
    // CPU miners on regtest: let the proxy's vardiff go as easy as the demo's share rate asks.
    c.server.min_difficulty = 1e-9;
    c.server.shares_per_minute = args.shares_per_minute;
    c.metrics_listen = Some(listen);
    let p = crate::proxy::start(c).await?;
    let layout = if aggregate { "aggregating into one extended channel" } else { "one standard channel per device" };
    println!("proxy              {}  authority {}  ({layout})", p.addr(), p.authority());
    if let Some(m) = p.metrics_addr() {
        println!("proxy metrics      http://{m}/metrics and http://{m}/stats.json");
    }
    if print_jdc(args, pool, farm_tp) && args.deployment == 2 {
        println!("                   deployment 2: SetCustomMiningJob needs an extended channel, so the standard device channels are aggregated into one");
    }
    // Pass-through (and deployment 2's devices) on standard channels; aggregation takes every kind.
    let kinds = if matches!(args.deployment, 1 | 2) { &KINDS[..2] } else { &KINDS[..] };
    Ok((sv2_miners(args, p.addr().to_string(), p.authority(), kinds), p))
}

/// The Job Declarator Client of deployments 2, 4 and 6: templates from the farm's node,
/// declared to the pool's JDS, solo to a made-up key while no JDS is usable.
fn farm_jd(args: &DemoArgs, pool: &pool::PoolHandle, farm_tp: Option<&tp::TpHandle>) -> Option<JdConfig> {
    let (farm, jds) = (farm_tp?, pool.jds_addr()?);
    let mut jd =
        JdConfig::new(vec![Some(PoolEndpoint::new(jds.to_string(), pool.authority()))], farm.addr().to_string());
    jd.tp_authority = Some(farm.authority());
    jd.full_template = !args.coinbase_only;
    use bitcoin::hashes::Hash as _;
    let solo = bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([0xfa; 20]));
    jd.solo_payout = Some(solo.to_bytes());
    Some(jd)
}

/// The `jdc` lines, when the farm declares (returns whether it does).
fn print_jdc(args: &DemoArgs, pool: &pool::PoolHandle, farm_tp: Option<&tp::TpHandle>) -> bool {
    let (Some(farm), Some(jds)) = (farm_tp, pool.jds_addr()) else { return false };
    let mode = if args.coinbase_only { "coinbase-only" } else { "full-template" };
    println!("jdc                {}  templates from the farm's node, declared to jds {jds}, {mode}", farm.addr());
    println!("                   the pool's node gets every block the farm finds (PushSolution, the pool, and this demo's relay for the network)");
    true
}

/// Deployments 5 and 6: `sv2 translator` in front of the pool, and SV1 CPU miners that speak
/// to it like Bitaxe (version rolling, extranonce.subscribe) and like cgminer (neither), in
/// turn; 6 with Job Declaration from the farm's node `farm_tp` (the devices aggregated into
/// one extended channel).
async fn sv1_miners(
    args: &DemoArgs,
    pool: &pool::PoolHandle,
    farm_tp: Option<&tp::TpHandle>,
) -> Result<(Vec<(String, MinerHandle)>, TranslatorHandle), String> {
    let pools = vec![PoolEndpoint::new(pool.addr().to_string(), pool.authority())];
    let mut c = TranslatorConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), pools);
    c.device_hashrate = 1e5;
    // CPU miners on regtest: difficulties far below 1.
    c.session.min_difficulty = 1e-9;
    c.session.initial_difficulty = 1e-5;
    c.session.vardiff = Some(VardiffConfig { shares_per_minute: args.shares_per_minute, window_secs: 20 });
    c.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    c.jd = farm_jd(args, pool, farm_tp);
    // Job Declaration sets custom jobs on one extended channel: the devices are aggregated.
    c.aggregate = c.jd.is_some();
    if c.aggregate {
        c.user = "demo.translator".into();
    }
    let t = translator::start(c).await?;
    let layout = if t.jd_stats().is_some() { "aggregated into one extended channel" } else { "one channel per device" };
    println!("translator         {}  (Stratum V1, {layout})", t.addr());
    if let Some(m) = t.metrics_addr() {
        println!("translator metrics http://{m}/metrics and http://{m}/stats.json");
    }
    if print_jdc(args, pool, farm_tp) {
        println!("                   deployment 6: SetCustomMiningJob needs an extended channel, so the SV1 devices share one");
    }
    let mut miners = Vec::new();
    for i in 0..args.miners {
        let bitaxe = i % 2 == 0;
        let user = format!("demo.sv1miner{}", i + 1);
        let mut m = Sv1MinerConfig::new(t.addr().to_string(), &user);
        m.threads = args.threads.max(1);
        m.configure = bitaxe;
        m.extranonce_subscribe = bitaxe;
        m.report_every = None;
        let kind = if bitaxe { "SV1 like Bitaxe (version rolling, extranonce.subscribe)" } else { "SV1 like cgminer" };
        println!("miner              {user}: {kind}, {} thread(s)", m.threads);
        miners.push((user, miner::sv1::start(m)));
    }
    Ok((miners, t))
}

fn latency_text(l: &[Duration]) -> String {
    if l.is_empty() {
        return "-".into();
    }
    let mut v = l.to_vec();
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "{:.2} ms (median {:.2}, max {:.2} over {})",
        ms(l[l.len() - 1]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

/// Measures, for every miner, the time from the node learning of a new tip to that miner
/// receiving its SetNewPrevHash.
fn watch_tip_latency(
    tp: &tp::TpHandle,
    miners: &[(String, MinerHandle)],
    out: Arc<Mutex<Vec<Duration>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let seen: Arc<Mutex<HashMap<[u8; 32], Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    let mut tips = tp.tips();
    let record = seen.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            let t = *tips.borrow_and_update();
            record.lock().unwrap_or_else(|e| e.into_inner()).insert(t.hash, t.seen);
            if tips.changed().await.is_err() {
                return;
            }
        }
    }));
    for (_, m) in miners {
        let mut rx = m.tips();
        let (seen, out) = (seen.clone(), out.clone());
        tasks.push(tokio::spawn(async move {
            // The first tip a miner hears of is the one current when it connected.
            let mut first = true;
            while rx.changed().await.is_ok() {
                let Some(t) = *rx.borrow_and_update() else { continue };
                if std::mem::take(&mut first) {
                    continue;
                }
                // The node's tip watcher may run a moment after the miner heard of the tip.
                for _ in 0..50 {
                    let at = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&t.prev_hash).copied();
                    if let Some(at) = at {
                        out.lock().unwrap_or_else(|e| e.into_inner()).push(t.at.saturating_duration_since(at));
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }));
    }
    tasks
}
