//! Job Declarator Client (JDC): the farm chooses its transactions while mining for a pool.
//!
//! Runs inside `sv2 proxy` and `sv2 translator`, both aggregating (one upstream extended
//! channel). The pieces:
//!
//! - a Template Distribution connection to the farm's own template provider (`tp.rs`): the
//!   CoinbaseOutputConstraints of the pool's outputs (from `TokenReady`, or of the solo payout),
//!   templates, tips and their transactions (RequestTransactionData);
//! - a Noise connection to the active pool's Job Declaration Server (`jds.rs`) carrying
//!   rust-core's [`sv2::jd::client::JobDeclarationClient`]: tokens kept ahead, each template
//!   declared (Full-Template: DeclareMiningJob with ProvideMissingTransactions answered;
//!   Coinbase-only: the token straight into SetCustomMiningJob);
//! - the upstream Mining connection ([`crate::upstream`], opened with REQUIRES_WORK_SELECTION):
//!   the declared job goes there as SetCustomMiningJob on the upstream extended channel.
//!
//! Devices mine the declared job at once, before SetCustomMiningJob.Success: a block found
//! on it is a valid block paying the pool's outputs whatever the pool answers, so it goes to
//! the farm's template provider (SubmitSolution) and, Full-Template, to the JDS
//! (PushSolution). Shares for the pool found before the Success wait (a few) and follow it.
//!
//! Fallback ([`JdConfig`]): the JDS refusing a declaration, failing, or leaving a request
//! unanswered past the response timeout, the pool refusing a SetCustomMiningJob, or rejecting
//! [`JdConfig::max_rejected_shares`] shares in a row on accepted custom jobs, give the pool up:
//! the upstream moves to the next pool (whose JDS is then used) when another pool's JDS is not
//! in its back-off, and while no JDS is usable the devices mine the farm's templates solo, to
//! [`JdConfig::solo_payout`]. A JDS that failed is tried again after a back-off (doubling from
//! [`JdConfig::retry_min`] to [`JdConfig::retry_max`]); the upstream's own probing brings the
//! farm back to a preferred pool. A refusal for the chain tip (a tip code such as
//! `stale-chain-tip`, or a job whose previous hash is no longer the pool's or the farm's tip)
//! is a race between the farm's node and the pool's, not a reason to fall back: the template
//! is declared again once the pool's tip matches (ten in a row: the nodes disagree, and that
//! is a fallback).

pub mod cli;
mod jds;
mod run;
mod tp;
mod work;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sv2::endpoint::server::JobState;
use sv2::noise::AuthorityPublicKey;
use tokio::sync::{broadcast, mpsc, watch};

use crate::upstream::{PoolEndpoint, UpstreamClient, UpstreamEvent};

/// How the JDC declares, and what it falls back to.
#[derive(Debug, Clone)]
pub struct JdConfig {
    /// The JDS of each upstream pool, in the pools' order (None: that pool has none, and is
    /// given up like a pool whose JDS failed).
    pub jds: Vec<Option<PoolEndpoint>>,
    /// The farm's template provider, `host:port`.
    pub tp_address: String,
    /// Its authority key (None: any server key accepted, for a template provider on loopback).
    pub tp_authority: Option<AuthorityPublicKey>,
    /// Full-Template (declare the transactions) or Coinbase-only.
    pub full_template: bool,
    /// scriptPubKey paid when no JDS is usable (None: devices keep their last job then).
    pub solo_payout: Option<Vec<u8>>,
    /// User the tokens are asked for.
    pub user: String,
    /// Pushed in the coinbase scriptSig of the farm's jobs.
    pub tag: Vec<u8>,
    /// Longest wait for the JDS's answer to a request (and for its SetupConnection).
    pub response_timeout: Duration,
    /// First wait before trying a failed JDS again.
    pub retry_min: Duration,
    /// Longest wait between tries.
    pub retry_max: Duration,
    /// Shares on accepted custom jobs the pool may reject in a row before it is given up
    /// (`stale-…` codes are not counted: they follow tip changes).
    pub max_rejected_shares: u32,
    /// Tokens held ahead of the templates.
    pub tokens_ahead: usize,
}

impl JdConfig {
    /// Full-Template to these JDSs with templates from `tp_address`; 10 s answers, retries
    /// from 1 s to 60 s, 5 rejected shares, 2 tokens ahead.
    pub fn new(jds: Vec<Option<PoolEndpoint>>, tp_address: impl Into<String>) -> Self {
        JdConfig {
            jds,
            tp_address: tp_address.into(),
            tp_authority: None,
            full_template: true,
            solo_payout: None,
            user: "libsv2.jdc".into(),
            tag: b"libsv2-jdc".to_vec(),
            response_timeout: Duration::from_secs(10),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_rejected_shares: 5,
            tokens_ahead: 2,
        }
    }
}

/// What devices mine now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing yet (no template, or no upstream channel to size the extranonce).
    Idle,
    /// Declared jobs for pool `n` (the index).
    Declared(usize),
    /// The farm's templates, paying the solo script.
    Solo,
}

/// Counters of a JDC, readable while it runs.
#[derive(Debug, Default)]
pub struct JdcStats {
    mode: AtomicUsize,
    /// Jobs made from declarations (Full-Template: DeclareMiningJob sent).
    pub declared: AtomicU64,
    /// Declarations the JDS accepted.
    pub declarations_accepted: AtomicU64,
    /// Declarations the JDS refused.
    pub declarations_refused: AtomicU64,
    /// ProvideMissingTransactions answered.
    pub missing_transactions_answered: AtomicU64,
    /// Transactions sent in those answers.
    pub missing_transactions_sent: AtomicU64,
    /// SetCustomMiningJob accepted by the pool.
    pub custom_jobs_accepted: AtomicU64,
    /// SetCustomMiningJob refused by the pool.
    pub custom_jobs_refused: AtomicU64,
    /// Shares sent to the pool on custom jobs.
    pub shares_submitted: AtomicU64,
    /// Solo jobs published.
    pub solo_jobs: AtomicU64,
    /// Blocks found (SubmitSolution sent).
    pub blocks_found: AtomicU64,
    /// PushSolution sent.
    pub solutions_pushed: AtomicU64,
    /// Times a JDS or pool was given up.
    pub fallbacks: AtomicU64,
    /// JDS sessions set up.
    pub jds_sessions: AtomicU64,
    /// DeclareMiningJob to DeclareMiningJob.Success (ProvideMissingTransactions and the pool
    /// node's check included).
    pub declare_round_trip: Timing,
    /// SetCustomMiningJob to SetCustomMiningJob.Success.
    pub custom_job_round_trip: Timing,
}

/// Count, mean and maximum of a duration.
#[derive(Debug, Default)]
pub struct Timing {
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Timing {
    fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// How many were measured.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Their mean (zero before the first).
    pub fn mean(&self) -> Duration {
        let n = self.count().max(1);
        Duration::from_micros(self.sum_us.load(Ordering::Relaxed) / n)
    }

    /// The longest.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }
}

impl JdcStats {
    /// What devices mine now.
    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::Relaxed) {
            0 => Mode::Idle,
            1 => Mode::Solo,
            n => Mode::Declared(n - 2),
        }
    }

    /// The counters as Prometheus text, `sv2_<role>_jd_…`.
    pub fn render(&self, role: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let counters: [(&str, &AtomicU64, &str); 13] = [
            ("declared_total", &self.declared, "Jobs built from declarations (Full-Template: DeclareMiningJob sent)."),
            ("declarations_accepted_total", &self.declarations_accepted, "Declarations the JDS accepted."),
            ("declarations_refused_total", &self.declarations_refused, "Declarations the JDS refused."),
            (
                "missing_transactions_answers_total",
                &self.missing_transactions_answered,
                "ProvideMissingTransactions answered.",
            ),
            ("missing_transactions_sent_total", &self.missing_transactions_sent, "Transactions sent in those answers."),
            ("custom_jobs_accepted_total", &self.custom_jobs_accepted, "SetCustomMiningJob accepted by the pool."),
            ("custom_jobs_refused_total", &self.custom_jobs_refused, "SetCustomMiningJob refused by the pool."),
            ("shares_submitted_total", &self.shares_submitted, "Shares sent to the pool on custom jobs."),
            ("solo_jobs_total", &self.solo_jobs, "Solo jobs published."),
            (
                "blocks_found_total",
                &self.blocks_found,
                "Blocks found (SubmitSolution to the farm's template provider).",
            ),
            ("solutions_pushed_total", &self.solutions_pushed, "PushSolution sent."),
            ("fallbacks_total", &self.fallbacks, "Times a JDS or a pool was given up."),
            ("jds_sessions_total", &self.jds_sessions, "JDS sessions set up."),
        ];
        for (name, c, help) in counters {
            let _ = writeln!(out, "# HELP sv2_{role}_jd_{name} {help}\n# TYPE sv2_{role}_jd_{name} counter");
            let _ = writeln!(out, "sv2_{role}_jd_{name} {}", c.load(Ordering::Relaxed));
        }
        let (mode, pool) = match self.mode() {
            Mode::Idle => (0, -1),
            Mode::Solo => (1, -1),
            Mode::Declared(i) => (2, i as i64),
        };
        let _ = writeln!(
            out,
            "# HELP sv2_{role}_jd_mode 0 idle, 1 solo, 2 declaring to a pool.\n# TYPE sv2_{role}_jd_mode gauge"
        );
        let _ = writeln!(out, "sv2_{role}_jd_mode {mode}");
        let _ = writeln!(
            out,
            "# HELP sv2_{role}_jd_pool The pool declared to (-1: none).\n# TYPE sv2_{role}_jd_pool gauge"
        );
        let _ = writeln!(out, "sv2_{role}_jd_pool {pool}");
        out
    }

    fn set_mode(&self, m: Mode) {
        let n = match m {
            Mode::Idle => 0,
            Mode::Solo => 1,
            Mode::Declared(i) => i + 2,
        };
        self.mode.store(n, Ordering::Relaxed);
    }
}

/// A block the farm found, as submitted to its template provider.
#[derive(Debug, Clone)]
pub struct FoundBlock {
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// The serialized block.
    pub block: Vec<u8>,
    /// Whether it pays the solo script (else the pool's outputs).
    pub solo: bool,
}

/// A device share for the JDC: a block, or one meeting the pool's target.
#[derive(Debug, Clone)]
pub struct JdShare {
    /// The consumer's share id (the upstream's answer carries it).
    pub id: u64,
    /// The JDC's job id.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// The full extranonce.
    pub extranonce: Vec<u8>,
    /// The extranonce below the upstream channel's prefix (None: not under the current one).
    pub rolled: Option<Vec<u8>>,
    /// It meets the network target.
    pub block: bool,
    /// It meets the pool's target.
    pub for_pool: bool,
    /// The device's user identity.
    pub worker: String,
}

/// What the JDC is told.
#[derive(Debug)]
pub(crate) enum Input {
    Upstream(UpstreamEvent),
    Share(JdShare),
    LocalExtranonce(usize),
    PoolJobs(watch::Receiver<Arc<JobState>>),
}

/// A running JDC: its job feed and its inputs.
#[derive(Debug, Clone)]
pub struct JdcHandle {
    jobs: watch::Receiver<Arc<JobState>>,
    inputs: mpsc::Sender<Input>,
}

impl JdcHandle {
    /// The jobs devices mine.
    pub fn jobs(&self) -> watch::Receiver<Arc<JobState>> {
        self.jobs.clone()
    }

    /// An upstream event (the JDC follows the active pool, its channel and the answers).
    /// Share answers are dropped when the JDC's queue is full (it only counts rejections in a
    /// row from them), so that a busy JDC never holds up the caller's event loop for them.
    pub async fn upstream_event(&self, event: UpstreamEvent) {
        match event {
            UpstreamEvent::ShareAccepted { .. }
            | UpstreamEvent::ShareRejected { .. }
            | UpstreamEvent::ShareDropped { .. } => {
                let _ = self.inputs.try_send(Input::Upstream(event));
            }
            other => {
                let _ = self.inputs.send(Input::Upstream(other)).await;
            }
        }
    }

    /// No pool yet: devices are served under a local prefix, full extranonce `len` bytes
    /// (solo jobs are made for it until a pool's channel opens).
    pub async fn local_extranonce(&self, len: usize) {
        let _ = self.inputs.send(Input::LocalExtranonce(len)).await;
    }

    /// The upstream channel was opened again under the same key (a consumer that re-opens it
    /// after the pool closed it): its new job feed, the pool's tip from now on.
    pub async fn pool_jobs(&self, jobs: watch::Receiver<Arc<JobState>>) {
        let _ = self.inputs.send(Input::PoolJobs(jobs)).await;
    }

    /// A device share that is a block or meets the pool's target.
    pub async fn share(&self, share: JdShare) {
        let _ = self.inputs.send(Input::Share(share)).await;
    }
}

/// What a JDC reports while it runs (made before it starts, kept by its owner).
#[derive(Debug, Clone)]
pub struct JdcReports {
    /// The counters.
    pub stats: Arc<JdcStats>,
    /// Every block found.
    pub blocks: broadcast::Sender<FoundBlock>,
}

impl Default for JdcReports {
    fn default() -> Self {
        JdcReports { stats: Arc::default(), blocks: broadcast::channel(64).0 }
    }
}

/// Starts a JDC on the current runtime for the upstream channel `key` (extended, opened by
/// the caller on `upstream`, whose pool jobs are `pool_jobs`).
pub fn start(
    config: JdConfig,
    reports: JdcReports,
    upstream: UpstreamClient,
    key: u64,
    pool_jobs: watch::Receiver<Arc<JobState>>,
    shutdown: watch::Receiver<bool>,
) -> (JdcHandle, tokio::task::JoinHandle<()>) {
    let (jobs_tx, jobs) = watch::channel(Arc::new(JobState::default()));
    let (inputs, inputs_rx) = mpsc::channel(1024);
    let task =
        tokio::spawn(run::run(Arc::new(config), reports, upstream, key, pool_jobs, jobs_tx, inputs_rx, shutdown));
    (JdcHandle { jobs, inputs }, task)
}
