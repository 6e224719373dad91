//! The farm side's connection to its pools: one Noise connection to the first healthy pool of
//! an ordered list, with failover, carrying the channels a proxy or translator opens for its
//! devices. The protocol decisions come from [`sv2::endpoint::client::ClientEndpoint`].
//!
//! ```no_run
//! # async fn f(a: sv2::noise::AuthorityPublicKey, b: sv2::noise::AuthorityPublicKey) {
//! use sv2_roles::upstream::{ChannelSpec, PoolEndpoint, UpstreamConfig, UpstreamEvent};
//! let pools = vec![PoolEndpoint::new("pool-a:34254", a), PoolEndpoint::new("pool-b:34254", b)];
//! let (upstream, mut events) = sv2_roles::upstream::start(UpstreamConfig::new(pools));
//! let jobs = upstream.open(1, ChannelSpec::extended("farm.rack1", 1e12, 4)).await.unwrap();
//! while let Some(event) = events.recv().await {
//!     if let UpstreamEvent::ChannelReady { key, extranonce_prefix, .. } = event {
//!         // Carve downstream prefixes under `extranonce_prefix`, serve `jobs` to devices,
//!         // forward their shares with `upstream.submit(key, share, id)`.
//!     }
//! }
//! # }
//! ```
//!
//! # Failover rules
//!
//! - Pools are tried in the configured order. The active pool is given up, and the next one
//!   in the list tried at once, when its connection ends (EOF, socket error, a process killed
//!   with SIGKILL), when it refuses SetupConnection, when it breaks the protocol, when it
//!   refuses a channel while no channel is open on it, or when it goes silent: a request
//!   (SetupConnection, a channel open, a share) unanswered for
//!   [`UpstreamConfig::response_timeout`], or no message at all for
//!   [`UpstreamConfig::idle_timeout`] when set. A connect or handshake is bounded by
//!   [`UpstreamConfig::connect_timeout`], so an unreachable next pool costs at most that.
//!   After a full round of failures the upstream waits (100 ms, doubling to 5 s) before the
//!   next round.
//! - One device's error is never a pool failure: a rejected share is an answer, and a channel
//!   refused while other channels are open on the pool is reported to the consumer
//!   ([`UpstreamEvent::ChannelRefused`]) and forgotten. Reconnect (the pool's own request)
//!   reconnects to the same pool.
//! - While on a fallback pool, the preferred (earlier) pools are probed every
//!   [`UpstreamConfig::probe_interval`], doubling to [`UpstreamConfig::probe_max`] while they
//!   stay down. A preferred pool is healthy again once it completes the authority-checked
//!   handshake and accepts SetupConnection; the upstream then opens every channel there,
//!   moves to it, and keeps the old connection only to collect answers to shares already
//!   sent on it (at most [`UpstreamConfig::drain_grace`]). Preferred pools carry the
//!   operator's choice (payout, fees, latency), so work goes back to them as soon as they are
//!   usable. A preferred pool that fails again within a minute of the move doubles the probe
//!   interval, so that a flapping pool does not move the farm back and forth every few
//!   seconds.
//! - After every move, each channel is re-opened on the new pool under the consumer's key
//!   and announced with [`UpstreamEvent::ChannelReady`] (new channel id, target, extranonce
//!   prefix and size): the consumer re-carves its extranonces and sends devices new jobs.
//!   Shares still unanswered by a pool that died are counted
//!   ([`UpstreamMetrics::shares_unacknowledged`]) and listed in [`UpstreamEvent::PoolLost`].
//! - Shares submitted while a channel is not open anywhere, or for a job of a pool given up,
//!   are not sent ([`UpstreamEvent::ShareDropped`]).
//!
//! Job ids reach the consumer renumbered per channel, one numbering across every pool
//! (jobs on the feed, [`UpstreamEvent::StandardJob`], [`UpstreamEvent::PrevHash`]), and
//! shares name jobs by those ids: two pools' job 1 are different jobs, and a downstream
//! endpoint that still knows the first must not take the second for it.
//!
//! With [`UpstreamConfig::worker_identity`] the upstream asks each pool for extension 0x0002
//! (worker-specific hashrate tracking) after SetupConnection; where granted,
//! [`UpstreamClient::submit_as`] tags extended-channel shares with the device's identity
//! (at most 32 bytes). A pool that refuses it (the pool role does today) is used without it.

mod job_ids;
mod session;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sv2::channels::target::{TargetLe, MAX_TARGET};
use sv2::endpoint::server::JobState;
use sv2::jd::client::CustomJobRequest;
use sv2::messages::{NewMiningJob, SetNewPrevHash};
use sv2::noise::AuthorityPublicKey;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::net::Limits;

/// One pool of the list.
#[derive(Debug, Clone)]
pub struct PoolEndpoint {
    /// `host:port`.
    pub address: String,
    /// The pool's authority key (its certificate must be signed by it).
    pub authority: AuthorityPublicKey,
}

impl PoolEndpoint {
    /// A pool at `address` pinned to `authority`.
    pub fn new(address: impl Into<String>, authority: AuthorityPublicKey) -> Self {
        PoolEndpoint { address: address.into(), authority }
    }

    /// `host:port=KEY` as the command lines take it: the key as base58check text or a file
    /// holding it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, key) = s.rsplit_once('=').ok_or_else(|| format!("--pool {s}: expected HOST:PORT=AUTHORITY"))?;
        Ok(PoolEndpoint::new(addr, crate::net::load_authority_key(std::path::Path::new(key))?))
    }
}

/// The pools and the timings of failover.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Pools in order of preference.
    pub pools: Vec<PoolEndpoint>,
    /// Vendor string sent in SetupConnection.
    pub vendor: String,
    /// Ask for NewMiningJob on standard channels (REQUIRES_STANDARD_JOBS).
    pub requires_standard_jobs: bool,
    /// Time for the TCP connect and the Noise handshake together.
    pub connect_timeout: Duration,
    /// Longest wait for an answer to a request before the pool counts as silent.
    pub response_timeout: Duration,
    /// Longest time without any message before the pool counts as silent (None: no limit;
    /// pools send nothing between tips when no share is pending).
    pub idle_timeout: Option<Duration>,
    /// First wait before probing the preferred pools while on a fallback.
    pub probe_interval: Duration,
    /// Longest wait between probes.
    pub probe_max: Duration,
    /// How long an abandoned connection is kept to collect answers to its shares.
    pub drain_grace: Duration,
    /// Capacity of the command and event queues.
    pub queue: usize,
    /// Ask pools for extension 0x0002 (per-worker identity on shares).
    pub worker_identity: bool,
    /// SetupConnection with REQUIRES_WORK_SELECTION: the consumer sends its own jobs
    /// ([`UpstreamClient::set_custom_job`], a Job Declarator Client's).
    pub work_selection: bool,
}

impl UpstreamConfig {
    /// These pools, with a 4 s connect, a 10 s answer timeout, probes every 5 s up to 60 s,
    /// and 5 s to drain.
    pub fn new(pools: Vec<PoolEndpoint>) -> Self {
        UpstreamConfig {
            pools,
            vendor: "libsv2".into(),
            requires_standard_jobs: false,
            connect_timeout: Duration::from_secs(4),
            response_timeout: Duration::from_secs(10),
            idle_timeout: None,
            probe_interval: Duration::from_secs(5),
            probe_max: Duration::from_secs(60),
            drain_grace: Duration::from_secs(5),
            queue: 1024,
            worker_identity: false,
            work_selection: false,
        }
    }

    fn limits(&self) -> Limits {
        Limits { handshake: self.connect_timeout, ..Limits::default() }
    }
}

/// Standard or extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A standard channel: jobs come as [`UpstreamEvent::StandardJob`] and
    /// [`UpstreamEvent::PrevHash`].
    Standard,
    /// An extended channel: jobs come on the [`JobState`] feed.
    Extended {
        /// Fewest bytes of extranonce the consumer needs below the pool's prefix.
        min_extranonce_size: u16,
    },
}

/// A channel the consumer wants open on whichever pool is active.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSpec {
    /// Standard or extended.
    pub kind: ChannelKind,
    /// User identity for the pool.
    pub user_identity: String,
    /// Hashrate of what the channel carries, in h/s.
    pub nominal_hashrate: f32,
    /// Easiest target the consumer accepts.
    pub max_target: TargetLe,
}

impl ChannelSpec {
    /// An extended channel with no target limit.
    pub fn extended(user_identity: impl Into<String>, nominal_hashrate: f32, min_extranonce_size: u16) -> Self {
        ChannelSpec {
            kind: ChannelKind::Extended { min_extranonce_size },
            user_identity: user_identity.into(),
            nominal_hashrate,
            max_target: MAX_TARGET,
        }
    }

    /// A standard channel with no target limit.
    pub fn standard(user_identity: impl Into<String>, nominal_hashrate: f32) -> Self {
        ChannelSpec {
            kind: ChannelKind::Standard,
            user_identity: user_identity.into(),
            nominal_hashrate,
            max_target: MAX_TARGET,
        }
    }
}

/// A share to forward (the extranonce is the part below the channel's prefix; empty on
/// standard channels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamShare {
    /// The pool's job id.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// Rolled extranonce: exactly the channel's extranonce size.
    pub extranonce: Vec<u8>,
}

/// What the consumer hears from the upstream. Channel events carry the consumer's key; share
/// answers carry the consumer's own share id.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UpstreamEvent {
    /// A pool accepted SetupConnection and is now the active one.
    PoolConnected {
        /// Its place in the list.
        index: usize,
        /// Its address.
        address: String,
        /// Its SetupConnection.Success flags.
        flags: u32,
    },
    /// A pool could not be used (connect, handshake or SetupConnection failed).
    PoolUnavailable {
        /// Its place in the list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The active pool was given up (it died, or the upstream moved back to a preferred one;
    /// then this may come after the next [`UpstreamEvent::PoolConnected`]).
    PoolLost {
        /// Its place in the list.
        index: usize,
        /// Why.
        reason: String,
        /// Shares sent to it and never answered: (key, share id).
        unacknowledged: Vec<(u64, u64)>,
    },
    /// A channel is open on the active pool (first open or re-open after a move).
    ChannelReady {
        /// The consumer's key.
        key: u64,
        /// The pool.
        index: usize,
        /// The pool's channel id.
        channel_id: u32,
        /// Initial share target.
        target: TargetLe,
        /// The pool's extranonce prefix: downstream prefixes start with it.
        extranonce_prefix: Vec<u8>,
        /// Bytes below the prefix (0 on standard channels).
        extranonce_size: u16,
    },
    /// A pool refused a channel; the channel is forgotten (when no channel was open on the
    /// pool, the pool is given up instead and the channel tried on the next one).
    ChannelRefused {
        /// The consumer's key.
        key: u64,
        /// The pool.
        index: usize,
        /// The error code.
        code: String,
    },
    /// The pool closed a channel; it is forgotten.
    ChannelClosed {
        /// The consumer's key.
        key: u64,
        /// Why.
        reason: String,
    },
    /// A job on a standard channel (merkle root for the channel's extranonce).
    StandardJob {
        /// The consumer's key.
        key: u64,
        /// The job as the pool addressed it to the channel.
        job: NewMiningJob,
    },
    /// A new previous hash on a standard channel.
    PrevHash {
        /// The consumer's key.
        key: u64,
        /// The message as the pool addressed it to the channel.
        prev: SetNewPrevHash,
    },
    /// New share target for jobs received after it.
    TargetChanged {
        /// The consumer's key.
        key: u64,
        /// The target.
        target: TargetLe,
    },
    /// New extranonce prefix for jobs received after it.
    ExtranoncePrefixChanged {
        /// The consumer's key.
        key: u64,
        /// The prefix.
        prefix: Vec<u8>,
    },
    /// The pool accepted a share.
    ShareAccepted {
        /// The consumer's key.
        key: u64,
        /// The consumer's share id.
        id: u64,
    },
    /// The pool rejected a share.
    ShareRejected {
        /// The consumer's key.
        key: u64,
        /// The consumer's share id.
        id: u64,
        /// The error code.
        code: String,
    },
    /// A share was not sent: the channel is not open on any pool right now.
    ShareDropped {
        /// The consumer's key.
        key: u64,
        /// The consumer's share id.
        id: u64,
    },
    /// The pool accepted a SetCustomMiningJob: shares on it name `job_id`.
    CustomJobAccepted {
        /// The consumer's key.
        key: u64,
        /// The pool it was sent to.
        index: usize,
        /// The consumer's request id.
        request_id: u32,
        /// The job's id as the consumer submits shares on it.
        job_id: u32,
    },
    /// The pool refused a SetCustomMiningJob (or it was not sent: `channel-not-open`).
    CustomJobRefused {
        /// The consumer's key.
        key: u64,
        /// The consumer's request id.
        request_id: u32,
        /// The error code.
        code: String,
    },
}

/// Value of [`UpstreamMetrics::active_pool`] while no pool is active.
pub const NO_POOL: usize = usize::MAX;

/// Counters of an upstream, readable while it runs.
#[derive(Debug)]
pub struct UpstreamMetrics {
    /// Index of the active pool ([`NO_POOL`]: none).
    pub active_pool: AtomicUsize,
    /// Moves from one pool to another.
    pub failovers: AtomicU64,
    /// Shares sent to a pool.
    pub shares_forwarded: AtomicU64,
    /// Shares a pool accepted.
    pub shares_accepted: AtomicU64,
    /// Shares a pool rejected.
    pub shares_rejected: AtomicU64,
    /// Shares sent to a pool that was given up before answering them.
    pub shares_unacknowledged: AtomicU64,
    /// Shares not sent because their channel was not open.
    pub shares_dropped: AtomicU64,
}

impl UpstreamMetrics {
    fn new() -> Self {
        UpstreamMetrics {
            active_pool: AtomicUsize::new(NO_POOL),
            failovers: AtomicU64::new(0),
            shares_forwarded: AtomicU64::new(0),
            shares_accepted: AtomicU64::new(0),
            shares_rejected: AtomicU64::new(0),
            shares_unacknowledged: AtomicU64::new(0),
            shares_dropped: AtomicU64::new(0),
        }
    }

    /// The active pool's index.
    pub fn active(&self) -> Option<usize> {
        Some(self.active_pool.load(Ordering::Relaxed)).filter(|i| *i != NO_POOL)
    }
}

/// What the consumer asks of the upstream task.
#[derive(Debug)]
enum Command {
    Open { key: u64, spec: ChannelSpec, jobs: Option<watch::Sender<Arc<JobState>>> },
    Close { key: u64 },
    Update { key: u64, nominal_hashrate: f32, max_target: TargetLe },
    Submit { key: u64, share: UpstreamShare, id: u64, user_identity: Option<String> },
    SetCustomJob { key: u64, request_id: u32, job: Box<CustomJobRequest> },
    GiveUp { index: usize, reason: String },
}

/// The upstream task ended (shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamClosed;

impl std::fmt::Display for UpstreamClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream closed")
    }
}

impl std::error::Error for UpstreamClosed {}

/// A cloneable way to talk to a running upstream.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    commands: mpsc::Sender<Command>,
    metrics: Arc<UpstreamMetrics>,
}

impl UpstreamClient {
    /// Opens (or replaces) the channel under `key` on the active pool and every later one.
    /// For an extended channel, returns its job feed: the jobs of the pool it is open on,
    /// with a `tip_seq` that grows with every tip across pools.
    pub async fn open(
        &self,
        key: u64,
        spec: ChannelSpec,
    ) -> Result<Option<watch::Receiver<Arc<JobState>>>, UpstreamClosed> {
        let (jobs, rx) = match spec.kind {
            ChannelKind::Extended { .. } => {
                let (tx, rx) = watch::channel(Arc::new(JobState::default()));
                (Some(tx), Some(rx))
            }
            ChannelKind::Standard => (None, None),
        };
        self.commands.send(Command::Open { key, spec, jobs }).await.map_err(|_| UpstreamClosed)?;
        Ok(rx)
    }

    /// Closes the channel under `key`.
    pub async fn close(&self, key: u64) -> Result<(), UpstreamClosed> {
        self.commands.send(Command::Close { key }).await.map_err(|_| UpstreamClosed)
    }

    /// Announces a new hashrate and easiest target for the channel under `key` (UpdateChannel
    /// on the active pool; later pools get them in the open).
    pub async fn update(&self, key: u64, nominal_hashrate: f32, max_target: TargetLe) -> Result<(), UpstreamClosed> {
        self.commands.send(Command::Update { key, nominal_hashrate, max_target }).await.map_err(|_| UpstreamClosed)
    }

    /// Forwards a share on the channel under `key`; its answer comes back as an event with
    /// `id`.
    pub async fn submit(&self, key: u64, share: UpstreamShare, id: u64) -> Result<(), UpstreamClosed> {
        self.commands.send(Command::Submit { key, share, id, user_identity: None }).await.map_err(|_| UpstreamClosed)
    }

    /// [`Self::submit`] tagged with the device's `user_identity` where the pool granted
    /// extension 0x0002 (extended channels only; otherwise sent without it).
    pub async fn submit_as(
        &self,
        key: u64,
        share: UpstreamShare,
        id: u64,
        user_identity: impl Into<String>,
    ) -> Result<(), UpstreamClosed> {
        let user_identity = Some(user_identity.into());
        self.commands.send(Command::Submit { key, share, id, user_identity }).await.map_err(|_| UpstreamClosed)
    }

    /// Sends `job` as SetCustomMiningJob on the channel under `key` (its min_ntime as given:
    /// the consumer matches the pool's tip); the answer comes as
    /// [`UpstreamEvent::CustomJobAccepted`] or [`UpstreamEvent::CustomJobRefused`]. Needs
    /// [`UpstreamConfig::work_selection`].
    pub async fn set_custom_job(&self, key: u64, request_id: u32, job: CustomJobRequest) -> Result<(), UpstreamClosed> {
        let job = Box::new(job);
        self.commands.send(Command::SetCustomJob { key, request_id, job }).await.map_err(|_| UpstreamClosed)
    }

    /// Gives up pool `index` if it is the active one (the consumer cannot use it, e.g. its
    /// Job Declaration Server failed) and moves to the next, as if it had failed.
    pub async fn give_up(&self, index: usize, reason: impl Into<String>) -> Result<(), UpstreamClosed> {
        let reason = reason.into();
        self.commands.send(Command::GiveUp { index, reason }).await.map_err(|_| UpstreamClosed)
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<UpstreamMetrics> {
        &self.metrics
    }
}

/// A running upstream: [`UpstreamClient`] plus the task, which ends on
/// [`Upstream::shutdown`] or when every client is dropped.
#[derive(Debug)]
pub struct Upstream {
    client: UpstreamClient,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::ops::Deref for Upstream {
    type Target = UpstreamClient;
    fn deref(&self) -> &UpstreamClient {
        &self.client
    }
}

impl Upstream {
    /// Another client of the same upstream.
    pub fn client(&self) -> UpstreamClient {
        self.client.clone()
    }

    /// Closes the connection and waits for the task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the upstream on the current tokio runtime; it connects to the first pool at once.
/// Events must be read: the task waits for room in the (bounded) event queue.
pub fn start(config: UpstreamConfig) -> (Upstream, mpsc::Receiver<UpstreamEvent>) {
    let queue = config.queue.max(1);
    let (commands, commands_rx) = mpsc::channel(queue);
    let (events_tx, events) = mpsc::channel(queue);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let metrics = Arc::new(UpstreamMetrics::new());
    let task = tokio::spawn(session::run(Arc::new(config), commands_rx, events_tx, metrics.clone(), shutdown_rx));
    (Upstream { client: UpstreamClient { commands, metrics }, shutdown, task: Some(task) }, events)
}
