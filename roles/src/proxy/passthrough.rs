//! Pass-through: each device standard channel is one upstream standard channel. The proxy
//! negotiates the device's setup and admits its channels with the endpoint's rules, then
//! relays the pool's jobs, tips and targets under the device's channel ids and forwards its
//! shares, answering each with the pool's verdict.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use sv2::channels::target::difficulty;
use sv2::codec::{Bytes, CodecError, Str0_255};
use sv2::endpoint::server::{check_open, negotiate_setup};
use sv2::messages::{
    OpenMiningChannelError, OpenStandardMiningChannelSuccess, SetNewPrevHash, SetTarget, SetupConnectionError,
    SetupConnectionSuccess, SubmitSharesError, SubmitSharesSuccess,
};
use sv2::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::Shared;
use crate::farm_metrics::{lock, Metrics};
use crate::net::{sleep_until_some, stopped, Connection, NetError};
use crate::upstream::{ChannelSpec, Upstream, UpstreamClient, UpstreamEvent, UpstreamShare};

/// Channel ids a device gets start here (1 is the group id its Success names).
const FIRST_CHANNEL_ID: u32 = 2;
/// Upstream events queued for one device before the hub waits for it.
const DEVICE_QUEUE: usize = 256;
/// Shares of one device forwarded and not yet answered; past this its socket is not read.
const MAX_PENDING_SHARES: usize = 1024;

/// Which device (its event queue) each upstream key belongs to.
type Routes = Mutex<HashMap<u64, mpsc::Sender<UpstreamEvent>>>;

pub(super) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    upstream: Upstream,
    events: mpsc::Receiver<UpstreamEvent>,
    shutdown: watch::Receiver<bool>,
) {
    let routes: Arc<Routes> = Arc::new(Mutex::new(HashMap::new()));
    let hub = tokio::spawn(hub(events, routes.clone(), shared.metrics.clone()));
    let client = upstream.client();
    let accept_shared = shared.clone();
    super::accept_devices(listener, &accept_shared, shutdown.clone(), |stream, _, id| {
        connection(stream, id, shared.clone(), client.clone(), routes.clone(), shutdown.clone())
    })
    .await;
    hub.abort();
    upstream.shutdown().await;
}

/// Hands each channel event to its device; pool-wide events are logged. The pool's answers
/// are counted here, against the device the key names, so that answers to a device that has
/// left still count.
async fn hub(mut events: mpsc::Receiver<UpstreamEvent>, routes: Arc<Routes>, metrics: Arc<Metrics>) {
    let device_of = |key: u64| key >> 32;
    while let Some(event) = events.recv().await {
        match &event {
            UpstreamEvent::ShareAccepted { key, .. } => metrics.device(device_of(*key), |d| {
                d.shares_accepted += 1;
                d.upstream_accepted += 1;
            }),
            UpstreamEvent::ShareRejected { key, code, .. } => {
                metrics.device(device_of(*key), |d| *d.upstream_rejected.entry(code.clone()).or_default() += 1)
            }
            UpstreamEvent::ShareDropped { key, .. } => {
                metrics.device(device_of(*key), |d| *d.upstream_rejected.entry("not-sent".into()).or_default() += 1)
            }
            _ => {}
        }
        let key = match &event {
            UpstreamEvent::ChannelReady { key, .. }
            | UpstreamEvent::ChannelRefused { key, .. }
            | UpstreamEvent::ChannelClosed { key, .. }
            | UpstreamEvent::StandardJob { key, .. }
            | UpstreamEvent::PrevHash { key, .. }
            | UpstreamEvent::TargetChanged { key, .. }
            | UpstreamEvent::ShareAccepted { key, .. }
            | UpstreamEvent::ShareRejected { key, .. }
            | UpstreamEvent::ShareDropped { key, .. } => *key,
            UpstreamEvent::PoolLost { index, reason, unacknowledged } => {
                tracing::warn!("proxy: pool {index} lost ({reason}); {} shares unanswered", unacknowledged.len());
                // Each device answers its own unanswered shares.
                for (key, id) in unacknowledged {
                    metrics.device(device_of(*key), |d| {
                        *d.upstream_rejected.entry("unacknowledged".into()).or_default() += 1
                    });
                    let route = lock(&routes).get(key).cloned();
                    if let Some(tx) = route {
                        let _ = tx.send(UpstreamEvent::ShareDropped { key: *key, id: *id }).await;
                    }
                }
                continue;
            }
            UpstreamEvent::PoolConnected { index, address, .. } => {
                tracing::info!("proxy: pool {index} ({address}) active");
                continue;
            }
            other => {
                tracing::debug!("proxy: upstream {other:?}");
                continue;
            }
        };
        let route = lock(&routes).get(&key).cloned();
        if let Some(tx) = route {
            // A device gone meanwhile just misses the event.
            let _ = tx.send(event).await;
        }
    }
}

fn text(code: &str) -> Str0_255<'_> {
    Str0_255::from_str(code).unwrap_or_default()
}

async fn connection(
    stream: TcpStream,
    id: u64,
    shared: Arc<Shared>,
    upstream: UpstreamClient,
    routes: Arc<Routes>,
    shutdown: watch::Receiver<bool>,
) {
    let Some(conn) = super::admit_device(stream, id, &shared).await else { return };
    let peer = conn.peer();
    let (tx, rx) = mpsc::channel(DEVICE_QUEUE);
    let mut device = Relay { id, shared: &shared, upstream: &upstream, routes: &routes, tx, channels: BTreeMap::new() };
    let result = device.serve(conn, rx, shutdown).await;
    for key in device.channels.keys().map(|c| device.key(*c)).collect::<Vec<_>>() {
        lock(&routes).remove(&key);
        let _ = upstream.close(key).await;
    }
    super::release_device(id, &shared);
    let m = &shared.metrics;
    match result {
        Ok(()) | Err(NetError::Closed) => tracing::debug!("device {id} ({peer}) closed"),
        Err(e) => {
            m.connections_bad_input.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("device {id} ({peer}): {e}");
        }
    }
}

/// A device channel and its upstream channel.
struct Channel {
    request_id: u32,
    /// The upstream channel is open (the device got its Success).
    open: bool,
    /// Forwarded shares by the id given upstream: sequence number.
    pending: HashMap<u64, u32>,
}

struct Relay<'a> {
    id: u64,
    shared: &'a Shared,
    upstream: &'a UpstreamClient,
    routes: &'a Routes,
    tx: mpsc::Sender<UpstreamEvent>,
    channels: BTreeMap<u32, Channel>,
}

/// Why a device connection ends for breaking the protocol.
fn protocol(what: impl Into<String>) -> NetError {
    NetError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, what.into()))
}

impl Relay<'_> {
    /// The upstream key of a device channel: the device id above, the channel id below.
    fn key(&self, channel_id: u32) -> u64 {
        (self.id << 32) | u64::from(channel_id)
    }

    async fn serve(
        &mut self,
        mut conn: Connection,
        mut events: mpsc::Receiver<UpstreamEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NetError> {
        let config = &self.shared.config;
        let deadline = tokio::time::Instant::now() + config.setup_timeout;
        let frame = tokio::time::timeout_at(deadline, conn.read_frame())
            .await
            .map_err(|_| protocol("no SetupConnection in time"))??;
        let Ok((Message::SetupConnection(setup), _)) = frame.message() else {
            return Err(protocol("first message is not SetupConnection"));
        };
        let agent = String::from_utf8_lossy(setup.vendor.as_bytes()).into_owned();
        self.shared.metrics.device(self.id, |d| d.user_agent = agent);
        match negotiate_setup(&config.server, &setup) {
            Ok(flags) => conn.send(&SetupConnectionSuccess { used_version: 2, flags }.into()).await?,
            Err((flags, code)) => {
                let _ = conn.send(&SetupConnectionError { flags, error_code: text(code) }.into()).await;
                return Err(protocol(format!("SetupConnection refused: {code}")));
            }
        }
        let mut next_channel_id = FIRST_CHANNEL_ID;
        let mut idle_since = Some(deadline);
        loop {
            let idle_until = idle_since.map(|s| s + config.setup_timeout);
            let pending: usize = self.channels.values().map(|c| c.pending.len()).sum();
            tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => return conn.flush().await,
                Some(event) = events.recv() => self.on_upstream(&mut conn, event)?,
                _ = sleep_until_some(idle_until) => return Err(protocol("no open channel in time")),
                frame = conn.read_frame(), if pending < MAX_PENDING_SHARES => {
                    let frame = frame?;
                    let msg = match frame.message() {
                        Ok((msg, _)) => msg,
                        Err(CodecError::UnknownMessage { .. }) => continue,
                        Err(e) => return Err(protocol(format!("bad message: {e}"))),
                    };
                    match msg {
                        Message::OpenStandardMiningChannel(m) => {
                            let refuse = if self.channels.len() >= config.server.max_channels {
                                Err("too-many-channels")
                            } else {
                                check_open(m.user_identity.as_bytes(), m.nominal_hash_rate)
                            };
                            match refuse {
                                Err(code) => {
                                    conn.queue(&OpenMiningChannelError { request_id: m.request_id, error_code: text(code) }.into())?;
                                }
                                Ok(user) => {
                                    let channel_id = next_channel_id;
                                    next_channel_id = next_channel_id.checked_add(1).ok_or_else(|| protocol("channel ids exhausted"))?;
                                    let key = self.key(channel_id);
                                    lock(self.routes).insert(key, self.tx.clone());
                                    self.channels.insert(channel_id, Channel { request_id: m.request_id, open: false, pending: HashMap::new() });
                                    self.shared.metrics.device(self.id, |d| {
                                        if d.worker.is_empty() {
                                            d.worker = user.clone();
                                        }
                                    });
                                    let spec = ChannelSpec { max_target: m.max_target, ..ChannelSpec::standard(user, m.nominal_hash_rate) };
                                    self.upstream.open(key, spec).await.map_err(|_| protocol("upstream stopped"))?;
                                    idle_since = None;
                                }
                            }
                        }
                        Message::OpenExtendedMiningChannel(m) => {
                            let code = text("extended-channels-not-supported-in-pass-through");
                            conn.queue(&OpenMiningChannelError { request_id: m.request_id, error_code: code }.into())?;
                        }
                        Message::SubmitSharesStandard(m) => {
                            let key = self.key(m.channel_id);
                            let share_id = (u64::from(m.channel_id) << 32) | u64::from(m.sequence_number);
                            match self.channels.get_mut(&m.channel_id).filter(|c| c.open) {
                                None => {
                                    let code = text("invalid-channel-id");
                                    let e = SubmitSharesError { channel_id: m.channel_id, sequence_number: m.sequence_number, error_code: code };
                                    conn.queue(&e.into())?;
                                    self.count_rejected("invalid-channel-id");
                                }
                                Some(c) => {
                                    c.pending.insert(share_id, m.sequence_number);
                                    let share = UpstreamShare { job_id: m.job_id, nonce: m.nonce, ntime: m.ntime, version: m.version, extranonce: Vec::new() };
                                    self.upstream.submit(key, share, share_id).await.map_err(|_| protocol("upstream stopped"))?;
                                    self.shared.metrics.device(self.id, |d| d.shares_forwarded += 1);
                                }
                            }
                        }
                        Message::CloseChannel(m) => {
                            if self.channels.remove(&m.channel_id).is_some() {
                                let key = self.key(m.channel_id);
                                lock(self.routes).remove(&key);
                                let _ = self.upstream.close(key).await;
                            }
                            if self.channels.is_empty() {
                                idle_since = Some(tokio::time::Instant::now());
                            }
                        }
                        Message::SetupConnection(_) => return Err(protocol("a second SetupConnection")),
                        // UpdateChannel: the pool's vardiff sets the target of a relayed channel.
                        _ => {}
                    }
                }
            }
            conn.flush().await?;
        }
    }

    fn count_rejected(&self, code: &str) {
        self.shared.metrics.device(self.id, |d| *d.shares_rejected.entry(code.to_string()).or_default() += 1);
    }

    /// Relays what the pool sent for one of this device's channels.
    fn on_upstream(&mut self, conn: &mut Connection, event: UpstreamEvent) -> Result<(), NetError> {
        let channel_of = |key: u64| (key & 0xFFFF_FFFF) as u32;
        match event {
            UpstreamEvent::ChannelReady { key, target, extranonce_prefix, .. } => {
                let channel_id = channel_of(key);
                let Some(c) = self.channels.get_mut(&channel_id) else { return Ok(()) };
                if c.open {
                    // Re-opened on another pool: the device keeps its channel; the new pool's
                    // target and jobs follow.
                    return conn.queue(&SetTarget { channel_id, maximum_target: target }.into());
                }
                c.open = true;
                let prefix = Bytes::new(&extranonce_prefix).unwrap_or_default();
                let success = OpenStandardMiningChannelSuccess {
                    request_id: c.request_id,
                    channel_id,
                    target,
                    extranonce_prefix: prefix,
                    group_channel_id: 1,
                };
                let d = difficulty(&target);
                self.shared.metrics.device(self.id, |s| {
                    s.difficulty = d;
                    if s.extranonce1.is_empty() {
                        s.extranonce1 = hex::encode(&extranonce_prefix);
                    }
                });
                conn.queue(&success.into())
            }
            UpstreamEvent::ChannelRefused { key, code, .. } => {
                let Some(c) = self.channels.remove(&channel_of(key)) else { return Ok(()) };
                lock(self.routes).remove(&key);
                conn.queue(&OpenMiningChannelError { request_id: c.request_id, error_code: text(&code) }.into())
            }
            UpstreamEvent::ChannelClosed { key, reason } => {
                let channel_id = channel_of(key);
                if self.channels.remove(&channel_id).is_none() {
                    return Ok(());
                }
                lock(self.routes).remove(&key);
                conn.queue(&sv2::messages::CloseChannel { channel_id, reason_code: text(&reason) }.into())
            }
            UpstreamEvent::StandardJob { key, job } => {
                conn.queue(&sv2::messages::NewMiningJob { channel_id: channel_of(key), ..job }.into())
            }
            UpstreamEvent::PrevHash { key, prev } => {
                conn.queue(&SetNewPrevHash { channel_id: channel_of(key), ..prev }.into())
            }
            UpstreamEvent::TargetChanged { key, target } => {
                let d = difficulty(&target);
                self.shared.metrics.device(self.id, |s| s.difficulty = d);
                conn.queue(&SetTarget { channel_id: channel_of(key), maximum_target: target }.into())
            }
            UpstreamEvent::ShareAccepted { key, id } => {
                let channel_id = channel_of(key);
                let Some(seq) = self.channels.get_mut(&channel_id).and_then(|c| c.pending.remove(&id)) else {
                    return Ok(());
                };
                let ok = SubmitSharesSuccess {
                    channel_id,
                    last_sequence_number: seq,
                    new_submits_accepted_count: 1,
                    new_shares_sum: 0,
                };
                conn.queue(&ok.into())
            }
            UpstreamEvent::ShareRejected { key, id, code } => self.answer_error(conn, key, id, &code),
            UpstreamEvent::ShareDropped { key, id } => self.answer_error(conn, key, id, "upstream-unavailable"),
            _ => Ok(()),
        }
    }

    fn answer_error(&mut self, conn: &mut Connection, key: u64, id: u64, code: &str) -> Result<(), NetError> {
        let channel_id = (key & 0xFFFF_FFFF) as u32;
        let Some(seq) = self.channels.get_mut(&channel_id).and_then(|c| c.pending.remove(&id)) else { return Ok(()) };
        conn.queue(&SubmitSharesError { channel_id, sequence_number: seq, error_code: text(code) }.into())
    }
}
