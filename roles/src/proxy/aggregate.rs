//! Aggregation: every device channel under one upstream extended channel. Each device
//! connection is a [`ServerEndpoint`] whose prefixes are carved under the pool's prefix and
//! whose jobs are the upstream channel's; device shares that meet the pool's target (or a
//! block's) are forwarded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::server::{AcceptedShare, Share};
use sv2::channels::target::{difficulty, hash_meets_target, TargetLe};
use sv2::codec::CodecError;
use sv2::endpoint::server::{EndpointError, Event, JobState, Now, ServerEndpoint};
use sv2::endpoint::Outbox;
use sv2::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::Shared;
use crate::farm_metrics::lock;
use crate::jdc::{self, JdShare, JdcHandle};
use crate::net::{sleep_until_some, stopped, Connection, NetError};
use crate::upstream::{ChannelSpec, Upstream, UpstreamClient, UpstreamEvent, UpstreamShare};

/// The consumer key of the one upstream channel.
const KEY: u64 = 0;
/// Forwarded shares whose answers are still matched to their device; past this the oldest
/// are forgotten (their answers then count for no device).
const MAX_TRACKED_SHARES: usize = 1 << 16;
/// Bytes extended devices roll under the local prefix of solo mining before any pool.
const SOLO_ROLLED: usize = 8;
/// Seconds between vardiff checks of a connection's channels.
const VARDIFF_TICK: Duration = Duration::from_secs(5);

/// The upstream channel as devices are served under it.
#[derive(Debug)]
struct Link {
    /// Counts ChannelReady and prefix changes: a new one moves every device channel.
    epoch: u64,
    prefixes: Arc<Mutex<ExtranonceAllocator>>,
    /// The pool's prefix: every device prefix starts with it.
    pool_prefix: Vec<u8>,
    /// The pool's share target for the channel.
    target: TargetLe,
}

/// What the connections share besides [`Shared`].
struct Farm {
    upstream: UpstreamClient,
    /// Job Declaration: devices mine the JDC's jobs, and their blocks and pool shares go to it.
    jd: Option<JdcHandle>,
    link: watch::Receiver<Option<Arc<Link>>>,
    jobs: watch::Receiver<Arc<JobState>>,
    next_share: AtomicU64,
    /// Forwarded share id -> device id, in forwarding order.
    tracked: Mutex<(HashMap<u64, u64>, std::collections::VecDeque<u64>)>,
}

impl Farm {
    fn track(&self, share: u64, device: u64) {
        let mut t = lock(&self.tracked);
        t.0.insert(share, device);
        t.1.push_back(share);
        while t.1.len() > MAX_TRACKED_SHARES {
            if let Some(old) = t.1.pop_front() {
                t.0.remove(&old);
            }
        }
    }

    fn device_of(&self, share: u64) -> Option<u64> {
        lock(&self.tracked).0.remove(&share)
    }
}

pub(super) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    upstream: Upstream,
    events: mpsc::Receiver<UpstreamEvent>,
    shutdown: watch::Receiver<bool>,
) {
    let config = &shared.config;
    // Devices roll what the pool leaves below the proxy's counter.
    let min_size = config.counter_bytes as u16 + 4;
    let spec = ChannelSpec::extended(config.user.clone(), config.nominal_hashrate, min_size);
    let pool_jobs = match upstream.open(KEY, spec).await {
        Ok(Some(jobs)) => jobs,
        _ => {
            tracing::error!("proxy: the upstream stopped before its channel was opened");
            return;
        }
    };
    let (jd, jd_task, jobs) = match (&config.jd, &shared.jd) {
        (Some(c), Some(reports)) => {
            let (jd, task) =
                jdc::start(c.clone(), reports.clone(), upstream.client(), KEY, pool_jobs.clone(), shutdown.clone());
            let jobs = jd.jobs();
            (Some(jd), Some(task), jobs)
        }
        _ => (None, None, pool_jobs),
    };
    let (link_tx, link) = watch::channel(None);
    let farm = Arc::new(Farm {
        upstream: upstream.client(),
        jd,
        link,
        jobs,
        next_share: AtomicU64::new(1),
        tracked: Mutex::new(Default::default()),
    });
    let hub = tokio::spawn(hub(events, link_tx, shared.clone(), farm.clone()));
    let accept_shared = shared.clone();
    super::accept_devices(listener, &accept_shared, shutdown.clone(), |stream, _, id| {
        connection(stream, id, shared.clone(), farm.clone(), shutdown.clone())
    })
    .await;
    hub.abort();
    if let Some(t) = jd_task {
        t.abort();
    }
    upstream.shutdown().await;
}

/// Follows the upstream: the channel's prefix and target for the connections, the pool's
/// answers for the devices' counters.
async fn hub(
    mut events: mpsc::Receiver<UpstreamEvent>,
    link: watch::Sender<Option<Arc<Link>>>,
    shared: Arc<Shared>,
    farm: Arc<Farm>,
) {
    let counter = shared.config.counter_bytes;
    let mut epoch = 0;
    let metrics = &shared.metrics;
    let new_link = |epoch: u64, prefix: Vec<u8>, size: usize, target: TargetLe| match ExtranonceAllocator::new(
        &prefix,
        counter,
        prefix.len() + size,
    ) {
        Ok(a) => Some(Arc::new(Link { epoch, prefixes: Arc::new(Mutex::new(a)), pool_prefix: prefix, target })),
        Err(e) => {
            tracing::error!(
                "proxy: the pool's extranonce ({} + {size} bytes) leaves no room for devices: {e}",
                prefix.len()
            );
            None
        }
    };
    // Job Declaration with a solo payout: when no pool's channel is open halfway through the
    // devices' setup time, they are served under a local prefix and mine solo meanwhile.
    let solo = farm.jd.is_some() && shared.config.jd.as_ref().is_some_and(|j| j.solo_payout.is_some());
    let mut solo_at = solo.then(|| tokio::time::Instant::now() + shared.config.setup_timeout / 2);
    loop {
        let event = tokio::select! {
            e = events.recv() => match e {
                Some(e) => e,
                None => break,
            },
            _ = sleep_until_some(solo_at) => {
                solo_at = None;
                if link.borrow().is_none() {
                    epoch += 1;
                    let size = counter + SOLO_ROLLED;
                    tracing::warn!("proxy: no pool yet; devices mine the farm's templates solo");
                    link.send_replace(new_link(epoch, Vec::new(), size, [0; 32]));
                    if let Some(jd) = &farm.jd {
                        jd.local_extranonce(size).await;
                    }
                }
                continue;
            }
        };
        if let Some(jd) = &farm.jd {
            jd.upstream_event(event.clone()).await;
        }
        match event {
            UpstreamEvent::ChannelReady { index, extranonce_prefix, extranonce_size, target, .. } => {
                epoch += 1;
                tracing::info!("proxy: upstream channel open on pool {index}");
                link.send_replace(new_link(epoch, extranonce_prefix, usize::from(extranonce_size), target));
            }
            UpstreamEvent::ExtranoncePrefixChanged { prefix, .. } => {
                let current = link.borrow().clone();
                if let Some(l) = current {
                    let size = l.prefixes.lock().unwrap_or_else(|e| e.into_inner()).full_len() - l.pool_prefix.len();
                    epoch += 1;
                    link.send_replace(new_link(epoch, prefix, size, l.target));
                }
            }
            UpstreamEvent::TargetChanged { target, .. } => {
                let current = link.borrow().clone();
                if let Some(l) = current {
                    let moved = Link {
                        epoch: l.epoch,
                        prefixes: l.prefixes.clone(),
                        pool_prefix: l.pool_prefix.clone(),
                        target,
                    };
                    link.send_replace(Some(Arc::new(moved)));
                }
            }
            UpstreamEvent::ShareAccepted { id, .. } => {
                if let Some(d) = farm.device_of(id) {
                    metrics.device(d, |s| s.upstream_accepted += 1);
                }
            }
            UpstreamEvent::ShareRejected { id, code, .. } => {
                if let Some(d) = farm.device_of(id) {
                    metrics.device(d, |s| *s.upstream_rejected.entry(code).or_default() += 1);
                }
            }
            UpstreamEvent::ShareDropped { id, .. } => {
                if let Some(d) = farm.device_of(id) {
                    metrics.device(d, |s| *s.upstream_rejected.entry("not-sent".into()).or_default() += 1);
                }
            }
            UpstreamEvent::PoolLost { index, reason, unacknowledged } => {
                tracing::warn!("proxy: pool {index} lost ({reason}); {} shares unanswered", unacknowledged.len());
                for (_, id) in unacknowledged {
                    if let Some(d) = farm.device_of(id) {
                        metrics.device(d, |s| *s.upstream_rejected.entry("unacknowledged".into()).or_default() += 1);
                    }
                }
            }
            UpstreamEvent::PoolConnected { index, address, .. } => {
                tracing::info!("proxy: pool {index} ({address}) active")
            }
            UpstreamEvent::PoolUnavailable { index, reason } => {
                tracing::warn!("proxy: pool {index} unavailable: {reason}")
            }
            UpstreamEvent::CustomJobAccepted { .. } | UpstreamEvent::CustomJobRefused { .. } => {}
            other => tracing::warn!("proxy: upstream {other:?}"),
        }
    }
}

async fn connection(stream: TcpStream, id: u64, shared: Arc<Shared>, farm: Arc<Farm>, shutdown: watch::Receiver<bool>) {
    let Some(conn) = super::admit_device(stream, id, &shared).await else { return };
    let peer = conn.peer();
    let result = Device { id, shared: &shared, farm: &farm }.serve(conn, shutdown).await;
    super::release_device(id, &shared);
    let m = &shared.metrics;
    match result {
        Ok(()) | Err(End::Net(NetError::Closed)) => tracing::debug!("device {id} ({peer}) closed"),
        Err(End::Timeout(what)) => {
            m.connections_timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("device {id} ({peer}): {what}");
        }
        Err(e) => {
            m.connections_bad_input.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("device {id} ({peer}): {e}");
        }
    }
}

/// Why a device connection ended.
#[derive(Debug)]
enum End {
    Net(NetError),
    Timeout(&'static str),
    Protocol(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Net(e) => e.fmt(f),
            End::Timeout(s) => f.write_str(s),
            End::Protocol(s) => f.write_str(s),
        }
    }
}

impl From<NetError> for End {
    fn from(e: NetError) -> Self {
        End::Net(e)
    }
}

impl From<EndpointError<NetError>> for End {
    fn from(e: EndpointError<NetError>) -> Self {
        match e {
            EndpointError::Outbox(e) => End::Net(e),
            other => End::Protocol(other.to_string()),
        }
    }
}

struct Device<'a> {
    id: u64,
    shared: &'a Shared,
    farm: &'a Farm,
}

impl Device<'_> {
    fn now(&self) -> Now {
        Now { mono_secs: self.shared.started.elapsed().as_secs(), unix_secs: crate::keygen::unix_now() }
    }

    async fn serve(&self, mut conn: Connection, mut shutdown: watch::Receiver<bool>) -> Result<(), End> {
        let config = &self.shared.config;
        let deadline = tokio::time::Instant::now() + config.setup_timeout;
        // Devices are served once the upstream channel is open (they wait, within the setup
        // time, rather than get work that no pool would take).
        let mut link_rx = self.farm.link.clone();
        let link = tokio::time::timeout_at(deadline, link_rx.wait_for(|l| l.is_some()))
            .await
            .map_err(|_| End::Timeout("no upstream pool within the setup time"))?
            .map_err(|_| End::Protocol("proxy stopping".into()))?
            .clone()
            .ok_or(End::Protocol("no upstream".into()))?;
        let mut epoch = link.epoch;
        let mut endpoint = ServerEndpoint::new(config.server.clone(), link.prefixes.clone());
        let mut jobs = self.farm.jobs.clone();
        let frame = tokio::time::timeout_at(deadline, conn.read_frame())
            .await
            .map_err(|_| End::Timeout("no SetupConnection in time"))??;
        let setup = frame.message().map_err(|e| End::Protocol(format!("bad first message: {e}")))?.0;
        if let Message::SetupConnection(s) = &setup {
            let agent = String::from_utf8_lossy(s.vendor.as_bytes()).into_owned();
            self.shared.metrics.device(self.id, |d| d.user_agent = agent);
        }
        let state = jobs.borrow_and_update().clone();
        let result = endpoint.on_message(&setup, &state, self.now(), &mut conn);
        let _ = conn.flush().await;
        result?;
        let mut idle_since = Some(deadline);
        let mut vardiff = tokio::time::interval(VARDIFF_TICK);
        vardiff.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let idle_until = idle_since.map(|s| s + config.setup_timeout);
            tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => return Ok(conn.flush().await?),
                changed = link_rx.changed() => {
                    changed.map_err(|_| End::Protocol("proxy stopping".into()))?;
                    let current = link_rx.borrow_and_update().clone();
                    if let Some(l) = current.filter(|l| l.epoch != epoch) {
                        // A new pool (or prefix): every channel moves under it.
                        epoch = l.epoch;
                        let closed = endpoint.replace_prefixes(l.prefixes.clone(), &mut conn)?;
                        if closed > 0 {
                            tracing::info!("device {}: {closed} channels closed by a pool change", self.id);
                        }
                        let state = jobs.borrow_and_update().clone();
                        endpoint.sync(&state, &mut conn)?;
                    }
                }
                changed = jobs.changed() => {
                    changed.map_err(|_| End::Protocol("proxy stopping".into()))?;
                    let state = jobs.borrow_and_update().clone();
                    let synced = endpoint.sync(&state, &mut conn)?;
                    for s in synced.skipped {
                        tracing::warn!("device {}: job {}: {}", self.id, s.job_id, s.error);
                    }
                }
                _ = vardiff.tick() => {
                    endpoint.retarget(self.now(), &mut conn)?;
                    self.note_difficulty(&endpoint);
                }
                _ = sleep_until_some(idle_until) => return Err(End::Timeout("no open channel in time")),
                frame = conn.read_frame() => {
                    let frame = frame?;
                    let msg = match frame.message() {
                        Ok((msg, _)) => msg,
                        Err(CodecError::UnknownMessage { .. }) => continue,
                        Err(e) => return Err(End::Protocol(format!("bad message: {e}"))),
                    };
                    let state = jobs.borrow().clone();
                    let event = endpoint.on_message(&msg, &state, self.now(), &mut conn)?;
                    match event {
                        Event::ChannelOpened { channel_id } => {
                            idle_since = None;
                            if let Some(c) = endpoint.channel(channel_id) {
                                let (worker, prefix) = (c.user_identity().to_string(), hex::encode(c.extranonce_prefix()));
                                self.shared.metrics.device(self.id, |d| {
                                    if d.worker.is_empty() {
                                        d.worker = worker;
                                        d.extranonce1 = prefix;
                                    }
                                });
                            }
                            self.note_difficulty(&endpoint);
                        }
                        Event::ChannelsClosed { .. } if endpoint.channel_count() == 0 => {
                            idle_since = Some(tokio::time::Instant::now());
                        }
                        Event::ShareAccepted { channel_id, accepted, .. } => {
                            self.on_accepted(&endpoint, channel_id, &msg, &accepted).await;
                            for s in endpoint.take_successes() {
                                conn.push(&s.into())?;
                            }
                        }
                        Event::ShareRejected { error, .. } => {
                            self.shared.metrics.device(self.id, |d| {
                                *d.shares_rejected.entry(error.code().to_string()).or_default() += 1
                            });
                        }
                        _ => {}
                    }
                }
            }
            conn.flush().await?;
        }
    }

    fn note_difficulty(&self, endpoint: &ServerEndpoint<Arc<Mutex<ExtranonceAllocator>>>) {
        if let Some(c) = endpoint.channels().next() {
            let d = difficulty(&c.target());
            self.shared.metrics.device(self.id, |s| s.difficulty = d);
        }
    }

    /// Counts an accepted device share and forwards it when the pool would take it.
    async fn on_accepted(
        &self,
        endpoint: &ServerEndpoint<Arc<Mutex<ExtranonceAllocator>>>,
        channel_id: u32,
        msg: &Message<'_>,
        accepted: &AcceptedShare,
    ) {
        let block = accepted.block.is_some();
        let credit = accepted.credit;
        let Some(channel) = endpoint.channel(channel_id) else { return };
        let Some((_, _, submitted)) = Share::from_submit(msg) else { return };
        let Share { job_id, nonce, ntime, version, extranonce: rolled } = submitted;
        let link = self.farm.link.borrow().clone();
        let forward = link.filter(|l| block || hash_meets_target(&accepted.hash, &l.target)).and_then(|l| {
            let full = [channel.extranonce_prefix(), rolled].concat();
            full.strip_prefix(l.pool_prefix.as_slice()).map(<[u8]>::to_vec)
        });
        self.shared.metrics.device(self.id, |d| {
            d.shares_accepted += 1;
            d.accepted_difficulty += credit;
            d.blocks += u64::from(block);
            if forward.is_some() {
                d.shares_forwarded += 1;
            } else {
                d.shares_below_upstream += 1;
            }
        });
        let worker = channel.user_identity().to_string();
        if let Some(jd) = &self.farm.jd {
            // The JDC takes blocks (its template provider, the JDS) and pool shares (on the
            // job's SetCustomMiningJob).
            if block || forward.is_some() {
                let id = self.farm.next_share.fetch_add(1, Ordering::Relaxed);
                self.farm.track(id, self.id);
                let extranonce = [channel.extranonce_prefix(), rolled].concat();
                let for_pool = forward.is_some();
                let share =
                    JdShare { id, job_id, nonce, ntime, version, extranonce, rolled: forward, block, for_pool, worker };
                jd.share(share).await;
            }
            return;
        }
        let Some(extranonce) = forward else { return };
        let share = UpstreamShare { job_id, nonce, ntime, version, extranonce };
        let id = self.farm.next_share.fetch_add(1, Ordering::Relaxed);
        self.farm.track(id, self.id);
        if self.farm.upstream.submit_as(KEY, share, id, worker).await.is_err() {
            tracing::warn!("device {}: share not forwarded: the upstream stopped", self.id);
        }
    }
}
