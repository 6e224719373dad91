//! New tip to miner job: the time from the node learning of a new tip to a miner holding the
//! pool's SetNewPrevHash for it, through the template provider, the pool and the miner's
//! Noise connection, all on loopback in this process (one clock).
//!
//! `cargo bench -p sv2-roles --bench tip_latency -- [TIPS] [MINERS]...` (default 500 tips, 1 and
//! 100 miners on standard channels sharing their connection's group jobs).
//!
//! Each tip is a block the embedded node mines itself, as another pool's miner would; the
//! start is [`TipInfo::seen`] (when the node connected the block and read it back), the end is
//! when the last miner decodes the SetNewPrevHash naming it. On the way, the roles' debug
//! events on the [`TIP_TRACE`] target time each step (the node's tip published to the
//! template provider, the template provider awake, its template built, published, sent to the
//! pool; the pool's receipt, its jobs published, sent on the last connection); this bench
//! records them and prints, for each step, the time since the tip and the slowest tips step
//! by step, so that a tail can be put where it happens.
//!
//! Beside them a probe thread does nothing but sleep 1 ms at a time and note how late it
//! wakes: how long this machine lets a runnable thread of this process wait for a core. A
//! slow tip whose window holds an equally late probe wake-up was the machine's, not the
//! roles'.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::codec::{Bytes, Str0_255};
use sv2::messages::{OpenStandardMiningChannel, SetupConnection};
use sv2::Message;
use sv2_roles::net::{Connection, Limits};
use sv2_roles::pool::PoolConfig;
use sv2_roles::tp::{TpConfig, TIP_TRACE};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The steps in the order a tip takes them; `miner` is this bench's own.
const STAGES: [&str; 9] = [
    "node.watch",
    "tp.woke",
    "tp.template",
    "tp.published",
    "tp.sent",
    "pool.received",
    "pool.published",
    "pool.sent",
    "miner",
];

/// The steps seen since the last [`take_events`], with when they happened.
static EVENTS: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());

fn take_events() -> Vec<(String, Instant)> {
    std::mem::take(&mut *EVENTS.lock().unwrap())
}

/// Records the `stage` field of every event it is given, with the time.
struct StageRecorder;

impl<S: tracing::Subscriber> Layer<S> for StageRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let at = Instant::now();
        struct Stage(Option<String>);
        impl tracing::field::Visit for Stage {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "stage" {
                    self.0 = Some(value.to_string());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut stage = Stage(None);
        event.record(&mut stage);
        if let Some(s) = stage.0 {
            EVENTS.lock().unwrap().push((s, at));
        }
    }
}

/// The probe's wake-ups: when, and how many µs after it asked.
type Wakeups = Arc<Mutex<Vec<(Instant, u32)>>>;

/// Starts the probe thread; it stops when `stop` turns true.
fn start_probe(stop: Arc<AtomicBool>) -> Wakeups {
    let wakeups: Wakeups = Arc::default();
    let w = wakeups.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let asked = Instant::now() + Duration::from_millis(1);
            std::thread::sleep(Duration::from_millis(1));
            let now = Instant::now();
            let late = now.saturating_duration_since(asked).as_micros().min(u128::from(u32::MAX)) as u32;
            w.lock().unwrap().push((now, late));
        }
    });
    wakeups
}

/// The latest probe wake-up between `from` and `to`, in ms.
fn probe_late_ms(wakeups: &[(Instant, u32)], from: Instant, to: Instant) -> f64 {
    let max = wakeups.iter().filter(|(at, _)| *at >= from && *at <= to).map(|(_, l)| *l).max().unwrap_or(0);
    f64::from(max) / 1e3
}

async fn miner(pool: &sv2_roles::pool::PoolHandle, index: usize) -> Connection {
    let auth = sv2::noise::ServerAuth::Authority(pool.authority());
    let mut conn = Connection::connect(pool.addr(), auth, Limits::default()).await.expect("connects");
    let setup = SetupConnection {
        protocol: 0,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: Str0_255::EMPTY,
        endpoint_port: 0,
        vendor: Str0_255::from_str("libsv2-bench").unwrap(),
        hardware_version: Bytes::EMPTY,
        firmware: Bytes::EMPTY,
        device_id: Bytes::EMPTY,
    };
    conn.send(&setup.into()).await.expect("setup");
    let user = format!("tips.m{index}");
    let open = OpenStandardMiningChannel {
        request_id: 1,
        user_identity: Str0_255::from_str(&user).unwrap(),
        nominal_hash_rate: 1e9,
        max_target: sv2::channels::target::MAX_TARGET,
    };
    conn.send(&open.into()).await.expect("open");
    // Up to the channel's first SetNewPrevHash.
    loop {
        let f = conn.read_frame().await.expect("frame");
        if let Ok((Message::SetNewPrevHash(_), _)) = f.message() {
            return conn;
        }
    }
}

/// Reads until `conn` has the SetNewPrevHash for `hash`.
async fn wait_for_tip(conn: &mut Connection, hash: &[u8; 32]) {
    loop {
        let f = conn.read_frame().await.expect("frame");
        if let Ok((Message::SetNewPrevHash(p), _)) = f.message() {
            if &p.prev_hash == hash {
                return;
            }
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// One tip: when each step last happened, in ms since the node saw the tip.
type Steps = BTreeMap<&'static str, f64>;

async fn run(tips: usize, miners: usize) {
    let base = std::env::temp_dir().join(format!("sv2-tip-latency-{}-{miners}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut tp_config = TpConfig::embedded(base.join("tp"));
    // Templates change only with the tip.
    tp_config.fee_check_interval = Duration::from_secs(3600);
    let tp = sv2_roles::tp::start(tp_config).await.expect("template provider starts");
    let payout = [&[0x00, 0x14][..], &[0x11; 20]].concat();
    let mut config = PoolConfig::new(base.join("pool"), tp.addr().to_string(), payout);
    config.tp_authority = Some(tp.authority());
    let pool = sv2_roles::pool::start(config).await.expect("pool starts");
    let mut conns = Vec::new();
    for i in 0..miners {
        conns.push(miner(&pool, i).await);
    }
    let mut per_tip: Vec<Steps> = Vec::with_capacity(tips);
    let mut windows = Vec::with_capacity(tips);
    let stop = Arc::new(AtomicBool::new(false));
    let probe = start_probe(stop.clone());
    for _ in 0..tips {
        take_events();
        let tip = tp.mine_block().await.expect("the node mines");
        for c in &mut conns {
            tokio::time::timeout(Duration::from_secs(10), wait_for_tip(c, &tip.hash))
                .await
                .expect("tip reaches the miner");
        }
        let done = Instant::now();
        let ms = |at: Instant| at.saturating_duration_since(tip.seen).as_secs_f64() * 1e3;
        let mut steps = Steps::new();
        for (stage, at) in take_events() {
            if let Some(s) = STAGES.iter().find(|s| **s == stage) {
                let t = steps.entry(s).or_insert(0.0);
                *t = t.max(ms(at));
            }
        }
        steps.insert("miner", ms(done));
        per_tip.push(steps);
        windows.push((tip.seen, done));
        // Let the template provider and the pool settle before the next tip.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let wakeups = std::mem::take(&mut *probe.lock().unwrap());
    let mut late: Vec<f64> = wakeups.iter().map(|(_, l)| f64::from(*l) / 1e3).collect();
    late.sort_by(f64::total_cmp);
    let mut total: Vec<f64> = per_tip.iter().map(|s| s["miner"]).collect();
    total.sort_by(f64::total_cmp);
    println!(
        "{tips} tips, {miners} miner(s): new tip to the last miner's SetNewPrevHash p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        quantile(&total, 0.5),
        quantile(&total, 0.9),
        quantile(&total, 0.99),
        total.last().copied().unwrap_or(f64::NAN),
    );
    println!("  step (last time it happened for a tip)   ms since the tip: p50      p90      p99      max");
    for stage in STAGES {
        let mut v: Vec<f64> = per_tip.iter().filter_map(|s| s.get(stage).copied()).collect();
        v.sort_by(f64::total_cmp);
        println!(
            "  {stage:<15} ({:>4} tips) {:>30.3} {:>8.3} {:>8.3} {:>8.3}",
            v.len(),
            quantile(&v, 0.5),
            quantile(&v, 0.9),
            quantile(&v, 0.99),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "  probe thread sleeping 1 ms, woken late by: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} wake-ups)",
        quantile(&late, 0.5),
        quantile(&late, 0.9),
        quantile(&late, 0.99),
        late.last().copied().unwrap_or(f64::NAN),
        late.len()
    );
    // The slowest tips step by step: each step's time since the one before it.
    let mut slowest: Vec<(&Steps, f64)> =
        per_tip.iter().zip(&windows).map(|(s, (from, to))| (s, probe_late_ms(&wakeups, *from, *to))).collect();
    slowest.sort_by(|a, b| b.0["miner"].total_cmp(&a.0["miner"]));
    println!(
        "  slowest tips, ms spent in each step ({}), and the probe's latest wake-up meanwhile:",
        STAGES.join(" > ")
    );
    for (s, probe_ms) in slowest.iter().take(tips.div_ceil(100).max(3)) {
        let mut prev = 0.0;
        let parts: Vec<String> = STAGES
            .iter()
            .map(|st| match s.get(st) {
                Some(t) => {
                    let d = t - prev;
                    prev = *t;
                    format!("{d:.3}")
                }
                None => "-".into(),
            })
            .collect();
        println!("    total {:>8.3}: {} | probe late by {probe_ms:.3}", s["miner"], parts.join(" > "));
    }
    pool.shutdown().await;
    tp.shutdown().await;
    let _ = std::fs::remove_dir_all(&base);
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let tips = args.first().copied().unwrap_or(500);
    let miners: Vec<usize> = if args.len() > 1 { args[1..].to_vec() } else { vec![1, 100] };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let steps = tracing_subscriber::filter::Targets::new().with_target(TIP_TRACE, tracing::Level::DEBUG);
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
        tracing_subscriber::registry().with(StageRecorder.with_filter(steps)).with(logs).init();
        println!(
            "tip latency on loopback, {} cores; load average {}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?")
        );
        for m in miners {
            run(tips, m).await;
        }
    });
}
