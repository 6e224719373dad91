//! The pool under load: N simulated miners over Noise on loopback, each on a standard channel
//! submitting shares at a fixed rate. Reports the shares per second the pool answered, the
//! time from a share leaving the miner to its answer arriving (p50, p99, max), the pool
//! process's resident memory per connection and its CPU.
//!
//! `cargo bench -p sv2-roles --bench pool_load -- [MINERS[:SHARES_PER_SEC_EACH]]... [POOL...]`
//! (default `1000:1 10000:0.5`, all three servers). The servers, run one after the other for
//! each load with the same miners (the pools on the same template provider):
//!
//! - **ours**: `sv2 pool` as its own process (so its memory is its own), fed by a template
//!   provider on the embedded regtest node in this process. Every share is a real one: a
//!   header at or below the channel target, validated by the pool and committed to SQLite
//!   before its SubmitShares.Success. The pool is configured so that every hash is a share
//!   (`default_hashrate` tiny, vardiff aiming at more shares than anyone sends).
//! - **reference-pool**: the reference implementation's `pool_sv2` (found in `$SV2_REF_BINS`
//!   or `target/ref-bins/bin`, where `scripts/interop-roles.sh` installs it; skipped with a
//!   message when absent) on the same template provider, answering each share
//!   (`share_batch_size = 1`). A channel opened with a nominal hashrate of 0 gets the easiest
//!   target there is, as at ours; `shares_per_minute` is 1e9, as at ours, so that whatever
//!   hashrate its vardiff (every 60 s, not configurable) settles on still gives the easiest
//!   target (a harder one from its vardiff during a run would have the miners hash for each
//!   share, as it never does at ours).
//! - **transport-floor**: not a pool; the pool's transport alone answering every share unread
//!   (`transport_floor.rs`), this binary again as its own process. Ours over it is what the
//!   pool's own work costs; its own figures are the most this machine gives any pool built on
//!   that transport with this load generator beside it.
//!
//! The miners send only headers above regtest's block target, so that no share is a block and
//! the tip stays put for the whole run.

mod load_common;
#[path = "pool_load/transport_floor.rs"]
mod transport_floor;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use load_common::{
    cpu_ms, load_average, print_log_tail, reference_binary, rss_kib, start_reference, sv2_miner, MinerId, Reaped, Run,
};
use sv2::noise::AuthorityPublicKey;
use sv2_roles::net::load_authority_key;

const MEASURE: Duration = Duration::from_secs(15);

/// How long N miners may take to connect and get their first job.
const CONNECT_PATIENCE: Duration = Duration::from_secs(240);

/// The reference pool's example authority key pair (from its published example configs).
const REF_AUTHORITY_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
const REF_AUTHORITY_SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";
/// A regtest address for the reference pool's coinbase.
const REGTEST_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

/// The pool under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    Ours,
    Reference,
    /// Not a pool: the transport alone answering every share (see `transport_floor`).
    Floor,
}

impl Pool {
    const ALL: [Pool; 3] = [Pool::Ours, Pool::Reference, Pool::Floor];

    fn name(self) -> &'static str {
        match self {
            Pool::Ours => "ours",
            Pool::Reference => "reference-pool",
            Pool::Floor => "transport-floor",
        }
    }
}

/// What one run measured.
struct Measured {
    answered_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    kib_per_connection: f64,
    /// The pool process's CPU over the run, in cores.
    cpu_cores: f64,
    cpu_us_per_share: f64,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `sv2 pool` with its data in `dir`; returns it and its authority once it listens.
async fn start_ours(dir: &Path, port: u16, tp_addr: SocketAddr, tp_authority: &str) -> (Reaped, AuthorityPublicKey) {
    let child = Command::new(env!("CARGO_BIN_EXE_sv2"))
        .arg("pool")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
        .args([
            "--data-dir",
            dir.to_str().unwrap(),
            "--tp-address",
            &tp_addr.to_string(),
            "--tp-authority",
            tp_authority,
        ])
        .args(["--payout-script-hex", "0014111111111111111111111111111111111111111111"])
        .env("SV2_POOL_SHARES_PER_MINUTE", "1e9")
        .env("SV2_POOL_DEFAULT_HASHRATE", "1e-9")
        .env("SV2_POOL_MIN_DIFFICULTY", "1e-12")
        .env("SV2_POOL_VARDIFF_WINDOW_SECS", "100000")
        .env("SV2_POOL_MAX_CONNECTIONS", "20000")
        .env("SV2_POOL_SETUP_TIMEOUT_SECS", "300")
        .env("SV2_POOL_HANDSHAKE_TIMEOUT_SECS", "120")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("sv2 pool starts");
    // SIGTERM first so the pool closes its database cleanly.
    let pool = Reaped::terminate_on_drop(child);
    (pool, listening(dir, port).await)
}

/// The authority a server made in `dir`, once it listens on `port`.
async fn listening(dir: &Path, port: u16) -> AuthorityPublicKey {
    loop {
        if let Ok(k) = load_authority_key(&dir.join("authority.pub")) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return k;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the transport floor (this binary again, as its own process) with its identity in
/// `dir`; returns it and its authority once it listens.
async fn start_floor(dir: &Path, port: u16) -> (Reaped, AuthorityPublicKey) {
    let child = Command::new(std::env::current_exe().expect("this binary"))
        .env(transport_floor::SERVE_ENV, format!("{port}:{}", dir.display()))
        .stdout(Stdio::null())
        .spawn()
        .expect("the transport floor starts");
    let floor = Reaped::kill_on_drop(child);
    (floor, listening(dir, port).await)
}

/// The reference pool's configuration: listening on `port`, templates from our template
/// provider, every share answered, vardiff aiming at more shares than anyone sends.
fn reference_config(port: u16, tp_addr: SocketAddr, tp_authority: &str) -> String {
    format!(
        "authority_public_key = \"{REF_AUTHORITY_PUBLIC}\"\n\
         authority_secret_key = \"{REF_AUTHORITY_SECRET}\"\n\
         cert_validity_sec = 3600\n\
         listen_address = \"127.0.0.1:{port}\"\n\
         coinbase_reward_script = \"addr({REGTEST_ADDRESS})\"\n\
         server_id = 1\n\
         pool_signature = \"libsv2 load\"\n\
         shares_per_minute = 1000000000.0\n\
         share_batch_size = 1\n\
         [template_provider_type.Sv2Tp]\n\
         address = \"{tp_addr}\"\n\
         public_key = \"{tp_authority}\"\n"
    )
}

/// Starts the reference `pool_sv2` with its config and log in `dir`; returns it once it
/// listens.
async fn start_reference_pool(
    bin: &Path,
    dir: &Path,
    port: u16,
    tp_addr: SocketAddr,
    tp_authority: &str,
) -> Result<(Reaped, AuthorityPublicKey), String> {
    let config = reference_config(port, tp_addr, tp_authority);
    let pool = start_reference(bin, dir, &config, "pool_sv2.log", SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let authority = AuthorityPublicKey::from_base58check(REF_AUTHORITY_PUBLIC).map_err(|e| format!("{e:?}"))?;
    Ok((pool, authority))
}

/// N miners at `rate_each` shares/s against `pool`; prints one line and returns what it
/// measured (`None` when the pool did not start or the miners could not all connect).
async fn run(which: Pool, n: usize, rate_each: f64, tp_addr: SocketAddr, tp_authority: &str) -> Option<Measured> {
    let name = which.name();
    let dir = std::env::temp_dir().join(format!("sv2-pool-load-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("run directory");
    let port = free_port();
    let started = match which {
        Pool::Ours => Ok(start_ours(&dir, port, tp_addr, tp_authority).await),
        Pool::Floor => Ok(start_floor(&dir, port).await),
        Pool::Reference => {
            let bin = reference_binary("pool_sv2").expect("checked before");
            start_reference_pool(&bin, &dir, port, tp_addr, tp_authority).await
        }
    };
    let (mut pool, authority) = match started {
        Ok(p) => p,
        Err(e) => {
            println!("{name}: the pool did not start: {e}");
            print_log_tail(&dir.join("pool_sv2.log"));
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
    };
    let pid = pool.id();
    // Its first template from the template provider.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let rss_idle = rss_kib(Some(pid));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let (run, start_tx) = Run::new(n, MEASURE);
    let run = Arc::new(run);
    let period = Duration::from_secs_f64(1.0 / rate_each);
    let connect_start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let run = run.clone();
        tasks.spawn(async move {
            let id = MinerId { vendor: "libsv2-load", user: format!("load.m{i}"), handshake: Duration::from_secs(120) };
            sv2_miner(addr, authority, id, i, period, &run).await
        });
        if i % 200 == 199 {
            // Let the pool's accept queue drain between bursts.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let connected = tokio::select! {
        _ = run.ready.wait() => Ok(()),
        _ = tokio::time::sleep(CONNECT_PATIENCE) => Err(format!("not all set up after {} s", CONNECT_PATIENCE.as_secs())),
        Some(r) = tasks.join_next() => Err(format!("a miner failed while connecting: {r:?}")),
    };
    if let Err(e) = connected {
        println!("{name:<15} {n} miners: {e}; this pool cannot hold {n} connections here, size skipped");
        tasks.abort_all();
        print_log_tail(&dir.join("pool_sv2.log"));
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_connected = rss_kib(Some(pid));
    let load = load_average();
    let cpu_start = cpu_ms(Some(pid));
    let t0 = Instant::now();
    start_tx.send_replace(Some(t0));
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if !matches!(r, Ok(Ok(()))) {
            failed += 1;
        }
    }
    // The miners stop sending at MEASURE and stop reading soon after; CPU over that span.
    let cpu_run = cpu_ms(Some(pid)).saturating_sub(cpu_start);
    let cpu_secs = t0.elapsed().as_secs_f64();
    let exited = matches!(pool.child.try_wait(), Ok(Some(_)));
    drop(pool);
    if exited {
        println!("{name}: the pool exited during the run");
    }
    let mut t = run.tally.lock().await;
    t.sort();
    let elapsed = MEASURE.as_secs_f64();
    let m = Measured {
        answered_per_sec: t.answered as f64 / elapsed,
        p50_ms: t.quantile_us(0.5) as f64 / 1000.0,
        p99_ms: t.quantile_us(0.99) as f64 / 1000.0,
        max_ms: t.max_us() as f64 / 1000.0,
        kib_per_connection: rss_connected.saturating_sub(rss_idle) as f64 / n as f64,
        cpu_cores: cpu_run as f64 / 1000.0 / cpu_secs,
        cpu_us_per_share: cpu_run as f64 * 1000.0 / t.answered.max(1) as f64,
    };
    println!(
        "{name:<15} {n:>6} miners x {rate_each} share/s: offered {:.0}/s, answered {:.0}/s ({} of {} sent, {} rejected, {failed} miners failed) | \
         answer p50 {:.2} ms p99 {:.2} ms max {:.2} ms | pool RSS {} MiB idle, {} MiB with {n} connections = {:.1} KiB per connection | \
         pool CPU {:.2} cores = {:.1} us per answered share | {connect_secs:.1} s to connect all ({} set-ups tried again) | load average {load}",
        n as f64 * rate_each,
        m.answered_per_sec,
        t.answered,
        t.sent,
        t.rejected,
        m.p50_ms,
        m.p99_ms,
        m.max_ms,
        rss_idle / 1024,
        rss_connected / 1024,
        m.kib_per_connection,
        m.cpu_cores,
        m.cpu_us_per_share,
        run.retried_setups.load(std::sync::atomic::Ordering::Relaxed),
    );
    if t.answered == 0 {
        print_log_tail(&dir.join("pool_sv2.log"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(m)
}

fn main() {
    if let Ok(spec) = std::env::var(transport_floor::SERVE_ENV) {
        transport_floor::serve(&spec);
        return;
    }
    // `[MINERS[:RATE]]... [POOL...]`; cargo adds `--bench`.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let (specs, names): (Vec<&String>, Vec<&String>) =
        args.iter().partition(|a| a.starts_with(|c: char| c.is_ascii_digit()));
    let mut runs: Vec<(usize, f64)> = specs
        .iter()
        .map(|a| {
            let (n, r) = a.split_once(':').unwrap_or((a, "1"));
            let parsed = (n.parse().expect("MINERS[:RATE]"), r.parse().expect("MINERS[:RATE]"));
            assert!(parsed.0 > 0 && parsed.1 > 0.0, "MINERS and RATE must be positive");
            parsed
        })
        .collect();
    if runs.is_empty() {
        runs = vec![(1000, 1.0), (10_000, 0.5)];
    }
    let mut pools: Vec<Pool> = if names.is_empty() {
        Pool::ALL.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                Pool::ALL
                    .into_iter()
                    .find(|p| p.name() == n.as_str())
                    .unwrap_or_else(|| panic!("unknown pool {n}; one of {}", Pool::ALL.map(Pool::name).join(", ")))
            })
            .collect()
    };
    if pools.contains(&Pool::Reference) {
        if let Err(path) = reference_binary("pool_sv2") {
            println!(
                "reference-pool: SKIPPED, {} not found (`bash scripts/interop-roles.sh` installs it; \
                 or point SV2_REF_BINS at its directory)",
                path.display()
            );
            pools.retain(|p| *p != Pool::Reference);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        sv2_roles::logging::init("warn");
        let tp_dir = std::env::temp_dir().join(format!("sv2-pool-load-tp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tp_dir);
        let mut config = sv2_roles::tp::TpConfig::embedded(&tp_dir);
        // One template for the whole run: no fee-driven updates.
        config.fee_check_interval = Duration::from_secs(3600);
        let tp = sv2_roles::tp::start(config).await.expect("template provider starts");
        let authority = tp.authority().to_string();
        println!(
            "pool load on loopback, {} cores; measuring {} s per run; load average {}",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            MEASURE.as_secs(),
            load_average()
        );
        for (n, rate) in runs {
            let mut results = Vec::new();
            for &p in &pools {
                results.push((p, run(p, n, rate, tp.addr(), &authority).await));
            }
            let get = |p: Pool| results.iter().find(|(x, _)| *x == p).and_then(|(_, m)| m.as_ref());
            for other in [Pool::Reference, Pool::Floor] {
                if let (Some(o), Some(r)) = (get(Pool::Ours), get(other)) {
                    print_ratios(n, rate, other, o, r);
                }
            }
        }
        tp.shutdown().await;
        let _ = std::fs::remove_dir_all(&tp_dir);
    });
}

/// One line: ours over `other` for each measure of a load.
fn print_ratios(n: usize, rate: f64, other: Pool, o: &Measured, r: &Measured) {
    // "RATIOx (OURS vs OTHER UNIT)"
    let cmp = |a: f64, b: f64, digits: usize, unit: &str| {
        format!("{:.2}x ({a:.digits$} vs {b:.digits$}{unit})", a / b.max(1e-9))
    };
    println!(
        "{n} miners x {rate}/s, ours / {}: answered {}, p50 {}, p99 {}, max {:.2}x, RSS per connection {}, \
         CPU per answered share {} ({:.2} vs {:.2} cores)",
        other.name(),
        cmp(o.answered_per_sec, r.answered_per_sec, 0, "/s"),
        cmp(o.p50_ms, r.p50_ms, 2, " ms"),
        cmp(o.p99_ms, r.p99_ms, 2, " ms"),
        o.max_ms / r.max_ms.max(1e-9),
        cmp(o.kib_per_connection, r.kib_per_connection, 1, " KiB"),
        cmp(o.cpu_us_per_share, r.cpu_us_per_share, 1, " us"),
        o.cpu_cores,
        r.cpu_cores,
    );
}
