//! The upstream task: connects down the pool list, re-opens the consumer's channels on each
//! pool, relays jobs and share answers, and moves on (or back) by the rules in the module
//! docs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sv2::channels::job::{TemplateJob, TipJob};
use sv2::channels::server::Share;
use sv2::channels::target::TargetLe;
use sv2::codec::EXTENSION_WORKER_HASHRATE_TRACKING;
use sv2::endpoint::client::{ClientConfig, ClientEndpoint, ClientError, Event};
use sv2::endpoint::server::JobState;
use sv2::messages::mining_flags::REQUIRES_WORK_SELECTION;
use sv2::messages::SetNewPrevHash;
use sv2::noise::ServerAuth;
use sv2::Message;
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, Instant};

use super::job_ids::JobIds;
use super::{ChannelKind, ChannelSpec, Command, UpstreamConfig, UpstreamEvent, UpstreamMetrics, NO_POOL};
use crate::net::Connection;

/// A session on a preferred pool shorter than this doubles the probe interval.
const SETTLED: Duration = Duration::from_secs(60);
/// Longest wait between rounds of connection attempts when every pool failed.
const MAX_ROUND_BACKOFF: Duration = Duration::from_secs(5);

/// A channel the consumer asked for.
struct Registered {
    spec: ChannelSpec,
    jobs: Option<watch::Sender<Arc<JobState>>>,
    /// The tip number published to the consumer (grows across pools).
    published_seq: u64,
    /// The endpoint's tip number last seen on this connection.
    seen_seq: u64,
    ids: JobIds,
}

impl Registered {
    fn new(spec: ChannelSpec, jobs: Option<watch::Sender<Arc<JobState>>>) -> Self {
        Registered { spec, jobs, published_seq: 0, seen_seq: 0, ids: JobIds::default() }
    }
}

/// One connection to one pool, set up.
struct Live {
    index: usize,
    conn: Connection,
    ep: ClientEndpoint,
    key_of: HashMap<u32, u64>,
    channel_of: HashMap<u64, u32>,
    requests: HashMap<u32, u64>,
    /// Since when something has been awaiting an answer (restarted by every message).
    awaiting_since: Option<Instant>,
    last_heard: Instant,
    /// Whether a channel was opened on it.
    served: bool,
    /// Closed channels, oldest first, whose keys are kept for answers to their last shares.
    closed: VecDeque<u32>,
    /// SetCustomMiningJob request id -> consumer key, until answered.
    custom: HashMap<u32, u64>,
}

/// Closed channels whose keys are kept for late share answers.
const KEPT_CLOSED: usize = 1024;
/// SetCustomMiningJobs unanswered at once; a pool that leaves more is silent.
const MAX_CUSTOM_PENDING: usize = 64;

impl Live {
    /// A channel closed: its key still names the answers to shares sent on it.
    fn retire(&mut self, channel_id: u32) {
        self.closed.push_back(channel_id);
        while self.closed.len() > KEPT_CLOSED {
            if let Some(old) = self.closed.pop_front() {
                self.key_of.remove(&old);
            }
        }
    }

    fn outstanding(&self) -> bool {
        !self.requests.is_empty() || self.ep.pending_len() > 0 || !self.custom.is_empty()
    }

    /// (key, share id) of every share sent and not answered.
    fn unanswered(&self) -> Vec<(u64, u64)> {
        self.ep
            .pending_shares()
            .iter()
            .map(|p| (self.key_of.get(&p.channel_id).copied().unwrap_or(u64::MAX), p.tag))
            .collect()
    }
}

/// Consecutive failed attempts, and the wait after a whole round of them.
struct Round {
    failures: usize,
    backoff: Duration,
}

impl Default for Round {
    fn default() -> Self {
        Round { failures: 0, backoff: Duration::from_millis(100) }
    }
}

/// Why a channel open was not sent.
enum OpenError {
    /// Refused before sending: by the pool's flags (`pool_fault`) or the consumer's spec.
    Refused { code: String, pool_fault: bool },
    /// The connection failed.
    Net(String),
}

/// How a session ended.
enum End {
    Shutdown,
    /// Give the pool up; `same` keeps it (the pool asked to reconnect).
    Failed {
        reason: String,
        same: bool,
    },
    /// A preferred pool is healthy: move there.
    Switch(Box<Live>),
}

struct Runner {
    config: Arc<UpstreamConfig>,
    events: mpsc::Sender<UpstreamEvent>,
    metrics: Arc<UpstreamMetrics>,
    channels: BTreeMap<u64, Registered>,
    probe_delay: Duration,
}

/// What the task waits on besides the pool (kept apart from [`Runner`], which the handlers
/// borrow).
struct Inputs {
    commands: mpsc::Receiver<Command>,
    shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(
    config: Arc<UpstreamConfig>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<UpstreamEvent>,
    metrics: Arc<UpstreamMetrics>,
    shutdown: watch::Receiver<bool>,
) {
    let probe_delay = config.probe_interval;
    let mut r = Runner { config, events, metrics, channels: BTreeMap::new(), probe_delay };
    r.run(&mut Inputs { commands, shutdown }).await;
    r.metrics.active_pool.store(NO_POOL, Ordering::Relaxed);
}

/// Resolves once shutdown is asked for (the watch guard is not held across awaits).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Connects to pool `index` and runs SetupConnection.
async fn connect(config: &UpstreamConfig, index: usize) -> Result<Live, String> {
    let pool = &config.pools[index];
    let mut conn = Connection::connect(&pool.address, ServerAuth::Authority(pool.authority), config.limits())
        .await
        .map_err(|e| format!("connect to {}: {e}", pool.address))?;
    let (host, port) = pool.address.rsplit_once(':').unwrap_or((&pool.address, "0"));
    let mut client = ClientConfig::new(host, port.parse().unwrap_or(0), &config.vendor);
    client.requires_standard_jobs = config.requires_standard_jobs;
    client.firmware = env!("CARGO_PKG_VERSION").into();
    let mut ep = ClientEndpoint::new(client);
    let mut setup = ep.setup_connection();
    if config.work_selection {
        setup.flags |= REQUIRES_WORK_SELECTION;
    }
    conn.send(&setup.into()).await.map_err(|e| e.to_string())?;
    let frame = timeout(config.response_timeout, conn.read_frame())
        .await
        .map_err(|_| "no answer to SetupConnection".to_string())?
        .map_err(|e| e.to_string())?;
    let (msg, _) = frame.message().map_err(|e| format!("bad message: {e}"))?;
    ep.on_message(&msg).map_err(|e| e.to_string())?;
    if config.worker_identity {
        let ask = ep.request_extensions(&[EXTENSION_WORKER_HASHRATE_TRACKING]).map_err(|e| e.to_string())?;
        conn.send(&ask.into()).await.map_err(|e| e.to_string())?;
        let frame = timeout(config.response_timeout, conn.read_frame())
            .await
            .map_err(|_| "no answer to RequestExtensions".to_string())?
            .map_err(|e| e.to_string())?;
        let (msg, _) = frame.message().map_err(|e| format!("bad message: {e}"))?;
        ep.on_message(&msg).map_err(|e| e.to_string())?;
    }
    Ok(Live {
        index,
        conn,
        ep,
        key_of: HashMap::new(),
        channel_of: HashMap::new(),
        requests: HashMap::new(),
        awaiting_since: None,
        last_heard: Instant::now(),
        served: false,
        closed: VecDeque::new(),
        custom: HashMap::new(),
    })
}

/// Tries the pools before `upto`, in order, until one is healthy: first after `delay`, then
/// after doubling waits up to `max`.
async fn probe(config: &UpstreamConfig, upto: usize, mut delay: Duration) -> Live {
    loop {
        tokio::time::sleep(delay).await;
        for index in 0..upto {
            match connect(config, index).await {
                Ok(live) => return live,
                Err(e) => tracing::debug!("upstream: preferred pool {} still down: {e}", config.pools[index].address),
            }
        }
        delay = (delay * 2).min(config.probe_max);
    }
}

impl Runner {
    async fn emit(&self, ev: UpstreamEvent) {
        let _ = self.events.send(ev).await;
    }

    async fn run(&mut self, inputs: &mut Inputs) {
        let pools = self.config.pools.len();
        if pools == 0 {
            tracing::error!("upstream: no pools configured");
            return;
        }
        let mut index = 0;
        let mut round = Round::default();
        let mut last_active: Option<usize> = None;
        let mut prepared: Option<Live> = None;
        loop {
            let came_back = prepared.is_some();
            let live = match prepared.take() {
                Some(live) => live,
                None => match self.offline(inputs, connect(&self.config.clone(), index)).await {
                    None => return,
                    Some(Ok(live)) => live,
                    Some(Err(reason)) => {
                        tracing::warn!("upstream: pool {} unavailable: {reason}", self.config.pools[index].address);
                        self.emit(UpstreamEvent::PoolUnavailable { index, reason }).await;
                        index = (index + 1) % pools;
                        if !self.failed(inputs, &mut round).await {
                            return;
                        }
                        continue;
                    }
                },
            };
            index = live.index;
            if last_active.is_some_and(|p| p != index) {
                self.metrics.failovers.fetch_add(1, Ordering::Relaxed);
            }
            last_active = Some(index);
            self.metrics.active_pool.store(index, Ordering::Relaxed);
            let address = self.config.pools[index].address.clone();
            let flags = live.ep.flags().unwrap_or(0);
            tracing::info!("upstream: using pool {index} {address}");
            self.emit(UpstreamEvent::PoolConnected { index, address, flags }).await;
            let started = Instant::now();
            let mut live = live;
            let end = self.serve(inputs, &mut live).await;
            self.metrics.active_pool.store(NO_POOL, Ordering::Relaxed);
            match end {
                End::Shutdown => return,
                End::Failed { reason, same } => {
                    tracing::warn!("upstream: pool {index} {}: {reason}", self.config.pools[index].address);
                    let unacknowledged = live.unanswered();
                    self.metrics.shares_unacknowledged.fetch_add(unacknowledged.len() as u64, Ordering::Relaxed);
                    self.emit(UpstreamEvent::PoolLost { index, reason, unacknowledged }).await;
                    if started.elapsed() >= SETTLED {
                        self.probe_delay = self.config.probe_interval;
                    } else if came_back {
                        self.probe_delay = (self.probe_delay * 2).min(self.config.probe_max);
                    }
                    if !same {
                        index = (index + 1) % pools;
                    }
                    // A pool that served channels resets the round; one that failed before
                    // serving any (refused them, died at once) counts toward its back-off.
                    if live.served || self.channels.is_empty() {
                        round = Round::default();
                    } else if !self.failed(inputs, &mut round).await {
                        return;
                    }
                }
                End::Switch(next) => {
                    round = Round::default();
                    tokio::spawn(drain(live, self.config.clone(), self.events.clone(), self.metrics.clone()));
                    prepared = Some(*next);
                }
            }
        }
    }

    /// Counts a failed attempt; after one per pool, waits the round's back-off. False on
    /// shutdown.
    async fn failed(&mut self, inputs: &mut Inputs, round: &mut Round) -> bool {
        round.failures += 1;
        if round.failures < self.config.pools.len() {
            return true;
        }
        round.failures = 0;
        let wait = round.backoff;
        round.backoff = (round.backoff * 2).min(MAX_ROUND_BACKOFF);
        self.offline(inputs, tokio::time::sleep(wait)).await.is_some()
    }

    /// Waits for `fut` while no pool is active: channels are registered, shares dropped.
    /// None on shutdown.
    async fn offline<T>(&mut self, inputs: &mut Inputs, fut: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Some(out),
                cmd = inputs.commands.recv() => match cmd {
                    None => return None,
                    Some(Command::SetCustomJob { key, request_id, .. }) => {
                        let code = "channel-not-open".to_string();
                        self.emit(UpstreamEvent::CustomJobRefused { key, request_id, code }).await;
                    }
                    Some(Command::GiveUp { .. }) => {}
                    Some(cmd) => {
                        if let Some((key, id)) = self.register(cmd) {
                            self.drop_share(key, id).await;
                        }
                    }
                },
                _ = stopped(&mut inputs.shutdown) => return None,
            }
        }
    }

    /// Applies Open and Close to the registry; returns a share to submit.
    fn register(&mut self, cmd: Command) -> Option<(u64, u64)> {
        match cmd {
            Command::Open { key, spec, jobs } => {
                self.channels.insert(key, Registered::new(spec, jobs));
                None
            }
            Command::Close { key } => {
                self.channels.remove(&key);
                None
            }
            Command::Update { key, nominal_hashrate, max_target } => {
                self.update_spec(key, nominal_hashrate, max_target);
                None
            }
            Command::Submit { key, id, .. } => Some((key, id)),
            Command::SetCustomJob { .. } | Command::GiveUp { .. } => None,
        }
    }

    fn update_spec(&mut self, key: u64, nominal_hashrate: f32, max_target: TargetLe) {
        if let Some(reg) = self.channels.get_mut(&key) {
            reg.spec.nominal_hashrate = nominal_hashrate;
            reg.spec.max_target = max_target;
        }
    }

    async fn drop_share(&self, key: u64, id: u64) {
        self.metrics.shares_dropped.fetch_add(1, Ordering::Relaxed);
        self.emit(UpstreamEvent::ShareDropped { key, id }).await;
    }

    /// Runs a set-up connection until it fails, a preferred pool is healthy, or shutdown.
    async fn serve(&mut self, inputs: &mut Inputs, live: &mut Live) -> End {
        let keys: Vec<u64> = self.channels.keys().copied().collect();
        for key in keys {
            if let Err(end) = self.open_or_refuse(live, key).await {
                return end;
            }
        }
        if let Err(e) = live.conn.flush().await {
            return End::Failed { reason: e.to_string(), same: false };
        }
        let config = self.config.clone();
        let probing = live.index > 0;
        let probe = probe(&config, live.index, self.probe_delay);
        tokio::pin!(probe);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                frame = live.conn.read_frame() => {
                    let frame = match frame {
                        Ok(f) => f,
                        Err(e) => return End::Failed { reason: e.to_string(), same: false },
                    };
                    let msg = match frame.message() {
                        Ok((msg, _)) => msg,
                        Err(e) => return End::Failed { reason: format!("bad message: {e}"), same: false },
                    };
                    if let Err(end) = self.on_message(live, &msg).await {
                        return end;
                    }
                    live.last_heard = Instant::now();
                    live.awaiting_since = live.outstanding().then_some(live.last_heard);
                }
                cmd = inputs.commands.recv() => {
                    let Some(cmd) = cmd else { return End::Shutdown };
                    if let Err(end) = self.on_command(live, cmd).await {
                        return end;
                    }
                }
                _ = tick.tick() => {
                    if let Some(since) = live.awaiting_since {
                        if since.elapsed() > self.config.response_timeout {
                            return End::Failed { reason: format!("no answer for {:?}", self.config.response_timeout), same: false };
                        }
                    }
                    if self.config.idle_timeout.is_some_and(|t| live.last_heard.elapsed() > t) {
                        return End::Failed { reason: "silent past the idle timeout".into(), same: false };
                    }
                }
                next = &mut probe, if probing => return End::Switch(Box::new(next)),
                _ = stopped(&mut inputs.shutdown) => return End::Shutdown,
            }
        }
    }

    /// Queues the open of channel `key`, or handles its refusal.
    async fn open_or_refuse(&mut self, live: &mut Live, key: u64) -> Result<(), End> {
        match self.open_on(live, key) {
            Ok(()) => Ok(()),
            Err(OpenError::Net(reason)) => Err(End::Failed { reason, same: false }),
            Err(OpenError::Refused { code, pool_fault }) => self.refused(live, key, code, pool_fault).await,
        }
    }

    /// A channel the pool refused (`pool_fault`) or that cannot be asked for at all (a user
    /// identity too long): the consumer is told; the pool is given up when it refused and
    /// serves no channel, and the channel is forgotten otherwise.
    async fn refused(&mut self, live: &Live, key: u64, code: String, pool_fault: bool) -> Result<(), End> {
        self.emit(UpstreamEvent::ChannelRefused { key, index: live.index, code: code.clone() }).await;
        if pool_fault && live.channel_of.is_empty() {
            return Err(End::Failed { reason: format!("refused channel {key}: {code}"), same: false });
        }
        self.channels.remove(&key);
        Ok(())
    }

    /// Queues the open of channel `key` on `live`.
    fn open_on(&mut self, live: &mut Live, key: u64) -> Result<(), OpenError> {
        let Some(reg) = self.channels.get_mut(&key) else { return Ok(()) };
        let spec = &reg.spec;
        let refused = |e: ClientError| OpenError::Refused {
            pool_fault: e == ClientError::ExtendedRequired,
            code: match e {
                ClientError::ExtendedRequired => "extended-channels-required".into(),
                other => other.to_string(),
            },
        };
        let net = |e: crate::net::NetError| OpenError::Net(e.to_string());
        let request_id = match spec.kind {
            ChannelKind::Standard => {
                let m = live.ep.open_standard(&spec.user_identity, spec.nominal_hashrate, spec.max_target);
                let m = m.map_err(refused)?;
                live.conn.queue(&m.into()).map_err(net)?;
                m.request_id
            }
            ChannelKind::Extended { min_extranonce_size } => {
                let m = live.ep.open_extended(
                    &spec.user_identity,
                    spec.nominal_hashrate,
                    spec.max_target,
                    min_extranonce_size,
                );
                let m = m.map_err(refused)?;
                live.conn.queue(&m.into()).map_err(net)?;
                m.request_id
            }
        };
        live.requests.insert(request_id, key);
        reg.seen_seq = 0;
        reg.ids.reset();
        if live.awaiting_since.is_none() {
            live.awaiting_since = Some(Instant::now());
        }
        Ok(())
    }

    async fn on_command(&mut self, live: &mut Live, cmd: Command) -> Result<(), End> {
        let failed = |e: crate::net::NetError| End::Failed { reason: e.to_string(), same: false };
        match cmd {
            Command::Open { key, spec, jobs } => {
                if let Some(channel_id) = live.channel_of.remove(&key) {
                    live.retire(channel_id);
                    if let Ok(close) = live.ep.close_channel(channel_id, "replaced") {
                        live.conn.queue(&close.into()).map_err(failed)?;
                    }
                }
                live.requests.retain(|_, k| *k != key);
                self.channels.insert(key, Registered::new(spec, jobs));
                self.open_or_refuse(live, key).await?;
                live.conn.flush().await.map_err(failed)
            }
            Command::Close { key } => {
                self.channels.remove(&key);
                live.requests.retain(|_, k| *k != key);
                if let Some(channel_id) = live.channel_of.remove(&key) {
                    live.retire(channel_id);
                    if let Ok(close) = live.ep.close_channel(channel_id, "closed") {
                        live.conn.send(&close.into()).await.map_err(failed)?;
                    }
                }
                Ok(())
            }
            Command::Update { key, nominal_hashrate, max_target } => {
                self.update_spec(key, nominal_hashrate, max_target);
                let Some(&channel_id) = live.channel_of.get(&key) else { return Ok(()) };
                if let Ok(m) = live.ep.update_channel(channel_id, nominal_hashrate, max_target) {
                    live.conn.send(&m.into()).await.map_err(failed)?;
                }
                Ok(())
            }
            Command::GiveUp { index, reason } if index == live.index => Err(End::Failed { reason, same: false }),
            Command::GiveUp { .. } => Ok(()),
            Command::SetCustomJob { key, request_id, job } => {
                let Some(&channel_id) = live.channel_of.get(&key) else {
                    let code = "channel-not-open".to_string();
                    self.emit(UpstreamEvent::CustomJobRefused { key, request_id, code }).await;
                    return Ok(());
                };
                if live.custom.len() >= MAX_CUSTOM_PENDING {
                    return Err(End::Failed { reason: "SetCustomMiningJob answers overdue".into(), same: false });
                }
                let was_idle = live.awaiting_since.is_none();
                live.conn.queue(&job.message(channel_id, request_id).into()).map_err(failed)?;
                live.conn.flush().await.map_err(failed)?;
                live.custom.insert(request_id, key);
                if was_idle {
                    live.awaiting_since = Some(Instant::now());
                }
                Ok(())
            }
            Command::Submit { key, share, id, user_identity } => {
                // A share for a job this pool never sent (an abandoned pool's) is not sent.
                let job_id = self.channels.get(&key).and_then(|r| r.ids.pool(share.job_id));
                let (Some(&channel_id), Some(job_id)) = (live.channel_of.get(&key), job_id) else {
                    self.drop_share(key, id).await;
                    return Ok(());
                };
                let s = Share {
                    job_id,
                    nonce: share.nonce,
                    ntime: share.ntime,
                    version: share.version,
                    extranonce: &share.extranonce,
                };
                let msg = match live.ep.submit(channel_id, &s, id) {
                    Ok(m) => m,
                    Err(e) => {
                        // The consumer's share does not fit the channel: not the pool's fault.
                        tracing::debug!("upstream: share {id} on channel {key} not sent: {e}");
                        self.drop_share(key, id).await;
                        return Ok(());
                    }
                };
                let was_idle = live.awaiting_since.is_none();
                let tlv = match (&msg, &user_identity) {
                    (Message::SubmitSharesExtended(_), Some(identity)) => live.ep.user_identity_tlv(identity),
                    _ => None,
                };
                live.conn.queue_with_tlvs(&msg, tlv.as_slice()).map_err(failed)?;
                live.conn.flush().await.map_err(failed)?;
                self.metrics.shares_forwarded.fetch_add(1, Ordering::Relaxed);
                if was_idle {
                    live.awaiting_since = Some(Instant::now());
                }
                Ok(())
            }
        }
    }

    async fn on_message(&mut self, live: &mut Live, msg: &Message<'_>) -> Result<(), End> {
        // Answers to SetCustomMiningJob are the consumer's (the endpoint sends no such job).
        match msg {
            Message::SetCustomMiningJobSuccess(m) => {
                let Some(key) = live.custom.remove(&m.request_id) else {
                    return Err(End::Failed {
                        reason: "SetCustomMiningJob.Success nobody asked for".into(),
                        same: false,
                    });
                };
                let Some(reg) = self.channels.get_mut(&key) else { return Ok(()) };
                let job_id = reg.ids.local(m.job_id);
                let (index, request_id) = (live.index, m.request_id);
                self.emit(UpstreamEvent::CustomJobAccepted { key, index, request_id, job_id }).await;
                return Ok(());
            }
            Message::SetCustomMiningJobError(m) => {
                let Some(key) = live.custom.remove(&m.request_id) else {
                    return Err(End::Failed {
                        reason: "SetCustomMiningJob.Error nobody asked for".into(),
                        same: false,
                    });
                };
                let code = String::from_utf8_lossy(m.error_code.as_bytes()).into_owned();
                self.emit(UpstreamEvent::CustomJobRefused { key, request_id: m.request_id, code }).await;
                return Ok(());
            }
            _ => {}
        }
        let events = live.ep.on_message(msg).map_err(|e| End::Failed { reason: e.to_string(), same: false })?;
        for ev in events {
            match ev {
                Event::ChannelOpened { request_id, channel_id, target, extranonce_prefix, extranonce_size, .. } => {
                    let Some(key) = live.requests.remove(&request_id) else {
                        // Answer to an open the consumer withdrew meanwhile.
                        if let Ok(close) = live.ep.close_channel(channel_id, "withdrawn") {
                            let _ = live.conn.queue(&close.into());
                        }
                        continue;
                    };
                    live.key_of.insert(channel_id, key);
                    live.served = true;
                    live.channel_of.insert(key, channel_id);
                    self.emit(UpstreamEvent::ChannelReady {
                        key,
                        index: live.index,
                        channel_id,
                        target,
                        extranonce_prefix,
                        extranonce_size,
                    })
                    .await;
                }
                Event::ChannelRefused { request_id, code } => {
                    let Some(key) = live.requests.remove(&request_id) else { continue };
                    self.refused(live, key, code, true).await?;
                }
                Event::StandardJob { channel_id, mut job } => {
                    let Some(&key) = live.key_of.get(&channel_id) else { continue };
                    let Some(reg) = self.channels.get_mut(&key) else { continue };
                    job.job_id = reg.ids.local(job.job_id);
                    self.emit(UpstreamEvent::StandardJob { key, job }).await;
                }
                Event::ExtendedJob { channel_id, .. } => self.publish(live, channel_id),
                Event::PrevHash { channel_id, prev } => {
                    let Some(&key) = live.key_of.get(&channel_id) else { continue };
                    if live.ep.job_state(channel_id).is_some() {
                        self.publish(live, channel_id);
                    } else if let Some(reg) = self.channels.get_mut(&key) {
                        let prev = SetNewPrevHash { job_id: reg.ids.local(prev.job_id), ..prev };
                        self.emit(UpstreamEvent::PrevHash { key, prev }).await;
                    }
                }
                Event::TargetChanged { channel_id, target } => {
                    if let Some(&key) = live.key_of.get(&channel_id) {
                        self.emit(UpstreamEvent::TargetChanged { key, target }).await;
                    }
                }
                Event::ExtranoncePrefixChanged { channel_id, prefix } => {
                    if let Some(&key) = live.key_of.get(&channel_id) {
                        self.emit(UpstreamEvent::ExtranoncePrefixChanged { key, prefix }).await;
                    }
                }
                Event::ShareAccepted { channel_id, tag, .. } => {
                    self.metrics.shares_accepted.fetch_add(1, Ordering::Relaxed);
                    let key = live.key_of.get(&channel_id).copied().unwrap_or(u64::MAX);
                    self.emit(UpstreamEvent::ShareAccepted { key, id: tag }).await;
                }
                Event::ShareRejected { channel_id, tag, code, .. } => {
                    self.metrics.shares_rejected.fetch_add(1, Ordering::Relaxed);
                    let key = live.key_of.get(&channel_id).copied().unwrap_or(u64::MAX);
                    if let Some(id) = tag {
                        self.emit(UpstreamEvent::ShareRejected { key, id, code }).await;
                    }
                }
                Event::ChannelClosed { channel_id, reason } => {
                    if let Some(&key) = live.key_of.get(&channel_id) {
                        live.retire(channel_id);
                        live.channel_of.remove(&key);
                        self.channels.remove(&key);
                        self.emit(UpstreamEvent::ChannelClosed { key, reason }).await;
                    }
                }
                Event::Reconnect { .. } => {
                    return Err(End::Failed { reason: "the pool asked to reconnect".into(), same: true });
                }
                Event::UpdateRefused { channel_id, code } => {
                    tracing::debug!("upstream: UpdateChannel on {channel_id} refused: {code}");
                }
                other => tracing::debug!("upstream: {other:?}"),
            }
        }
        live.conn.flush().await.map_err(|e| End::Failed { reason: e.to_string(), same: false })
    }

    /// Publishes an extended channel's jobs, numbering tips across pools.
    fn publish(&mut self, live: &Live, channel_id: u32) {
        let Some(key) = live.key_of.get(&channel_id) else { return };
        let (Some(reg), Some(state)) = (self.channels.get_mut(key), live.ep.job_state(channel_id)) else { return };
        let Some(jobs) = &reg.jobs else { return };
        if state.tip_seq != reg.seen_seq {
            reg.seen_seq = state.tip_seq;
            reg.published_seq += 1;
        }
        let ids = &mut reg.ids;
        let tip = state.tip.as_ref().map(|t| TipJob { job_id: ids.local(t.job_id), ..t.clone() });
        let mut local = |j: &TemplateJob| TemplateJob { job_id: ids.local(j.job_id), ..j.clone() };
        let published = JobState {
            tip_seq: reg.published_seq,
            tip,
            latest: state.latest.as_ref().map(&mut local),
            future: state.future.iter().map(&mut local).collect(),
        };
        jobs.send_replace(Arc::new(published));
    }
}

/// Collects the answers to shares sent on an abandoned connection, for a while.
async fn drain(
    mut live: Live,
    config: Arc<UpstreamConfig>,
    events: mpsc::Sender<UpstreamEvent>,
    metrics: Arc<UpstreamMetrics>,
) {
    let deadline = Instant::now() + config.drain_grace;
    let mut reason = "moved to a preferred pool".to_string();
    while live.ep.pending_len() > 0 {
        let frame = match tokio::time::timeout_at(deadline, live.conn.read_frame()).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                reason = format!("moved to a preferred pool; then {e}");
                break;
            }
            Err(_) => break,
        };
        let Ok((msg, _)) = frame.message() else { break };
        let Ok(evs) = live.ep.on_message(&msg) else { break };
        for ev in evs {
            let key = |c: &u32| live.key_of.get(c).copied().unwrap_or(u64::MAX);
            let out = match ev {
                Event::ShareAccepted { channel_id, tag, .. } => {
                    metrics.shares_accepted.fetch_add(1, Ordering::Relaxed);
                    UpstreamEvent::ShareAccepted { key: key(&channel_id), id: tag }
                }
                Event::ShareRejected { channel_id, tag: Some(id), code, .. } => {
                    metrics.shares_rejected.fetch_add(1, Ordering::Relaxed);
                    UpstreamEvent::ShareRejected { key: key(&channel_id), id, code }
                }
                _ => continue,
            };
            let _ = events.send(out).await;
        }
    }
    let unacknowledged = live.unanswered();
    metrics.shares_unacknowledged.fetch_add(unacknowledged.len() as u64, Ordering::Relaxed);
    let _ = events.send(UpstreamEvent::PoolLost { index: live.index, reason, unacknowledged }).await;
}
