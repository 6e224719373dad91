//! The one task that talks to the upstream: opens channels for devices, carves their
//! extranonces from the pool's prefixes, forwards their shares and routes the pool's answers
//! and channel changes back to them. With Job Declaration it runs the Job Declarator Client
//! too: the aggregated channel's events go to it, its jobs to the devices, and the devices'
//! blocks and pool shares to it instead of straight upstream.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::target::TargetLe;
use sv2::channels::VERSION_ROLLING_MASK;
use sv2::endpoint::server::JobState;
use sv2::messages::mining_success_flags::REQUIRES_FIXED_VERSION;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{ForwardedShare, Shared};
use crate::farm_metrics::lock;
use crate::jdc::{self, JdShare, JdcHandle};
use crate::net::sleep_until_some;
use crate::upstream::{ChannelSpec, Upstream, UpstreamEvent, UpstreamShare};

/// The aggregated channel's key (device ids count from 1).
const AGGREGATE_KEY: u64 = 0;
/// Forwarded shares waiting for the pool's answer; past it the oldest are forgotten.
const MAX_PENDING: usize = 65_536;
/// Messages queued for one device before it counts as stuck and is dropped.
pub(super) const DEVICE_QUEUE: usize = 256;

/// What a device tells the hub.
#[derive(Debug)]
pub(super) enum ToHub {
    /// The device sent its first requests: give it an extranonce (opening its channel under
    /// `worker` when channels are per device).
    Open { device: u64, worker: String, tx: mpsc::Sender<ToDevice> },
    /// A share that met the pool's target (or found a block): `share.extranonce` lies below
    /// the pool's prefix, `extranonce` is the device's whole (extranonce1 and extranonce2).
    Share { device: u64, worker: String, share: UpstreamShare, extranonce: Vec<u8>, block: bool },
    /// The device disconnected.
    Gone { device: u64 },
}

/// Where a device mines: its extranonce under the pool's prefix, the pool's target and
/// version-rolling permission, and the job feed.
#[derive(Debug, Clone)]
pub(super) struct Assignment {
    pub extranonce1: Vec<u8>,
    pub extranonce2_size: usize,
    /// Bytes of `extranonce1` that are the pool's prefix (the rest goes in forwarded shares).
    pub prefix_len: usize,
    pub target: TargetLe,
    pub version_mask: u32,
    pub jobs: watch::Receiver<Arc<JobState>>,
}

/// What the hub tells a device.
#[derive(Debug)]
pub(super) enum ToDevice {
    /// Mine here (first time, or after a failover or prefix change).
    Assign(Assignment),
    /// The pool's target for shares forwarded from now on.
    Target(TargetLe),
    /// The pool's version-rolling permission changed.
    VersionMask(u32),
    /// The pool closed or refused the channel.
    Close(String),
}

struct DeviceLink {
    tx: mpsc::Sender<ToDevice>,
    worker: String,
    /// Its extranonce1 when assigned (aggregated: to release it).
    extranonce1: Option<Vec<u8>>,
    /// Per-device mode: its channel's extranonce size and target, once open.
    channel: Option<(usize, TargetLe)>,
}

/// The one channel of aggregated mode.
struct Aggregate {
    jobs: Option<watch::Receiver<Arc<JobState>>>,
    allocator: Option<Carving>,
    target: TargetLe,
    /// The pool's prefix (empty under the local prefix of solo mining before any pool).
    prefix: Vec<u8>,
}

/// How extranonce1 is carved under a pool prefix.
struct Carving {
    allocator: ExtranonceAllocator,
    prefix_len: usize,
    counter_end: usize,
    padding: usize,
    extranonce2_size: usize,
}

struct Hub {
    shared: Arc<Shared>,
    upstream: Upstream,
    events: mpsc::Receiver<UpstreamEvent>,
    /// Events taken while a command waited (see [`unblocked`]), handled first.
    deferred: VecDeque<UpstreamEvent>,
    devices: HashMap<u64, DeviceLink>,
    /// Per-device mode: job feeds, by device.
    feeds: HashMap<u64, watch::Receiver<Arc<JobState>>>,
    aggregate: Option<Aggregate>,
    version_mask: u32,
    next_share: u64,
    /// Share id to (device, index in the forwarded record).
    pending: BTreeMap<u64, (u64, Option<usize>)>,
    /// Job Declaration: the JDC (started with the aggregated channel) and its task.
    jd: Option<(JdcHandle, JoinHandle<()>)>,
    shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(
    shared: Arc<Shared>,
    upstream: Upstream,
    events: mpsc::Receiver<UpstreamEvent>,
    mut from_devices: mpsc::Receiver<ToHub>,
    mut shutdown: watch::Receiver<bool>,
) {
    let aggregate =
        shared.config.aggregate.then(|| Aggregate { jobs: None, allocator: None, target: [0; 32], prefix: Vec::new() });
    // Job Declaration with a solo payout: when no pool's channel is open halfway through the
    // devices' setup time, they are served under a local prefix and mine solo meanwhile.
    let solo = shared.config.jd.as_ref().is_some_and(|j| j.solo_payout.is_some());
    let mut solo_at = solo.then(|| tokio::time::Instant::now() + shared.config.setup_timeout / 2);
    let mut hub = Hub {
        shared,
        upstream,
        events,
        deferred: VecDeque::new(),
        devices: HashMap::new(),
        feeds: HashMap::new(),
        aggregate,
        version_mask: VERSION_ROLLING_MASK,
        next_share: 1,
        pending: BTreeMap::new(),
        jd: None,
        shutdown: shutdown.clone(),
    };
    if hub.aggregate.is_some() {
        hub.open_aggregate().await;
    }
    let mut tips = None;
    loop {
        // Events that came while a command waited for room in the upstream's queue.
        if let Some(e) = hub.deferred.pop_front() {
            hub.on_event(e).await;
            continue;
        }
        // Aggregated: the job feed of the channel now open (it is opened again when the pool
        // closes it).
        if let Some(j) = hub.aggregate.as_ref().and_then(|a| a.jobs.as_ref()) {
            if !tips.as_ref().is_some_and(|t: &watch::Receiver<Arc<JobState>>| t.same_channel(j)) {
                tips = Some(j.clone());
            }
        }
        tokio::select! {
            e = hub.events.recv() => match e {
                Some(e) => hub.on_event(e).await,
                None => break,
            },
            m = from_devices.recv() => match m {
                Some(m) => hub.on_device(m).await,
                None => break,
            },
            _ = sleep_until_some(solo_at) => {
                solo_at = None;
                hub.local_prefix().await;
            }
            // Aggregated: prefixes of gone devices come back once the tip has moved on.
            Ok(()) = async { tips.as_mut().expect("guarded").changed().await }, if tips.is_some() => {
                let tip = tips.as_mut().and_then(|t| t.borrow_and_update().tip.as_ref().map(|t| t.prev.prev_hash));
                if let (Some(prev), Some(c)) = (tip, hub.aggregate.as_mut().and_then(|a| a.allocator.as_mut())) {
                    c.allocator.new_tip(&prev);
                }
            }
            _ = crate::net::stopped(&mut shutdown) => break,
        }
    }
    if let Some((_, task)) = hub.jd.take() {
        task.abort();
    }
    hub.upstream.shutdown().await;
}

impl Hub {
    fn spec(&self, user: &str) -> ChannelSpec {
        let c = &self.shared.config;
        // Aggregated: room for a device counter above each device's extranonce2.
        let below = c.session.max_extranonce2_size + if c.aggregate { 4 } else { 0 };
        ChannelSpec::extended(user, c.device_hashrate, below.min(32) as u16)
    }

    async fn open_aggregate(&mut self) {
        let spec = self.spec(&self.shared.config.user);
        let Ok(Some(rx)) =
            unblocked(self.upstream.open(AGGREGATE_KEY, spec), &mut self.events, &mut self.deferred).await
        else {
            return;
        };
        // With Job Declaration devices mine the JDC's jobs; the pool's feed tells it the
        // pool's tip.
        let jobs = match (&self.jd, &self.shared.config.jd, &self.shared.jd) {
            (Some((jd, _)), _, _) => {
                unblocked(jd.pool_jobs(rx), &mut self.events, &mut self.deferred).await;
                jd.jobs()
            }
            (None, Some(config), Some(reports)) => {
                let client = self.upstream.client();
                let shutdown = self.shutdown.clone();
                let (jd, task) = jdc::start(config.clone(), reports.clone(), client, AGGREGATE_KEY, rx, shutdown);
                let jobs = jd.jobs();
                self.jd = Some((jd, task));
                jobs
            }
            _ => rx,
        };
        if let Some(a) = self.aggregate.as_mut() {
            a.jobs = Some(jobs);
        }
    }

    /// Job Declaration with a solo payout and no pool yet: devices are carved under an empty
    /// prefix and mine the farm's templates solo until a pool's channel opens.
    async fn local_prefix(&mut self) {
        let c = &self.shared.config;
        // What the aggregated channel asks of a pool (Hub::spec).
        let size = (c.session.max_extranonce2_size + 4).min(32);
        let Some(a) = self.aggregate.as_mut().filter(|a| a.allocator.is_none()) else { return };
        tracing::warn!("translator: no pool yet; devices mine the farm's templates solo");
        a.allocator = carving(&[], size, &self.shared);
        a.prefix = Vec::new();
        // No share but a block goes anywhere.
        a.target = [0; 32];
        if let Some((jd, _)) = &self.jd {
            unblocked(jd.local_extranonce(size), &mut self.events, &mut self.deferred).await;
        }
        let ids: Vec<u64> = self.devices.keys().copied().collect();
        for d in ids {
            self.assign_aggregated(d);
        }
    }

    async fn on_device(&mut self, m: ToHub) {
        match m {
            ToHub::Open { device, worker, tx } => {
                self.devices
                    .insert(device, DeviceLink { tx, worker: worker.clone(), extranonce1: None, channel: None });
                if self.aggregate.is_some() {
                    self.assign_aggregated(device);
                } else {
                    let spec = self.spec(&worker);
                    match unblocked(self.upstream.open(device, spec), &mut self.events, &mut self.deferred).await {
                        Ok(Some(rx)) => {
                            self.feeds.insert(device, rx);
                        }
                        _ => self.close(device, "upstream closed"),
                    }
                }
            }
            ToHub::Share { device, worker, share, extranonce, block } => {
                let worker_name = worker.clone();
                let id = self.next_share;
                self.next_share += 1;
                let index = self.shared.config.record_shares.then(|| {
                    let mut f = lock(&self.shared.forwarded);
                    f.push(ForwardedShare {
                        device,
                        worker,
                        job_id: share.job_id,
                        nonce: share.nonce,
                        ntime: share.ntime,
                        version: share.version,
                        extranonce: share.extranonce.clone(),
                        answer: None,
                    });
                    f.len() - 1
                });
                self.pending.insert(id, (device, index));
                while self.pending.len() > MAX_PENDING {
                    self.pending.pop_first();
                }
                if let Some((jd, _)) = &self.jd {
                    // The JDC takes blocks (its template provider, the JDS) and pool shares (on
                    // the job's SetCustomMiningJob); below another prefix than the current
                    // pool's, only the block counts.
                    let prefix = self.aggregate.as_ref().map_or(&[][..], |a| &a.prefix[..]);
                    let rolled = extranonce.strip_prefix(prefix).map(<[u8]>::to_vec);
                    let UpstreamShare { job_id, nonce, ntime, version, .. } = share;
                    let worker = worker_name;
                    let s = JdShare {
                        id,
                        job_id,
                        nonce,
                        ntime,
                        version,
                        extranonce,
                        rolled,
                        block,
                        for_pool: true,
                        worker,
                    };
                    unblocked(jd.share(s), &mut self.events, &mut self.deferred).await;
                    return;
                }
                // Shares of a worker other than the channel's identity (aggregated, or a device
                // whose channel opened before it authorized) carry their worker where the pool
                // granted extension 0x0002.
                let channel_identity = self.devices.get(&device).map(|l| l.worker.as_str());
                let (events, deferred) = (&mut self.events, &mut self.deferred);
                let sent = if self.aggregate.is_some() {
                    unblocked(self.upstream.submit_as(AGGREGATE_KEY, share, id, worker_name), events, deferred).await
                } else if channel_identity != Some(worker_name.as_str()) {
                    unblocked(self.upstream.submit_as(device, share, id, worker_name), events, deferred).await
                } else {
                    unblocked(self.upstream.submit(device, share, id), events, deferred).await
                };
                if sent.is_err() {
                    self.answer(id, Err("upstream closed".into()));
                }
            }
            ToHub::Gone { device } => {
                // The link may already be gone (dropped for not keeping up): the channel still
                // closes.
                if let Some(link) = self.devices.remove(&device) {
                    self.release(link);
                }
                if self.aggregate.is_none() {
                    self.feeds.remove(&device);
                    let _ = unblocked(self.upstream.close(device), &mut self.events, &mut self.deferred).await;
                }
            }
        }
    }

    /// Aggregated: a gone device's extranonce counter, reusable after the next tip.
    fn release(&mut self, link: DeviceLink) {
        let carving = self.aggregate.as_mut().and_then(|a| a.allocator.as_mut());
        if let (Some(c), Some(en1)) = (carving, link.extranonce1) {
            c.allocator.release(&en1[..c.counter_end.min(en1.len())]);
        }
    }

    async fn on_event(&mut self, e: UpstreamEvent) {
        if let Some((jd, _)) = &self.jd {
            // The JDC follows the active pool, the channel and the answers.
            unblocked(jd.upstream_event(e.clone()), &mut self.events, &mut self.deferred).await;
        }
        match e {
            UpstreamEvent::PoolConnected { index, address, flags } => {
                tracing::info!("translator: mining on pool {index} ({address})");
                let mask = if flags & REQUIRES_FIXED_VERSION != 0 { 0 } else { VERSION_ROLLING_MASK };
                if mask != self.version_mask {
                    self.version_mask = mask;
                    let ids: Vec<u64> = self.devices.keys().copied().collect();
                    for d in ids {
                        self.send(d, ToDevice::VersionMask(mask));
                    }
                }
            }
            UpstreamEvent::PoolUnavailable { index, reason } => {
                tracing::warn!("translator: pool {index} unavailable: {reason}");
            }
            UpstreamEvent::PoolLost { index, reason, unacknowledged } => {
                tracing::warn!("translator: pool {index} lost: {reason}");
                for (_, id) in unacknowledged {
                    self.answer(id, Err("unacknowledged".into()));
                }
            }
            UpstreamEvent::ChannelReady { key, target, extranonce_prefix, extranonce_size, .. } => {
                if let Some(a) = self.aggregate.as_mut().filter(|_| key == AGGREGATE_KEY) {
                    a.target = target;
                    a.allocator = carving(&extranonce_prefix, usize::from(extranonce_size), &self.shared);
                    a.prefix = extranonce_prefix;
                    let ids: Vec<u64> = self.devices.keys().copied().collect();
                    for d in ids {
                        self.assign_aggregated(d);
                    }
                } else {
                    self.assign_own(key, target, &extranonce_prefix, usize::from(extranonce_size));
                }
            }
            UpstreamEvent::ChannelRefused { key, code, .. } => {
                self.channel_gone(key, &format!("refused: {code}")).await
            }
            UpstreamEvent::ChannelClosed { key, reason } => self.channel_gone(key, &reason).await,
            UpstreamEvent::TargetChanged { key, target } => {
                if let Some(a) = self.aggregate.as_mut().filter(|_| key == AGGREGATE_KEY) {
                    a.target = target;
                    let ids: Vec<u64> = self.devices.keys().copied().collect();
                    for d in ids {
                        self.send(d, ToDevice::Target(target));
                    }
                } else {
                    if let Some(c) = self.devices.get_mut(&key).and_then(|l| l.channel.as_mut()) {
                        c.1 = target;
                    }
                    self.send(key, ToDevice::Target(target));
                }
            }
            UpstreamEvent::ExtranoncePrefixChanged { key, prefix } => {
                // Carved again under the new prefix, like a new channel.
                if let Some(a) = self.aggregate.as_mut().filter(|_| key == AGGREGATE_KEY) {
                    let size = a.allocator.as_ref().map_or(0, |c| c.prefix_len + c.extranonce2_size_total());
                    a.allocator = size.checked_sub(prefix.len()).and_then(|s| carving(&prefix, s, &self.shared));
                    a.prefix = prefix;
                    let ids: Vec<u64> = self.devices.keys().copied().collect();
                    for d in ids {
                        self.assign_aggregated(d);
                    }
                } else if let Some((size, target)) = self.devices.get(&key).and_then(|l| l.channel) {
                    self.assign_own(key, target, &prefix, size);
                }
            }
            UpstreamEvent::ShareAccepted { id, .. } => self.answer(id, Ok(())),
            UpstreamEvent::ShareRejected { id, code, .. } => self.answer(id, Err(code)),
            UpstreamEvent::ShareDropped { id, .. } => self.answer(id, Err("not sent: no pool".into())),
            _ => {}
        }
    }

    async fn channel_gone(&mut self, key: u64, why: &str) {
        if self.aggregate.is_some() && key == AGGREGATE_KEY {
            tracing::warn!("translator: the aggregated channel is gone ({why}); opening it again");
            self.open_aggregate().await;
        } else {
            self.close(key, why);
        }
    }

    /// Per-device mode: the device's channel is open (again): its extranonce1 is the prefix
    /// padded so that it rolls at most the session's maximum.
    fn assign_own(&mut self, device: u64, target: TargetLe, prefix: &[u8], size: usize) {
        let Some(jobs) = self.feeds.get(&device).cloned() else { return };
        let max = self.shared.config.session.max_extranonce2_size;
        if size == 0 {
            return self.close(device, "the pool's channel leaves no extranonce to roll");
        }
        let en2 = size.min(max);
        let mut en1 = prefix.to_vec();
        en1.resize(prefix.len() + size - en2, 0);
        if let Some(l) = self.devices.get_mut(&device) {
            l.extranonce1 = Some(en1.clone());
            l.channel = Some((size, target));
        }
        let a = Assignment {
            extranonce1: en1,
            extranonce2_size: en2,
            prefix_len: prefix.len(),
            target,
            version_mask: self.version_mask,
            jobs,
        };
        self.send(device, ToDevice::Assign(a));
    }

    /// Aggregated mode: the device's extranonce1 is the channel's prefix and a counter.
    fn assign_aggregated(&mut self, device: u64) {
        let Some(a) = self.aggregate.as_mut() else { return };
        let (Some(c), Some(jobs)) = (a.allocator.as_mut(), a.jobs.clone()) else { return };
        let Ok(mut en1) = c.allocator.next_extended() else {
            return self.close(device, "extranonce space exhausted");
        };
        en1.resize(en1.len() + c.padding, 0);
        let assignment = Assignment {
            extranonce1: en1.clone(),
            extranonce2_size: c.extranonce2_size,
            prefix_len: c.prefix_len,
            target: a.target,
            version_mask: self.version_mask,
            jobs,
        };
        if let Some(l) = self.devices.get_mut(&device) {
            l.extranonce1 = Some(en1);
        }
        self.send(device, ToDevice::Assign(assignment));
    }

    fn answer(&mut self, id: u64, result: Result<(), String>) {
        let Some((device, index)) = self.pending.remove(&id) else { return };
        self.shared.metrics.device(device, |d| match &result {
            Ok(()) => d.upstream_accepted += 1,
            Err(code) => *d.upstream_rejected.entry(code.clone()).or_default() += 1,
        });
        if let Some(i) = index {
            if let Some(s) = lock(&self.shared.forwarded).get_mut(i) {
                s.answer = Some(result);
            }
        }
    }

    fn send(&mut self, device: u64, m: ToDevice) {
        let Some(link) = self.devices.get(&device) else { return };
        if link.tx.try_send(m).is_err() {
            // A device task that does not keep up is dropped rather than holding the hub.
            tracing::warn!("translator: device {device} ({}) not keeping up; dropping it", link.worker);
            if let Some(link) = self.devices.remove(&device) {
                self.release(link);
            }
        }
    }

    fn close(&mut self, device: u64, why: &str) {
        self.send(device, ToDevice::Close(why.to_string()));
    }
}

impl Carving {
    /// Bytes of the pool's extranonce below its prefix.
    fn extranonce2_size_total(&self) -> usize {
        self.counter_end - self.prefix_len + self.padding + self.extranonce2_size
    }
}

/// Aggregated mode: extranonce2 of at most the session's maximum (and at least one byte left
/// for the device counter), a counter of up to 8 bytes, zeros in between.
fn carving(prefix: &[u8], size: usize, shared: &Shared) -> Option<Carving> {
    let max = shared.config.session.max_extranonce2_size;
    if size < 2 {
        tracing::warn!("translator: the pool's channel leaves {size} extranonce bytes; devices cannot share it");
        return None;
    }
    let extranonce2_size = max.min(size - 1);
    let counter = (size - extranonce2_size).min(8);
    let allocator = ExtranonceAllocator::new(prefix, counter, prefix.len() + size).ok()?;
    Some(Carving {
        allocator,
        prefix_len: prefix.len(),
        counter_end: prefix.len() + counter,
        padding: size - extranonce2_size - counter,
        extranonce2_size,
    })
}

/// Runs an upstream command while still taking the upstream's events, kept in `deferred`: the
/// upstream task may itself be waiting for room in the event queue before it reads another
/// command, and neither would ever go on.
async fn unblocked<T>(
    command: impl std::future::Future<Output = T>,
    events: &mut mpsc::Receiver<UpstreamEvent>,
    deferred: &mut VecDeque<UpstreamEvent>,
) -> T {
    tokio::pin!(command);
    loop {
        tokio::select! {
            out = &mut command => return out,
            Some(e) = events.recv() => deferred.push_back(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The upstream's side of the deadlock: it sends events into a full queue before it
    /// finishes the command. The hub's wait for the command takes those events meanwhile.
    #[tokio::test]
    async fn a_command_completes_while_the_upstream_waits_to_send_events() {
        let (tx, mut events) = mpsc::channel(1);
        let (done, command) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            for id in 0..5 {
                tx.send(UpstreamEvent::ShareDropped { key: 0, id }).await.unwrap();
            }
            done.send(()).unwrap();
        });
        let mut deferred = VecDeque::new();
        let waited = tokio::time::timeout(Duration::from_secs(60), unblocked(command, &mut events, &mut deferred));
        waited.await.expect("no deadlock").unwrap();
        let mut ids: Vec<u64> = deferred
            .iter()
            .map(|e| match e {
                UpstreamEvent::ShareDropped { id, .. } => *id,
                other => panic!("{other:?}"),
            })
            .collect();
        while let Ok(UpstreamEvent::ShareDropped { id, .. }) = events.try_recv() {
            ids.push(id);
        }
        assert_eq!(ids, [0, 1, 2, 3, 4], "every event kept, in order");
    }
}
