//! `sv2 miner`: a multi-threaded CPU miner. It opens one standard channel (header-only mining:
//! the threads roll nonce and version bits) or one extended channel (each thread rolls its own
//! extranonce), submits every header that meets the channel target, and reports its hashrate.
//!
//! ```no_run
//! # async fn f(authority: sv2::noise::AuthorityPublicKey) {
//! use sv2_roles::miner::{ChannelMode, MinerConfig};
//! let config = MinerConfig::new("127.0.0.1:34254", authority, "alice.rig1", ChannelMode::Extended);
//! let miner = sv2_roles::miner::start(config);
//! tokio::time::sleep(std::time::Duration::from_secs(10)).await;
//! println!("{:?}", miner.stats());
//! miner.shutdown().await;
//! # }
//! ```

pub mod cli;
mod hasher;
mod session;
pub mod sv1;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::noise::AuthorityPublicKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::hasher::measure_hashrate;
use crate::net::Limits;

/// Which channel the miner opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelMode {
    /// A standard channel: header-only mining on a merkle root the pool computes.
    Standard,
    /// An extended channel: the miner builds the coinbase and rolls extranonce.
    Extended,
}

/// Everything a miner needs.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// `host:port` of the pool.
    pub pool: String,
    /// The pool's authority key (its certificate must be signed by it).
    pub authority: AuthorityPublicKey,
    /// User identity, `user.worker` by convention.
    pub user: String,
    /// Hashing threads.
    pub threads: usize,
    /// Standard or extended channel.
    pub mode: ChannelMode,
    /// Ask for NewMiningJob per channel instead of group jobs (REQUIRES_STANDARD_JOBS).
    pub requires_standard_jobs: bool,
    /// Announced hashrate in h/s; None measures it at start.
    pub nominal_hashrate: Option<f64>,
    /// Fewest extranonce bytes to roll on an extended channel.
    pub min_extranonce_size: u16,
    /// Handshake and write deadlines.
    pub limits: Limits,
    /// Keep every share sent and its answer (for tests that compare with the pool's records).
    pub record_shares: bool,
    /// Reconnect after the connection drops (with a short back-off) instead of stopping.
    pub reconnect: bool,
    /// How often to log the hashrate (None: never).
    pub report_every: Option<Duration>,
}

impl MinerConfig {
    /// A miner with one thread per core that reconnects, reports every 10 s, and records no
    /// shares.
    pub fn new(
        pool: impl Into<String>,
        authority: AuthorityPublicKey,
        user: impl Into<String>,
        mode: ChannelMode,
    ) -> Self {
        MinerConfig {
            pool: pool.into(),
            authority,
            user: user.into(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            mode,
            requires_standard_jobs: false,
            nominal_hashrate: None,
            min_extranonce_size: 8,
            limits: Limits::default(),
            record_shares: false,
            reconnect: true,
            report_every: Some(Duration::from_secs(10)),
        }
    }
}

/// A share the miner sent, as it went on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentShare {
    /// The connection it was sent on (counts from 1 per miner).
    pub connection: u32,
    /// Channel.
    pub channel_id: u32,
    /// Sequence number.
    pub sequence_number: u32,
    /// Job.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// Rolled extranonce (empty on standard channels).
    pub extranonce: Vec<u8>,
    /// The pool's answer once it came: Ok, or the error code.
    pub answer: Option<Result<(), String>>,
}

/// Counters of a running miner.
#[derive(Debug, Clone, Default)]
pub struct MinerStats {
    /// Headers hashed.
    pub hashes: u64,
    /// Shares submitted.
    pub submitted: u64,
    /// Shares the pool acknowledged in SubmitShares.Success.
    pub accepted: u64,
    /// Shares the pool rejected, by error code.
    pub rejected: BTreeMap<String, u64>,
    /// Shares found for a job a new tip had already made stale, not sent.
    pub dropped_stale: u64,
    /// Job messages (NewMiningJob, NewExtendedMiningJob) received.
    pub jobs: u64,
    /// Bytes on the wire (Noise frames) of the job messages and SetNewPrevHash received.
    pub job_bytes: u64,
    /// SetNewPrevHash messages received.
    pub tips: u64,
    /// Bytes on the wire of the shares sent.
    pub share_bytes: u64,
    /// Connections made (1 unless the miner reconnected).
    pub connections: u32,
    /// Seconds since the miner started.
    pub elapsed: f64,
}

impl MinerStats {
    /// Average hashes per second since start.
    pub fn hashrate(&self) -> f64 {
        if self.elapsed > 0.0 {
            self.hashes as f64 / self.elapsed
        } else {
            0.0
        }
    }

    /// Shares rejected, all codes.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The latest SetNewPrevHash the miner got: the tip and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipSeen {
    /// Previous block hash, internal byte order.
    pub prev_hash: [u8; 32],
    /// When the miner received it.
    pub at: Instant,
}

/// State shared between the miner's tasks and its handle.
#[derive(Debug)]
struct State {
    stats: Mutex<MinerStats>,
    sent: Mutex<Vec<SentShare>>,
    tips: watch::Sender<Option<TipSeen>>,
    started: Instant,
}

/// A running miner.
pub struct MinerHandle {
    state: Arc<State>,
    hashing: Arc<hasher::Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts a miner on the current tokio runtime: its hashing threads, and a task that connects
/// to the pool (again after a drop, when configured) and runs the channel.
pub fn start(config: MinerConfig) -> MinerHandle {
    let state = Arc::new(State {
        stats: Mutex::new(MinerStats::default()),
        sent: Mutex::new(Vec::new()),
        tips: watch::channel(None).0,
        started: Instant::now(),
    });
    let hashing = hasher::Shared::new();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(session::run(config, state.clone(), hashing.clone(), shutdown_rx));
    MinerHandle { state, hashing, shutdown, task: Some(task) }
}

impl MinerHandle {
    /// The counters now.
    pub fn stats(&self) -> MinerStats {
        let mut s = lock(&self.state.stats).clone();
        s.hashes = self.hashing.hashes.load(std::sync::atomic::Ordering::Relaxed);
        s.elapsed = self.state.started.elapsed().as_secs_f64();
        s
    }

    /// Every share sent so far with its answer (empty unless `record_shares`).
    pub fn sent_shares(&self) -> Vec<SentShare> {
        lock(&self.state.sent).clone()
    }

    /// The latest tip the miner was told of, updated as SetNewPrevHash messages arrive.
    pub fn tips(&self) -> watch::Receiver<Option<TipSeen>> {
        self.state.tips.subscribe()
    }

    /// Stops hashing, closes the connection and waits for the threads; the counters and the
    /// shares sent stay readable.
    pub async fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        self.hashing.stop();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// [`Self::stop`], then drops the handle.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }
}

impl Drop for MinerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.hashing.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
