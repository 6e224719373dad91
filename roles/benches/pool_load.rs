//! The pool under load: N simulated miners over Noise on loopback, each on a standard channel
//! submitting shares at a fixed rate. Reports the shares per second the pool answered, the
//! time from a share leaving the miner to its answer arriving (p50, p99, max), and the pool
//! process's resident memory per connection.
//!
//! `cargo bench -p sv2-roles --bench pool_load -- [MINERS[:SHARES_PER_SEC_EACH]]...`
//! (default `1000:1 10000:0.5`).
//!
//! The pool runs as its own process (`sv2 pool`, so its memory is its own), fed by a template
//! provider on the embedded regtest node in this process. Every share is a real one: a
//! header at or below the channel target, validated by the pool and committed to SQLite before
//! its SubmitShares.Success. The pool is configured so that every hash is a share
//! (`default_hashrate` tiny, vardiff aiming at more shares than anyone sends), and the miners
//! send only headers above regtest's block target, so that no share is a block and the tip
//! stays put for the whole run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sv2::channels::client::{ClientChannel, ClientChannels};
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::target::{hash_meets_target, target_from_nbits, MAX_TARGET};
use sv2::codec::{Bytes, Str0_255};
use sv2::messages::mining_flags::REQUIRES_STANDARD_JOBS;
use sv2::messages::{OpenStandardMiningChannel, SetupConnection, SubmitSharesStandard};
use sv2::noise::{AuthorityPublicKey, ServerAuth};
use sv2::Message;
use sv2_roles::net::{load_authority_key, Connection, Limits};
use tokio::sync::{Barrier, Mutex};

const MEASURE: Duration = Duration::from_secs(15);

struct Pool(Child);

impl Drop for Pool {
    fn drop(&mut self) {
        // SIGTERM first so the pool closes its database cleanly.
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    answered: u64,
    rejected: u64,
    sent: u64,
}

/// One simulated miner: connect, open a standard channel, then a share every `period` until
/// `stop`, timing each answer.
async fn miner(
    addr: SocketAddr,
    authority: AuthorityPublicKey,
    index: usize,
    period: Duration,
    ready: Arc<Barrier>,
    start: Arc<tokio::sync::watch::Receiver<Option<Instant>>>,
    tally: Arc<Mutex<Tally>>,
) -> Result<(), String> {
    let limits = Limits { handshake: Duration::from_secs(120), ..Limits::default() };
    let mut conn =
        Connection::connect(addr, ServerAuth::Authority(authority), limits).await.map_err(|e| e.to_string())?;
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: REQUIRES_STANDARD_JOBS,
        endpoint_host: Str0_255::EMPTY,
        endpoint_port: 0,
        vendor: Str0_255::from_str("libsv2-load").unwrap(),
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    };
    conn.send(&setup.into()).await.map_err(|e| e.to_string())?;
    let user = format!("load.m{index}");
    let open = OpenStandardMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str(&user).unwrap(),
        nominal_hash_rate: 0.0,
        max_target: MAX_TARGET,
    };
    conn.send(&open.into()).await.map_err(|e| e.to_string())?;
    let mut channels = ClientChannels::new();
    let mut channel_id = 0;
    let work = loop {
        let f = conn.read_frame().await.map_err(|e| e.to_string())?;
        let msg = f.message().map_err(|e| e.to_string())?.0;
        match msg {
            Message::SetupConnectionSuccess(_) => {}
            Message::OpenStandardMiningChannelSuccess(s) => {
                channel_id = s.channel_id;
                channels.insert(
                    ClientChannel::standard(s.channel_id, s.target, s.extranonce_prefix.as_bytes(), true),
                    s.group_channel_id,
                );
            }
            other => {
                channels.on_message(&other);
            }
        }
        if let Some(w) = channels.get(channel_id).and_then(|c| c.work(&[])) {
            break w;
        }
    };
    ready.wait().await;
    let mut start_rx = (*start).clone();
    let t0 = start_rx.wait_for(|s| s.is_some()).await.map_err(|e| e.to_string())?.expect("set");
    let block_target = target_from_nbits(work.nbits);
    let mut nonce = (index as u32).wrapping_mul(0x9E37_79B9);
    let mut seq = 0u32;
    let mut outstanding: VecDeque<(u32, Instant)> = VecDeque::new();
    let mut mine = Tally::default();
    // Spread the miners' sends over the period.
    let offset = period.mul_f64((index % 1000) as f64 / 1000.0);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(t0) + offset, period);
    let end = t0 + MEASURE;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if Instant::now() >= end {
                    break;
                }
                // A header that meets the share target but not the block target.
                loop {
                    nonce = nonce.wrapping_add(1);
                    let h = sha256d(&header_bytes(work.version, &work.prev_hash, &work.merkle_root, work.min_ntime, work.nbits, nonce));
                    if hash_meets_target(&h, &work.target) && !hash_meets_target(&h, &block_target) {
                        break;
                    }
                }
                seq += 1;
                let share = SubmitSharesStandard { channel_id, sequence_number: seq, job_id: work.job_id, nonce, ntime: work.min_ntime, version: work.version };
                outstanding.push_back((seq, Instant::now()));
                mine.sent += 1;
                conn.send(&share.into()).await.map_err(|e| e.to_string())?;
            }
            f = conn.read_frame() => {
                let f = f.map_err(|e| e.to_string())?;
                match f.message().map_err(|e| e.to_string())?.0 {
                    Message::SubmitSharesSuccess(s) => {
                        while outstanding.front().is_some_and(|(q, _)| *q <= s.last_sequence_number) {
                            let (_, at) = outstanding.pop_front().expect("checked");
                            mine.latencies_us.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                            mine.answered += 1;
                        }
                    }
                    Message::SubmitSharesError(e) => {
                        outstanding.retain(|(q, _)| *q != e.sequence_number);
                        mine.rejected += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    let mut t = tally.lock().await;
    t.latencies_us.extend(mine.latencies_us);
    t.answered += mine.answered;
    t.rejected += mine.rejected;
    t.sent += mine.sent;
    Ok(())
}

async fn run(n: usize, rate_each: f64, tp_addr: SocketAddr, tp_authority: &str) {
    let dir = std::env::temp_dir().join(format!("sv2-pool-load-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
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
    let pool = Pool(child);
    let pid = pool.0.id();
    let authority = loop {
        if let Ok(k) = load_authority_key(&dir.join("authority.pub")) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break k;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_kib(pid);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let ready = Arc::new(Barrier::new(n + 1));
    let (start_tx, start_rx) = tokio::sync::watch::channel(None);
    let start_rx = Arc::new(start_rx);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let period = Duration::from_secs_f64(1.0 / rate_each);
    let connect_start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        tasks.spawn(miner(addr, authority, i, period, ready.clone(), start_rx.clone(), tally.clone()));
        if i % 200 == 199 {
            // Let the pool's accept queue drain between bursts.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let barrier = ready.clone();
    tokio::select! {
        _ = barrier.wait() => {}
        Some(r) = tasks.join_next() => panic!("a miner failed while connecting: {r:?}"),
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = rss_kib(pid);
    let t0 = Instant::now();
    start_tx.send_replace(Some(t0));
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if !matches!(r, Ok(Ok(()))) {
            failed += 1;
        }
    }
    // Shares go out for MEASURE; answers that come after it still count (they are timed).
    let elapsed = MEASURE.as_secs_f64();
    let mut t = tally.lock().await;
    t.latencies_us.sort_unstable();
    let q = |p: f64| {
        t.latencies_us
            .get(((t.latencies_us.len() as f64 * p) as usize).min(t.latencies_us.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "{n:>6} miners x {rate_each} share/s: offered {:.0}/s, answered {:.0}/s ({} of {} sent, {} rejected, {failed} miners failed) | \
         answer p50 {:.2} ms p99 {:.2} ms max {:.2} ms | pool RSS {} MiB idle, {} MiB with {n} connections = {:.1} KiB per connection | {:.1} s to connect all",
        n as f64 * rate_each,
        t.answered as f64 / elapsed,
        t.answered,
        t.sent,
        t.rejected,
        q(0.5),
        q(0.99),
        t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        rss_idle / 1024,
        rss_connected / 1024,
        (rss_connected.saturating_sub(rss_idle)) as f64 / n as f64,
        connect_secs,
    );
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let runs: Vec<(usize, f64)> = {
        let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
        let parsed: Vec<(usize, f64)> = args
            .iter()
            .filter_map(|a| {
                let (n, r) = a.split_once(':').unwrap_or((a, "1"));
                Some((n.parse().ok()?, r.parse().ok()?))
            })
            .collect();
        if parsed.is_empty() {
            vec![(1000, 1.0), (10_000, 0.5)]
        } else {
            parsed
        }
    };
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
            "pool load on loopback, {} cores; measuring {} s per run",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            MEASURE.as_secs()
        );
        for (n, rate) in runs {
            run(n, rate, tp.addr(), &authority).await;
        }
        tp.shutdown().await;
        let _ = std::fs::remove_dir_all(&tp_dir);
    });
}
