//! The farm side under load: N simulated devices at a fixed share rate against the proxy and
//! the translator, beside the same devices straight to the pool.
//!
//! `cargo bench -p sv2-roles --bench farm_load -- [DEVICES[:SHARES_PER_SEC_EACH[:SECS]]] [SCENARIO...]`
//! (default `10000:1:15`, every scenario). Four scenarios with the same load:
//!
//! 1. **direct**: SV2 devices (Noise, standard channel, REQUIRES_STANDARD_JOBS) straight to
//!    the pool: the baseline.
//! 2. **proxy**: the same devices to `sv2 proxy` aggregating them into one extended channel.
//! 3. **translator**: SV1 devices (plain TCP, JSON lines: subscribe, authorize, submit as
//!    firmware does) to `sv2 translator`, aggregated into one extended channel.
//! 4. **reference-translator**: the same SV1 devices to the reference implementation's
//!    `translator_sv2` binary (a child process, configured to mirror ours: one aggregated
//!    channel, no vardiff, the easiest device target) in front of the same pool. Its memory is
//!    the child's VmRSS (`/proc/<pid>/status`). Skipped, saying so, when the binary is not in
//!    `$SV2_REF_BINS` or `target/ref-bins/bin` (`scripts/interop-roles.sh` installs it).
//!
//! Each scenario runs in a fresh process (this binary re-run with `__scenario`) holding the
//! embedded template provider, the pool and the role under test, so that its memory is not
//! what an earlier scenario freed; the devices run in a child of it (`__devices`), so that
//! this process's RSS (`/proc/self/status`) with every device connected, minus before, is the
//! roles' memory for N device connections. For each: the shares per second the devices got
//! answers for, and the time from a share leaving a device to its answer arriving there (p50,
//! p99, max).
//!
//! Targets: a device's target at the proxy and translator is the easiest there is; the pool's
//! is set a little above regtest's block target, so that about one device share in eight also
//! meets it and is forwarded (the rest are counted at the proxy or translator, as on a farm).
//! Devices only send headers above the block target, so the tip stays put for the whole run.
//! In the direct run the devices mine at the pool's target (a few more hashes per share).

mod load_common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use load_common::{
    cpu_ms, find_share, print_log_tail, reference_binary, rss_kib, start_reference, sv2_miner, MinerId, Reaped, Run,
    Tally,
};
use sv2::channels::client::{ClientChannel, Work};
use sv2::channels::target::{target_for_difficulty, MAX_TARGET};
use sv2::codec::{Bytes, Seq};
use sv2::messages::{NewExtendedMiningJob, SetNewPrevHash};
use sv2::noise::AuthorityPublicKey;
use sv2::sv1::client::{Call, Request, Submit};
use sv2::sv1::framing::LineDecoder;
use sv2::sv1::server::ServerMessage;
use sv2::sv1::{Id, Value};
use sv2_roles::net::load_authority_key;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pool's share difficulty: a target of 1.125 x 2^255, just above regtest's block target
/// (about 2^255), so one non-block hash in eight meets it.
fn pool_difficulty() -> f64 {
    65535.0 / (1.125 * 2f64.powi(47))
}

/// Where the devices connect and how they speak.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sv2,
    Sv1,
}

/// One SV2 device: Noise, SetupConnection, one standard channel, then a share every `period`.
async fn sv2_device(
    addr: SocketAddr,
    authority: AuthorityPublicKey,
    index: usize,
    period: Duration,
    run: Arc<Run>,
) -> Result<(), String> {
    let id =
        MinerId { vendor: "libsv2-farm-load", user: format!("farm.d{index}"), handshake: Duration::from_secs(300) };
    sv2_miner(addr, authority, id, index, period, &run).await
}

/// What an SV1 device knows of its session.
struct Sv1State {
    extranonce: Option<(Vec<u8>, usize)>,
    target: sv2::channels::target::TargetLe,
    difficulty_seen: bool,
    /// The SV1 job id and the work built from the newest notify.
    job: Option<(String, Work)>,
    /// Submits not answered yet, by request id.
    pending: HashMap<u64, Instant>,
    tally: Tally,
}

impl Sv1State {
    /// Applies one line from the translator.
    fn apply(&mut self, line: &[u8]) -> Result<(), String> {
        match ServerMessage::parse(line).map_err(|e| e.to_string())? {
            ServerMessage::Response(r) => {
                let id = r.id.to_value().as_u64().unwrap_or(0);
                if id == 1 {
                    let v = &r.result;
                    let en1 = v.get(1).and_then(Value::as_str).and_then(|s| hex::decode(s).ok());
                    let size = v.get(2).and_then(Value::as_u64).and_then(|s| usize::try_from(s).ok());
                    self.extranonce = en1.zip(size);
                } else if let Some(at) = self.pending.remove(&id) {
                    if r.result == Value::Bool(true) {
                        self.tally.answer(at);
                    } else {
                        self.tally.rejected += 1;
                    }
                }
            }
            ServerMessage::SetDifficulty(d) => {
                self.target = target_for_difficulty(d);
                self.difficulty_seen = true;
                if let Some((_, w)) = self.job.as_mut() {
                    w.target = self.target;
                }
            }
            ServerMessage::Notify(n) => {
                let Some((en1, size)) = &self.extranonce else { return Ok(()) };
                let size16 = u16::try_from(*size).map_err(|_| "extranonce2 size")?;
                let mut ch = ClientChannel::extended(1, self.target, en1, size16);
                ch.on_new_extended_job(&NewExtendedMiningJob {
                    channel_id: 1,
                    job_id: 1,
                    min_ntime: None,
                    version: n.version,
                    version_rolling_allowed: false,
                    merkle_path: Seq::new(&n.merkle_branch).map_err(|e| e.to_string())?,
                    coinbase_tx_prefix: Bytes::new(&n.coinb1).map_err(|e| e.to_string())?,
                    coinbase_tx_suffix: Bytes::new(&n.coinb2).map_err(|e| e.to_string())?,
                });
                ch.on_set_new_prev_hash(&SetNewPrevHash {
                    channel_id: 1,
                    job_id: 1,
                    prev_hash: n.prev_hash,
                    min_ntime: n.ntime,
                    nbits: n.nbits,
                });
                self.job = ch.work(&vec![0; *size]).map(|w| (n.job_id.clone(), w));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Feeds what a read returned to the decoder and the state.
fn sv1_read(n: std::io::Result<usize>, buf: &[u8], decoder: &mut LineDecoder, st: &mut Sv1State) -> Result<(), String> {
    let n = n.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("the translator closed the connection".into());
    }
    decoder.push(&buf[..n]).map_err(|e| e.to_string())?;
    while let Some(line) = decoder.next_line().map_err(|e| e.to_string())? {
        st.apply(line)?;
    }
    Ok(())
}

/// One SV1 device on plain TCP: subscribe and authorize, take set_difficulty and notify, then
/// a mining.submit every `period`.
async fn sv1_device(addr: SocketAddr, index: usize, period: Duration, run: Arc<Run>) -> Result<(), String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let worker = format!("farm.d{index}");
    let mut out = Vec::new();
    Request { id: Id::from(1u64), call: Call::Subscribe { user_agent: Some("farm-load/1".into()), session_id: None } }
        .write_line(&mut out);
    Request { id: Id::from(2u64), call: Call::Authorize { user: worker.clone(), password: Some("x".into()) } }
        .write_line(&mut out);
    stream.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut decoder = LineDecoder::new(64 * 1024);
    let mut buf = vec![0u8; 8 * 1024];
    let mut st = Sv1State {
        extranonce: None,
        target: MAX_TARGET,
        difficulty_seen: false,
        job: None,
        pending: HashMap::new(),
        tally: Tally::default(),
    };
    while st.job.is_none() || !st.difficulty_seen {
        let n = stream.read(&mut buf).await;
        sv1_read(n, &buf, &mut decoder, &mut st)?;
    }
    let (t0, end) = run.started().await?;
    let mut nonce = (index as u32).wrapping_mul(0x9E37_79B9);
    let mut next_id = 3u64;
    let offset = period.mul_f64((index % 1000) as f64 / 1000.0);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(t0) + offset, period);
    // A role that stops reading must not hold the device (and the report) past the run.
    let write_deadline = tokio::time::Instant::from_std(end + WRITE_GRACE);
    let mut stalled = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if Instant::now() >= end {
                    break;
                }
                let (job_id, work) = st.job.as_ref().expect("set before the start");
                find_share(work, &mut nonce);
                let submit = Submit {
                    worker: worker.clone(),
                    job_id: job_id.clone(),
                    extranonce2: work.extranonce.clone(),
                    ntime: work.min_ntime,
                    nonce,
                    version_bits: None,
                };
                out.clear();
                Request { id: Id::from(next_id), call: Call::Submit(submit) }.write_line(&mut out);
                st.pending.insert(next_id, Instant::now());
                next_id += 1;
                st.tally.sent += 1;
                match tokio::time::timeout_at(write_deadline, stream.write_all(&out)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => stalled = Some(e.to_string()),
                    Err(_) => stalled = Some("the role stopped reading: writes blocked past the run".into()),
                }
                if stalled.is_some() {
                    break;
                }
            }
            n = stream.read(&mut buf) => sv1_read(n, &buf, &mut decoder, &mut st)?,
        }
    }
    run.tally.lock().await.add(st.tally);
    stalled.map_or(Ok(()), Err)
}

/// How long past the end of the run a device's write may stay blocked.
const WRITE_GRACE: Duration = Duration::from_secs(30);

/// How long the devices may take to connect and get their first job.
const CONNECT_PATIENCE: Duration = Duration::from_secs(180);

/// The child process: connects `n` devices, prints `ready` once all are set up, starts on a
/// line from stdin, and prints its tallies at the end.
fn devices_main(args: &[String]) {
    let dialect = if args[0] == "sv1" { Dialect::Sv1 } else { Dialect::Sv2 };
    let addr: SocketAddr = args[1].parse().expect("address");
    let authority = (dialect == Dialect::Sv2).then(|| load_authority_key(std::path::Path::new(&args[2])).expect("key"));
    let n: usize = args[3].parse().expect("devices");
    let rate: f64 = args[4].parse().expect("rate");
    let secs: f64 = args[5].parse().expect("seconds");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let (run, start_tx) = Run::new(n, Duration::from_secs_f64(secs));
        let run = Arc::new(run);
        let period = Duration::from_secs_f64(1.0 / rate);
        let connect_start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let run = run.clone();
            match (dialect, authority) {
                (Dialect::Sv2, Some(a)) => tasks.spawn(sv2_device(addr, a, i, period, run)),
                _ => tasks.spawn(sv1_device(addr, i, period, run)),
            };
            if i % 200 == 199 {
                // Let the accept queue drain between bursts.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::select! {
            _ = run.ready.wait() => {}
            _ = tokio::time::sleep(CONNECT_PATIENCE) => {
                println!("failed the devices were not all set up after {} s", CONNECT_PATIENCE.as_secs());
                std::process::exit(1);
            }
            Some(r) = tasks.join_next() => {
                println!("failed a device failed while connecting: {r:?}");
                std::process::exit(1);
            }
        }
        println!("ready {:.2}", connect_start.elapsed().as_secs_f64());
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        start_tx.send_replace(Some(Instant::now()));
        let mut failed = 0;
        while let Some(r) = tasks.join_next().await {
            if !matches!(r, Ok(Ok(()))) {
                failed += 1;
            }
        }
        let mut t = run.tally.lock().await;
        t.sort();
        println!(
            "done {} {} {} {failed} {} {} {}",
            t.sent,
            t.answered,
            t.rejected,
            t.quantile_us(0.5),
            t.quantile_us(0.99),
            t.max_us()
        );
    });
}

/// What one run measured.
struct Measured {
    answered_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    kib_per_device: f64,
    /// CPU of the roles (template provider, pool, role under test) per answered share.
    cpu_us_per_share: f64,
}

/// Runs the devices in a child process against `addr`, measuring the RSS of this process (or
/// of `role_pid`, the role under test when it runs apart) around their connecting and the CPU
/// of both over the run, and prints one line.
#[allow(clippy::too_many_arguments)]
async fn measure(
    name: &str,
    dialect: Dialect,
    addr: SocketAddr,
    authority: Option<AuthorityPublicKey>,
    n: usize,
    rate: f64,
    secs: f64,
    role_pid: Option<u32>,
) -> Option<Measured> {
    let rss_before = rss_kib(role_pid);
    let roles_cpu_ms = || cpu_ms(None) + role_pid.map_or(0, |p| cpu_ms(Some(p)));
    let key = authority.map_or_else(|| "-".to_string(), |a| a.to_string());
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("__devices")
        .arg(if dialect == Dialect::Sv1 { "sv1" } else { "sv2" })
        .args([addr.to_string(), key, n.to_string(), rate.to_string(), secs.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the device process starts");
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let ready = lines_rx.recv().await.unwrap_or_default();
    let Some(connect_secs) = ready.strip_prefix("ready ") else {
        println!("{name}: the devices did not connect: {ready}");
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_connected = rss_kib(role_pid);
    let cpu_start = roles_cpu_ms();
    let _ = stdin.write_all(b"go\n");
    let _ = stdin.flush();
    let patience = Duration::from_secs_f64(secs) + WRITE_GRACE + Duration::from_secs(60);
    let Ok(done) = tokio::time::timeout(patience, lines_rx.recv()).await else {
        println!("{name}: no tallies from the devices {} s after the start", patience.as_secs());
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let done = done.unwrap_or_default();
    let cpu_run = roles_cpu_ms().saturating_sub(cpu_start);
    let _ = child.wait();
    let f: Vec<u64> = done.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let [sent, answered, rejected, failed, p50, p99, max] = f[..] else {
        println!("{name}: no tallies from the devices: {done}");
        return None;
    };
    let m = Measured {
        answered_per_sec: answered as f64 / secs,
        p50_ms: p50 as f64 / 1000.0,
        p99_ms: p99 as f64 / 1000.0,
        max_ms: max as f64 / 1000.0,
        kib_per_device: rss_connected.saturating_sub(rss_before) as f64 / n as f64,
        cpu_us_per_share: cpu_run as f64 * 1000.0 / answered.max(1) as f64,
    };
    println!(
        "{name:<20} {n} devices x {rate}/s: offered {:.0}/s, answered {:.0}/s ({answered} of {sent}, {rejected} rejected, {failed} devices failed) | \
         answer p50 {:.2} ms p99 {:.2} ms max {:.2} ms | RSS +{} MiB = {:.1} KiB per device | roles' CPU {:.1} s = {:.1} us per answered share | {connect_secs} s to connect all",
        n as f64 * rate,
        m.answered_per_sec,
        m.p50_ms,
        m.p99_ms,
        m.max_ms,
        rss_connected.saturating_sub(rss_before) / 1024,
        m.kib_per_device,
        cpu_run as f64 / 1000.0,
        m.cpu_us_per_share,
    );
    Some(m)
}

/// The role the devices connect to in one scenario.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Direct,
    Proxy,
    Translator,
    ReferenceTranslator,
}

impl Scenario {
    const ALL: [Scenario; 4] = [Scenario::Direct, Scenario::Proxy, Scenario::Translator, Scenario::ReferenceTranslator];

    fn name(self) -> &'static str {
        match self {
            Scenario::Direct => "direct",
            Scenario::Proxy => "proxy",
            Scenario::Translator => "translator",
            Scenario::ReferenceTranslator => "reference-translator",
        }
    }
}

/// The reference translator's configuration, mirroring ours in the `translator` scenario: one
/// aggregated extended channel upstream, no vardiff, and the devices' first (and only)
/// `mining.set_difficulty` at the easiest target there is. That first target is
/// `hash_rate_to_target(min_individual_miner_hashrate, shares_per_minute)`, whose
/// `hashrate x 60 / shares_per_minute` is truncated to an integer: below 1 it is 0 and the
/// target is 2^256 - 1, what our difficulty of 1e-12 clamps to. The hashrate is the one our
/// translator announces per device (1e-6 H/s). Keepalive jobs are off: our translator sends
/// none, and the tip and template stay put for the run.
fn reference_translator_config(sv1_port: u16, pool: SocketAddr, authority: &AuthorityPublicKey) -> String {
    format!(
        "downstream_address = \"127.0.0.1\"\n\
         downstream_port = {sv1_port}\n\
         max_supported_version = 2\n\
         min_supported_version = 2\n\
         downstream_extranonce2_size = 4\n\
         aggregate_channels = true\n\
         supported_extensions = []\n\
         [downstream_difficulty_config]\n\
         min_individual_miner_hashrate = 0.000001\n\
         shares_per_minute = 60.0\n\
         enable_vardiff = false\n\
         job_keepalive_interval_secs = 0\n\
         [[upstreams]]\n\
         address = \"{}\"\n\
         port = {}\n\
         authority_pubkey = \"{authority}\"\n\
         user_identity = \"farm.reference\"\n",
        pool.ip(),
        pool.port()
    )
}

/// Starts the reference translator in front of the pool, its config and log in `dir`; returns
/// it once its SV1 port accepts connections.
async fn start_reference_translator(
    bin: &std::path::Path,
    dir: &std::path::Path,
    pool: SocketAddr,
    authority: &AuthorityPublicKey,
) -> Result<(Reaped, SocketAddr), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let config = reference_translator_config(port, pool, authority);
    let child = start_reference(bin, dir, &config, "translator_sv2.log", addr).await?;
    Ok((child, addr))
}

/// One scenario in this process: template provider, pool, the role under test, and the
/// devices in a child process. Prints `result` lines for the parent.
fn scenario_main(scenario: Scenario, n: usize, rate: f64, secs: f64) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        sv2_roles::logging::init("warn");
        let dir = std::env::temp_dir().join(format!("sv2-farm-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut tp_config = sv2_roles::tp::TpConfig::embedded(dir.join("tp"));
        // One template for the whole run: no fee-driven updates.
        tp_config.fee_check_interval = Duration::from_secs(3600);
        let tp = sv2_roles::tp::start(tp_config).await.expect("template provider starts");

        let payout = hex::decode("0014111111111111111111111111111111111111111111").expect("hex");
        let mut pc = sv2_roles::pool::PoolConfig::new(dir.join("pool"), tp.addr().to_string(), payout);
        pc.tp_authority = Some(tp.authority());
        pc.min_difficulty = pool_difficulty();
        // Every channel at the pool's easiest difficulty for the whole run: no vardiff.
        pc.shares_per_minute = 1e9;
        pc.default_hashrate = 1e-9;
        pc.vardiff_window_secs = 100_000;
        pc.max_connections = n + 1000;
        pc.setup_timeout = Duration::from_secs(300);
        pc.limits.handshake = Duration::from_secs(300);
        let pool = sv2_roles::pool::start(pc).await.expect("pool starts");
        let pools = vec![sv2_roles::upstream::PoolEndpoint::new(pool.addr().to_string(), pool.authority())];
        let name = scenario.name();
        let m = match scenario {
            Scenario::Direct => {
                measure(name, Dialect::Sv2, pool.addr(), Some(pool.authority()), n, rate, secs, None).await
            }
            Scenario::Proxy => {
                let mut c = sv2_roles::proxy::ProxyConfig::new(
                    dir.join("proxy"),
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    sv2_roles::upstream::UpstreamConfig::new(pools),
                );
                c.layout = sv2_roles::proxy::Layout::Aggregate;
                // The aggregated channel at the pool's easiest difficulty, the devices at the
                // easiest there is.
                c.nominal_hashrate = 1e-6;
                c.server.shares_per_minute = 1e9;
                c.server.default_hashrate = 1e-9;
                c.server.min_difficulty = 1e-12;
                c.server.vardiff_window_secs = 100_000;
                c.max_connections = n + 1000;
                c.setup_timeout = Duration::from_secs(300);
                c.limits.handshake = Duration::from_secs(300);
                let proxy = sv2_roles::proxy::start(c).await.expect("proxy starts");
                tokio::time::sleep(Duration::from_secs(1)).await;
                let m = measure(name, Dialect::Sv2, proxy.addr(), Some(proxy.authority()), n, rate, secs, None).await;
                let t = proxy.metrics().totals();
                report_farm(name, t.shares_accepted, t.rejected_total(), proxy.upstream_metrics());
                proxy.shutdown().await;
                m
            }
            Scenario::Translator => {
                let mut c = sv2_roles::translator::TranslatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), pools);
                c.aggregate = true;
                c.device_hashrate = 1e-6;
                c.max_connections = n + 1000;
                c.setup_timeout = Duration::from_secs(300);
                c.session.integer_difficulty = false;
                c.session.min_difficulty = 1e-12;
                c.session.initial_difficulty = 1e-12;
                c.session.vardiff = None;
                let translator = sv2_roles::translator::start(c).await.expect("translator starts");
                tokio::time::sleep(Duration::from_secs(1)).await;
                let m = measure(name, Dialect::Sv1, translator.addr(), None, n, rate, secs, None).await;
                let t = translator.metrics().totals();
                report_farm(name, t.shares_accepted, t.rejected_total(), translator.upstream_metrics());
                translator.shutdown().await;
                m
            }
            Scenario::ReferenceTranslator => {
                let bin = reference_binary("translator_sv2").expect("checked by the parent");
                match start_reference_translator(&bin, &dir.join("reference"), pool.addr(), &pool.authority()).await {
                    Ok((mut child, addr)) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let m = measure(name, Dialect::Sv1, addr, None, n, rate, secs, Some(child.id())).await;
                        if let Ok(Some(status)) = child.child.try_wait() {
                            println!("{name}: the reference translator exited during the run ({status})");
                        }
                        if m.is_none() {
                            print_log_tail(&dir.join("reference/translator_sv2.log"));
                        }
                        // It keeps no counters we can read; the pool's say what it forwarded.
                        let pm = pool.metrics();
                        let rejected: u64 = pm.shares_rejected.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                        println!(
                            "{name}: forwarded to the pool: accepted {}, rejected {rejected}",
                            pm.shares_accepted.load(Ordering::Relaxed)
                        );
                        m
                    }
                    Err(e) => {
                        println!("{name}: the reference translator did not start: {e}");
                        print_log_tail(&dir.join("reference/translator_sv2.log"));
                        None
                    }
                }
            }
        };
        if let Some(m) = m {
            println!(
                "result {} {} {} {} {} {}",
                m.answered_per_sec, m.p50_ms, m.p99_ms, m.max_ms, m.kib_per_device, m.cpu_us_per_share
            );
        }
        pool.shutdown().await;
        tp.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// The proxy's or translator's own accounting of the run: device shares accepted and rejected
/// there, and what went to the pool.
fn report_farm(name: &str, accepted: u64, rejected: u64, u: &sv2_roles::upstream::UpstreamMetrics) {
    println!(
        "{name}: device shares accepted {accepted}, rejected {rejected}; forwarded to the pool {} (accepted {}, rejected {})",
        u.shares_forwarded.load(Ordering::Relaxed),
        u.shares_accepted.load(Ordering::Relaxed),
        u.shares_rejected.load(Ordering::Relaxed),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("__devices") => return devices_main(&args[1..]),
        Some("__scenario") => {
            let scenario = Scenario::ALL.into_iter().find(|s| s.name() == args[1]).expect("scenario");
            let parse = |i: usize| args[i].parse::<f64>().expect("number");
            return scenario_main(scenario, parse(2) as usize, parse(3), parse(4));
        }
        _ => {}
    }
    // `[DEVICES[:RATE[:SECS]]] [SCENARIO...]`; cargo adds `--bench`.
    let (specs, names): (Vec<&String>, Vec<&String>) =
        args.iter().filter(|a| !a.starts_with('-')).partition(|a| a.starts_with(|c: char| c.is_ascii_digit()));
    let spec = specs.first().map_or("10000:1:15", |s| s.as_str());
    let mut parts = spec.split(':');
    let n: usize = parts.next().and_then(|x| x.parse().ok()).expect("DEVICES[:RATE[:SECS]]");
    let rate: f64 = parts.next().map_or(1.0, |x| x.parse().expect("RATE"));
    let secs: f64 = parts.next().map_or(15.0, |x| x.parse().expect("SECS"));
    assert!(n > 0 && rate > 0.0 && secs > 0.0, "DEVICES, RATE and SECS must be positive");
    println!(
        "farm load on loopback, {} cores; {n} devices x {rate} share/s for {secs} s per run; pool difficulty {:.3e}",
        std::thread::available_parallelism().map(|x| x.get()).unwrap_or(1),
        pool_difficulty()
    );
    let scenarios: Vec<Scenario> = if names.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                Scenario::ALL.into_iter().find(|s| s.name() == n.as_str()).unwrap_or_else(|| {
                    let all: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
                    panic!("unknown scenario {n}; one of {}", all.join(", "))
                })
            })
            .collect()
    };
    // Each scenario in a fresh process, so that its memory is not what an earlier one freed.
    let mut results: Vec<(Scenario, Measured)> = Vec::new();
    for scenario in scenarios {
        if scenario == Scenario::ReferenceTranslator {
            if let Err(path) = reference_binary("translator_sv2") {
                println!(
                    "reference-translator: SKIPPED, {} not found (`bash scripts/interop-roles.sh` installs it; \
                     or point SV2_REF_BINS at its directory)",
                    path.display()
                );
                continue;
            }
        }
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg("__scenario")
            .arg(scenario.name())
            .args([n.to_string(), rate.to_string(), secs.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the scenario process starts");
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix("result ") {
                Some(r) => {
                    let f: Vec<f64> = r.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                    if let [answered_per_sec, p50_ms, p99_ms, max_ms, kib_per_device, cpu_us_per_share] = f[..] {
                        let m = Measured { answered_per_sec, p50_ms, p99_ms, max_ms, kib_per_device, cpu_us_per_share };
                        results.push((scenario, m));
                    }
                }
                None => println!("{line}"),
            }
        }
        let _ = child.wait();
    }
    let get = |s: Scenario| results.iter().find(|(x, _)| *x == s).map(|(_, m)| m);
    if let Some(d) = get(Scenario::Direct) {
        for s in [Scenario::Proxy, Scenario::Translator] {
            if let Some(m) = get(s) {
                println!(
                    "{:<20} vs direct: answered {:.3}x, answer p50 {:+.2} ms, p99 {:+.2} ms; memory per device {:.1} KiB vs {:.1} KiB at the pool",
                    s.name(),
                    m.answered_per_sec / d.answered_per_sec.max(1e-9),
                    m.p50_ms - d.p50_ms,
                    m.p99_ms - d.p99_ms,
                    m.kib_per_device,
                    d.kib_per_device
                );
            }
        }
    }
    if let (Some(ours), Some(reference)) = (get(Scenario::Translator), get(Scenario::ReferenceTranslator)) {
        println!(
            "translator vs reference-translator: answered {:.2}x ({:.0}/s vs {:.0}/s), answer p50 {:.2} vs {:.2} ms, p99 {:.2} vs {:.2} ms; \
             memory per device {:.1} KiB vs {:.1} KiB ({:.2}x); CPU per answered share {:.1} vs {:.1} us ({:.2}x)",
            ours.answered_per_sec / reference.answered_per_sec.max(1e-9),
            ours.answered_per_sec,
            reference.answered_per_sec,
            ours.p50_ms,
            reference.p50_ms,
            ours.p99_ms,
            reference.p99_ms,
            ours.kib_per_device,
            reference.kib_per_device,
            ours.kib_per_device / reference.kib_per_device.max(1e-9),
            ours.cpu_us_per_share,
            reference.cpu_us_per_share,
            ours.cpu_us_per_share / reference.cpu_us_per_share.max(1e-9),
        );
    }
}
