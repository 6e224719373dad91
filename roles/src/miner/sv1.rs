//! `sv2 miner --sv1`: the CPU miner as a Stratum V1 device, for testing the translator the way
//! firmware talks to it. It pipelines `mining.configure`, `mining.subscribe` and
//! `mining.authorize` in one write (as Bitaxe does), optionally `mining.suggest_difficulty`
//! and `mining.extranonce.subscribe`, turns every `mining.notify` into an extended-channel job
//! for the same hashing threads the SV2 miner uses (coinb1 and coinb2 around extranonce1 and
//! the rolled extranonce2), and submits each header that meets the latest difficulty.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sv2::channels::client::ClientChannel;
use sv2::channels::target::{target_for_difficulty, TargetLe};
use sv2::codec::{Bytes, Seq};
use sv2::messages::{NewExtendedMiningJob, SetNewPrevHash};
use sv2::sv1::client::{Call, Configure, Request, Submit, VersionRolling};
use sv2::sv1::framing::LineDecoder;
use sv2::sv1::server::ServerMessage;
use sv2::sv1::Id;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::hasher::{self, Found};
use super::{lock, MinerHandle, MinerStats, SentShare, State, TipSeen};

/// Longest line accepted from the pool (a notify with a large coinbase is long).
const MAX_LINE: usize = 1 << 20;
/// SV1 jobs remembered for submits.
const MAX_JOBS: usize = 64;

/// What the SV1 miner needs.
#[derive(Debug, Clone)]
pub struct Sv1MinerConfig {
    /// `host:port` of the SV1 server (a translator).
    pub pool: String,
    /// Worker name for `mining.authorize`.
    pub user: String,
    /// Hashing threads.
    pub threads: usize,
    /// Send `mining.configure` asking for version rolling (firmware without it sends none).
    pub configure: bool,
    /// Send `mining.suggest_difficulty` with this difficulty after authorize.
    pub suggest_difficulty: Option<f64>,
    /// Send `mining.extranonce.subscribe` (opt in to `mining.set_extranonce`).
    pub extranonce_subscribe: bool,
    /// Keep every share sent and its answer.
    pub record_shares: bool,
    /// Reconnect after the connection drops (or on `client.reconnect`).
    pub reconnect: bool,
    /// How often to log the hashrate (None: never).
    pub report_every: Option<Duration>,
}

impl Sv1MinerConfig {
    /// A miner with one thread per core that configures version rolling, reconnects and
    /// reports every 10 s.
    pub fn new(pool: impl Into<String>, user: impl Into<String>) -> Self {
        Sv1MinerConfig {
            pool: pool.into(),
            user: user.into(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            configure: true,
            suggest_difficulty: None,
            extranonce_subscribe: true,
            record_shares: false,
            reconnect: true,
            report_every: Some(Duration::from_secs(10)),
        }
    }
}

/// Starts an SV1 miner on the current tokio runtime. The handle's [`SentShare`]s carry the
/// submit's request id as `sequence_number`, the miner's own job number as `job_id` and
/// extranonce2 as `extranonce`.
pub fn start(config: Sv1MinerConfig) -> MinerHandle {
    let state = Arc::new(State {
        stats: std::sync::Mutex::new(MinerStats::default()),
        sent: std::sync::Mutex::new(Vec::new()),
        tips: watch::channel(None).0,
        started: Instant::now(),
    });
    let hashing = hasher::Shared::new();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(run(config, state.clone(), hashing.clone(), shutdown_rx));
    MinerHandle { state, hashing, shutdown, task: Some(task) }
}

async fn run(
    config: Sv1MinerConfig,
    state: Arc<State>,
    hashing: Arc<hasher::Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let threads = config.threads.max(1);
    let (found_tx, mut found_rx) = mpsc::channel(1024);
    let workers = hasher::spawn(threads, hashing.clone(), found_tx);
    tracing::info!("sv1 miner: {threads} threads, server {}", config.pool);
    let mut connection = 0u32;
    let mut backoff = Duration::from_millis(100);
    loop {
        connection += 1;
        lock(&state.stats).connections = connection;
        let result = tokio::select! {
            r = one_connection(&config, connection, &state, &hashing, &mut found_rx) => r,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        hashing.publish(None);
        match result {
            Err(e) if config.reconnect => {
                tracing::warn!("sv1 miner {}: {e}; reconnecting in {backoff:?}", config.user);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|s| *s) => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::warn!("sv1 miner {}: {e}", config.user);
                break;
            }
            Ok(()) => break,
        }
    }
    hashing.stop();
    drop(found_rx);
    let _ = tokio::task::spawn_blocking(move || workers.into_iter().for_each(|w| drop(w.join()))).await;
}

/// Request ids the miner uses for its setup requests; submits count up from 100.
const ID_CONFIGURE: u64 = 1;
const ID_SUBSCRIBE: u64 = 2;
const ID_AUTHORIZE: u64 = 3;
const FIRST_SUBMIT_ID: u64 = 100;

/// What one connection knows.
struct Conn {
    extranonce1: Option<Vec<u8>>,
    extranonce2_size: usize,
    version_mask: u32,
    target: TargetLe,
    /// The miner's job numbers and the SV1 job ids they stand for, oldest first.
    jobs: VecDeque<(u32, String)>,
    next_job: u32,
    /// A client channel holding the newest job: what the threads hash.
    latest: Option<ClientChannel>,
    /// Submit request id to its index in the sent-share record.
    pending: BTreeMap<u64, Option<usize>>,
}

async fn one_connection(
    config: &Sv1MinerConfig,
    connection: u32,
    state: &State,
    hashing: &hasher::Shared,
    found_rx: &mut mpsc::Receiver<Found>,
) -> Result<(), String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&config.pool))
        .await
        .map_err(|_| format!("connect to {}: timed out", config.pool))?
        .map_err(|e| format!("connect to {}: {e}", config.pool))?;
    let _ = stream.set_nodelay(true);
    let mut out = Vec::new();
    let request = |id: u64, call: Call, out: &mut Vec<u8>| Request { id: Id::from(id), call }.write_line(out);
    if config.configure {
        let vr = VersionRolling { mask: 0x1fff_e000, min_bit_count: Some(2) };
        let c = Configure {
            extensions: vec!["version-rolling".into()],
            version_rolling: Some(vr),
            minimum_difficulty: None,
        };
        request(ID_CONFIGURE, Call::Configure(c), &mut out);
    }
    let agent = format!("sv2-miner-sv1/{}", env!("CARGO_PKG_VERSION"));
    request(ID_SUBSCRIBE, Call::Subscribe { user_agent: Some(agent), session_id: None }, &mut out);
    request(ID_AUTHORIZE, Call::Authorize { user: config.user.clone(), password: Some("x".into()) }, &mut out);
    let mut next_id = 4;
    if let Some(d) = config.suggest_difficulty {
        request(next_id, Call::SuggestDifficulty(d), &mut out);
        next_id += 1;
    }
    if config.extranonce_subscribe {
        request(next_id, Call::ExtranonceSubscribe, &mut out);
    }
    stream.write_all(&out).await.map_err(|e| format!("write: {e}"))?;

    let mut c = Conn {
        extranonce1: None,
        extranonce2_size: 0,
        version_mask: 0,
        target: target_for_difficulty(1.0),
        jobs: VecDeque::new(),
        next_job: 1,
        latest: None,
        pending: BTreeMap::new(),
    };
    // Shares from hashing generations before this one belong to an older connection or job.
    let mut floor = hashing.generation() + 1;
    hashing.publish(None);
    let mut next_submit = FIRST_SUBMIT_ID;
    let mut decoder = LineDecoder::new(MAX_LINE);
    let mut buf = vec![0u8; 16 * 1024];
    let mut report = tokio::time::interval(config.report_every.unwrap_or(Duration::from_secs(3600)));
    report.tick().await;
    loop {
        tokio::select! {
            n = stream.read(&mut buf) => {
                let n = n.map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("the server closed the connection".into());
                }
                let _ = decoder.push(&buf[..n]);
                loop {
                    let line = match decoder.next_line() {
                        Ok(Some(l)) => l,
                        Ok(None) => break,
                        Err(e) => return Err(format!("from the server: {e}")),
                    };
                    let wire = line.len() as u64 + 1;
                    let msg = ServerMessage::parse(line).map_err(|e| format!("from the server: {e}"))?;
                    if matches!(msg, ServerMessage::Notify(_)) {
                        lock(&state.stats).job_bytes += wire;
                    }
                    if let Some(republish) = on_message(&mut c, msg, state)? {
                        if republish {
                            floor = hashing.generation() + 1;
                        }
                        hashing.publish(c.channel_for_latest());
                    }
                }
            }
            Some(found) = found_rx.recv() => {
                if found.generation < floor {
                    lock(&state.stats).dropped_stale += 1;
                    continue;
                }
                let Some((_, sv1_job)) = c.jobs.iter().find(|(n, _)| *n == found.work.job_id) else { continue };
                let id = next_submit;
                next_submit += 1;
                let bits = (c.version_mask != 0).then_some(found.version & c.version_mask);
                let submit = Submit {
                    worker: config.user.clone(),
                    job_id: sv1_job.clone(),
                    extranonce2: found.work.extranonce.clone(),
                    ntime: found.ntime,
                    nonce: found.nonce,
                    version_bits: bits,
                };
                let mut line = Vec::new();
                request(id, Call::Submit(submit), &mut line);
                stream.write_all(&line).await.map_err(|e| format!("write: {e}"))?;
                {
                    let mut stats = lock(&state.stats);
                    stats.submitted += 1;
                    stats.share_bytes += line.len() as u64;
                }
                let index = config.record_shares.then(|| {
                    let mut sent = lock(&state.sent);
                    sent.push(SentShare {
                        connection,
                        channel_id: 0,
                        sequence_number: id as u32,
                        job_id: found.work.job_id,
                        nonce: found.nonce,
                        ntime: found.ntime,
                        version: found.version,
                        extranonce: found.work.extranonce.clone(),
                        answer: None,
                    });
                    sent.len() - 1
                });
                c.pending.insert(id, index);
            }
            _ = report.tick(), if config.report_every.is_some() => {
                let s = lock(&state.stats).clone();
                tracing::info!("sv1 miner {}: shares sent {} accepted {} rejected {}", config.user, s.submitted, s.accepted, s.rejected_total());
            }
        }
    }
}

impl Conn {
    /// An extended client channel holding the newest job, for the hashing threads.
    fn channel_for_latest(&self) -> Option<ClientChannel> {
        self.extranonce1.as_ref()?;
        self.latest.clone()
    }
}

/// Applies one line from the server. Some(true): new work that voids the old (drop shares
/// found before it); Some(false): new work; None: nothing for the threads.
fn on_message(c: &mut Conn, msg: ServerMessage, state: &State) -> Result<Option<bool>, String> {
    match msg {
        ServerMessage::Response(r) => {
            let id = r.id.to_value().as_u64().unwrap_or(0);
            match id {
                ID_SUBSCRIBE => {
                    let (en1, size) = subscribe_result(&r.result).ok_or("bad mining.subscribe answer")?;
                    c.extranonce1 = Some(en1);
                    c.extranonce2_size = size;
                }
                ID_CONFIGURE => {
                    let granted = r.result.get("version-rolling").and_then(Value::as_bool) == Some(true);
                    let mask = r.result.get("version-rolling.mask").and_then(Value::as_str);
                    c.version_mask =
                        mask.filter(|_| granted).and_then(|m| u32::from_str_radix(m, 16).ok()).unwrap_or(0);
                }
                ID_AUTHORIZE if r.result != Value::Bool(true) => return Err(format!("not authorized: {:?}", r.error)),
                _ => {
                    let Some(index) = c.pending.remove(&id) else { return Ok(None) };
                    let answer = if r.result == Value::Bool(true) {
                        lock(&state.stats).accepted += 1;
                        Ok(())
                    } else {
                        let why = r.error.map_or_else(|| "rejected".to_string(), |e| e.message);
                        *lock(&state.stats).rejected.entry(why.clone()).or_default() += 1;
                        Err(why)
                    };
                    if let Some(i) = index {
                        if let Some(s) = lock(&state.sent).get_mut(i) {
                            s.answer = Some(answer);
                        }
                    }
                }
            }
            Ok(None)
        }
        ServerMessage::SetDifficulty(d) => {
            c.target = target_for_difficulty(d);
            Ok(None)
        }
        ServerMessage::SetExtranonce { extranonce1, extranonce2_size } => {
            c.extranonce1 = Some(extranonce1);
            c.extranonce2_size = extranonce2_size;
            c.latest = None;
            c.jobs.clear();
            Ok(Some(true))
        }
        ServerMessage::SetVersionMask(m) => {
            c.version_mask = m;
            Ok(None)
        }
        ServerMessage::Reconnect { .. } => Err("the server asked to reconnect".into()),
        ServerMessage::Notify(n) => {
            let Some(en1) = c.extranonce1.clone() else { return Ok(None) };
            if n.clean_jobs {
                c.jobs.clear();
            }
            let job = c.next_job;
            c.next_job = c.next_job.wrapping_add(1).max(1);
            c.jobs.push_back((job, n.job_id.clone()));
            while c.jobs.len() > MAX_JOBS {
                c.jobs.pop_front();
            }
            let size = u16::try_from(c.extranonce2_size).map_err(|_| "extranonce2 size")?;
            let mut ch = ClientChannel::extended(1, c.target, &en1, size);
            let m = NewExtendedMiningJob {
                channel_id: 1,
                job_id: job,
                min_ntime: None,
                version: n.version,
                version_rolling_allowed: false,
                merkle_path: Seq::new(&n.merkle_branch).map_err(|e| e.to_string())?,
                coinbase_tx_prefix: Bytes::new(&n.coinb1).map_err(|e| e.to_string())?,
                coinbase_tx_suffix: Bytes::new(&n.coinb2).map_err(|e| e.to_string())?,
            };
            ch.on_new_extended_job(&m);
            ch.on_set_new_prev_hash(&SetNewPrevHash {
                channel_id: 1,
                job_id: job,
                prev_hash: n.prev_hash,
                min_ntime: n.ntime,
                nbits: n.nbits,
            });
            let new_tip = c.latest.as_ref().and_then(|l| l.work(&vec![0; l.extranonce_size()])).map(|w| w.prev_hash)
                != Some(n.prev_hash);
            if new_tip {
                lock(&state.stats).tips += 1;
                state.tips.send_replace(Some(TipSeen { prev_hash: n.prev_hash, at: Instant::now() }));
            }
            lock(&state.stats).jobs += 1;
            c.latest = Some(ch);
            Ok(Some(n.clean_jobs))
        }
        ServerMessage::Other { .. } => Ok(None),
    }
}

/// `[subscriptions, extranonce1, extranonce2_size]`.
fn subscribe_result(v: &Value) -> Option<(Vec<u8>, usize)> {
    let en1 = hex::decode(v.get(1)?.as_str()?).ok()?;
    let size = usize::try_from(v.get(2)?.as_u64()?).ok().filter(|n| (1..=32).contains(n))?;
    Some((en1, size))
}

/// `sv2 miner --sv1`: runs until Ctrl-C (or `--duration-secs`).
pub(super) fn run_cli(args: super::cli::MinerArgs) -> Result<(), String> {
    let mut config = Sv1MinerConfig::new(args.pool, args.user);
    if let Some(t) = args.threads {
        config.threads = t.max(1);
    }
    if !(args.report_secs.is_finite() && args.report_secs > 0.0) {
        return Err("--report-secs must be a positive number".into());
    }
    config.report_every = Some(Duration::from_secs_f64(args.report_secs));
    super::cli::mine_until_stopped(move || start(config), args.duration_secs)
}
