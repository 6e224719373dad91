//! The pool's Mining Protocol server: one task per miner connection, with the connection's
//! channels kept as one [`GroupChannel`].

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::group::GroupChannel;
use sv2::channels::server::{ChannelKind, FoundBlock, ServerChannel, Share};
use sv2::channels::target::target_for_difficulty;
use sv2::channels::vardiff::Vardiff;
use sv2::codec::{Bytes, CodecError, Encode};
use sv2::messages::mining_flags::{REQUIRES_STANDARD_JOBS, REQUIRES_VERSION_ROLLING};
use sv2::messages::mining_success_flags::{REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION};
use sv2::messages::{
    OpenExtendedMiningChannelSuccess, OpenMiningChannelError, OpenStandardMiningChannelSuccess, SetTarget,
    SetupConnection, SetupConnectionError, SetupConnectionSuccess, SubmitSharesError, SubmitSharesSuccess,
    UpdateChannelError,
};
use sv2::noise::ServerCredentials;
use sv2::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::metrics::Metrics;
use super::store::{BlockRecord, Rejections, ShareRecord, StoreWriter};
use super::templates::JobState;
use super::PoolConfig;
use crate::net::{frame_wire_len as wire_len, Connection, NetError};

/// Everything the connection tasks share.
pub(super) struct Shared {
    pub config: Arc<PoolConfig>,
    pub credentials: ServerCredentials,
    pub jobs: watch::Receiver<Arc<JobState>>,
    pub allocator: Mutex<ExtranonceAllocator>,
    pub solutions: mpsc::Sender<FoundBlock>,
    pub store: StoreWriter,
    pub metrics: Arc<Metrics>,
    pub connections: AtomicU64,
    /// Origin of the monotonic seconds vardiff is run on.
    pub started: Instant,
}

/// Accepts miners until `shutdown`, then waits for their tasks to finish.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut tasks = JoinSet::new();
    let for_tasks = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
                    match slots.clone().try_acquire_owned() {
                        Ok(permit) => {
                            tasks.spawn(handle(stream, shared.clone(), for_tasks.clone(), permit));
                        }
                        Err(_) => {
                            shared.metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next() => {}
            _ = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

async fn handle(
    stream: TcpStream,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let id = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let conn = match Connection::accept(stream, &shared.credentials, shared.config.limits).await {
        Ok(c) => c,
        Err(e) => {
            shared.metrics.connections_failed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("connection {id}: handshake: {e}");
            return;
        }
    };
    let peer = conn.peer();
    shared.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    let mut session = Session::new(id, &shared);
    let result = session.run(conn, shutdown).await;
    // Rejections counted before an abrupt end are kept too.
    if let Err(e) = session.flush_rejections().await {
        tracing::warn!("connection {id}: rejection counts not written: {e}");
    }
    shared.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    shared.metrics.channels_open.fetch_sub(session.group.len() as u64, Ordering::Relaxed);
    for c in session.group.channels() {
        session.release(c);
    }
    match result {
        Ok(()) | Err(End::Net(NetError::Closed)) => tracing::debug!("connection {id} ({peer}) closed"),
        Err(e) => {
            if !session.set_up {
                shared.metrics.connections_failed.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!("connection {id} ({peer}): {e}");
        }
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// What a connection wakes up for besides its socket.
enum Wake {
    Jobs(Arc<JobState>),
    Stop,
}

/// The next new job state or the pool stopping. Kept alive across a connection's loop
/// (owning its receivers) rather than made anew on every wake-up: each new wait registers
/// with a watch channel that all connections share.
async fn next_wake(
    mut jobs: watch::Receiver<Arc<JobState>>,
    mut shutdown: watch::Receiver<bool>,
) -> (Wake, watch::Receiver<Arc<JobState>>, watch::Receiver<bool>) {
    let wake = tokio::select! {
        biased;
        _ = stopped(&mut shutdown) => Wake::Stop,
        changed = jobs.changed() => match changed {
            Ok(()) => Wake::Jobs(jobs.borrow_and_update().clone()),
            Err(_) => Wake::Stop,
        },
    };
    (wake, jobs, shutdown)
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    Net(NetError),
    /// A protocol problem; the string says what.
    Protocol(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Net(e) => e.fmt(f),
            End::Protocol(s) => f.write_str(s),
        }
    }
}

impl From<NetError> for End {
    fn from(e: NetError) -> Self {
        End::Net(e)
    }
}

impl From<sv2::channels::ChannelError> for End {
    fn from(e: sv2::channels::ChannelError) -> Self {
        End::Protocol(format!("channel: {e}"))
    }
}

/// Accepted shares on their way to the database, and the answers that wait for the commit.
struct Inflight {
    ack: oneshot::Receiver<Result<(), String>>,
    successes: Vec<SubmitSharesSuccess>,
    arrivals: Vec<Instant>,
}

/// Invalid shares of a connection over the last minute, to close one that floods them.
#[derive(Default)]
struct InvalidShares {
    since: Option<Instant>,
    invalid: u32,
    valid: u32,
}

impl InvalidShares {
    /// Counts a share; true when the connection has gone over `limit` invalid shares within
    /// a minute and more of its shares were invalid than valid.
    fn count(&mut self, valid: bool, limit: u32) -> bool {
        let now = Instant::now();
        if self.since.is_none_or(|s| now.duration_since(s) >= Duration::from_secs(60)) {
            *self = InvalidShares { since: Some(now), invalid: 0, valid: 0 };
        }
        if valid {
            self.valid = self.valid.saturating_add(1);
            return false;
        }
        self.invalid = self.invalid.saturating_add(1);
        self.invalid > limit && self.invalid > self.valid
    }
}

struct Session<'s> {
    id: u64,
    shared: &'s Shared,
    group: GroupChannel,
    set_up: bool,
    requires_standard_jobs: bool,
    next_channel_id: u32,
    /// Jobs every member of the group has, on the current tip.
    known: HashSet<u32>,
    tip_seq: u64,
    pending: Vec<ShareRecord>,
    arrivals: Vec<Instant>,
    /// Rejected shares not yet in the database, by (identity, code).
    rejected: BTreeMap<(String, &'static str), u64>,
    invalid: InvalidShares,
    inflight: Option<Inflight>,
    /// Since when the connection has had no channel (it must open one within the setup
    /// timeout, also after closing its last).
    idle_since: Option<tokio::time::Instant>,
}

/// The group's id; channels are numbered after it.
const GROUP_ID: u32 = 1;
/// Seconds between vardiff checks of a connection's channels.
const VARDIFF_TICK: Duration = Duration::from_secs(5);
/// Accepted shares a connection may have waiting for the database; past this its socket is
/// not read until a commit is answered.
const MAX_PENDING_SHARES: usize = 1024;
/// Shares one channel may have accepted on one tip (the duplicate set): vardiff keeps an
/// honest channel far below this, so a channel that reaches it is closed with its connection.
const MAX_SHARES_PER_TIP: usize = 1 << 16;

fn unix_now() -> u32 {
    crate::keygen::unix_now()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn text(code: &str) -> Bytes<'_, 255> {
    Bytes::from_str(code).unwrap_or_default()
}

/// The SetupConnection.Success flags for `m`, or the Error's flags and code.
fn check_setup(m: &SetupConnection<'_>, config: &PoolConfig) -> Result<u32, (u32, &'static str)> {
    if m.protocol != 0 {
        return Err((0, "unsupported-protocol"));
    }
    if !(m.min_version <= 2 && 2 <= m.max_version) {
        return Err((0, "protocol-version-mismatch"));
    }
    let mut supported = REQUIRES_STANDARD_JOBS | REQUIRES_VERSION_ROLLING;
    if !config.version_rolling {
        supported &= !REQUIRES_VERSION_ROLLING;
    }
    if config.extended_channels_only {
        supported &= !REQUIRES_STANDARD_JOBS;
    }
    let unsupported = m.flags & !supported;
    if unsupported != 0 {
        return Err((unsupported, "unsupported-feature-flags"));
    }
    let mut flags = 0;
    if !config.version_rolling {
        flags |= REQUIRES_FIXED_VERSION;
    }
    if config.extended_channels_only {
        flags |= REQUIRES_EXTENDED_CHANNELS;
    }
    Ok(flags)
}

impl<'s> Session<'s> {
    fn new(id: u64, shared: &'s Shared) -> Self {
        Session {
            id,
            shared,
            group: GroupChannel::new(GROUP_ID, false),
            set_up: false,
            requires_standard_jobs: false,
            next_channel_id: GROUP_ID + 1,
            known: HashSet::new(),
            tip_seq: 0,
            pending: Vec::new(),
            arrivals: Vec::new(),
            rejected: BTreeMap::new(),
            invalid: InvalidShares::default(),
            inflight: None,
            idle_since: None,
        }
    }

    fn queue(&self, conn: &mut Connection, msg: &Message<'_>) -> Result<(), End> {
        self.shared.metrics.bytes_out.fetch_add(wire_len(msg.encoded_len()), Ordering::Relaxed);
        Ok(conn.queue(msg)?)
    }

    async fn run(&mut self, mut conn: Connection, shutdown: watch::Receiver<bool>) -> Result<(), End> {
        let config = &self.shared.config;
        let deadline = tokio::time::Instant::now() + config.setup_timeout;
        let frame = tokio::time::timeout_at(deadline, conn.read_frame())
            .await
            .map_err(|_| End::Protocol("no SetupConnection in time".into()))??;
        self.shared.metrics.bytes_in.fetch_add(wire_len(frame.payload.len()), Ordering::Relaxed);
        let setup = match frame.message() {
            Ok((Message::SetupConnection(m), _)) => m,
            Ok((other, _)) => return Err(End::Protocol(format!("{} before SetupConnection", other.name()))),
            Err(e) => return Err(End::Protocol(format!("bad first message: {e}"))),
        };
        match check_setup(&setup, config) {
            Ok(flags) => {
                self.requires_standard_jobs = setup.flags & REQUIRES_STANDARD_JOBS != 0;
                self.group = GroupChannel::new(GROUP_ID, self.requires_standard_jobs);
                self.queue(&mut conn, &SetupConnectionSuccess { used_version: 2, flags }.into())?;
                conn.flush().await?;
            }
            Err((flags, code)) => {
                let _ = conn.send(&SetupConnectionError { flags, error_code: text(code) }.into()).await;
                return Err(End::Protocol(format!("SetupConnection refused: {code}")));
            }
        }
        self.set_up = true;
        self.idle_since = Some(deadline);
        let mut wake = std::pin::pin!(next_wake(self.shared.jobs.clone(), shutdown));
        let mut vardiff = tokio::time::interval(VARDIFF_TICK);
        vardiff.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let idle_until = self.idle_since.map(|since| since + config.setup_timeout);
            let room = self.pending.len() < MAX_PENDING_SHARES;
            // Shutdown, new jobs, database answers and vardiff before the miner's messages: a
            // peer that keeps its socket busy must not delay its own tips and answers. They
            // are rare, so the socket is never starved either.
            tokio::select! {
                biased;
                (w, jobs, shutdown) = &mut wake => {
                    let Wake::Jobs(state) = w else {
                        self.drain(&mut conn).await?;
                        return Ok(());
                    };
                    self.sync(&mut conn, &state)?;
                    wake.set(next_wake(jobs, shutdown));
                }
                ack = async { self.inflight.as_mut().map(|i| &mut i.ack).expect("guarded").await }, if self.inflight.is_some() => {
                    self.acknowledge(&mut conn, ack)?;
                    self.start_commit().await?;
                }
                _ = vardiff.tick() => {
                    let now = self.shared.started.elapsed().as_secs();
                    let targets: Vec<SetTarget> = self
                        .group
                        .channels_mut()
                        .filter_map(|c| c.retarget(now).map(|t| SetTarget { channel_id: c.id(), maximum_target: t }))
                        .collect();
                    for t in targets {
                        self.queue(&mut conn, &t.into())?;
                    }
                    self.flush_rejections().await?;
                }
                _ = sleep_until_some(idle_until) => {
                    return Err(End::Protocol("no open channel in time".into()));
                }
                frame = conn.read_frame(), if room => {
                    let frame = frame?;
                    self.shared.metrics.bytes_in.fetch_add(wire_len(frame.payload.len()), Ordering::Relaxed);
                    let arrived = Instant::now();
                    match frame.message() {
                        Ok((msg, _)) => self.on_message(&mut conn, msg, arrived).await?,
                        // Messages of extensions this pool does not know are dropped.
                        Err(CodecError::UnknownMessage { .. }) => continue,
                        Err(e) => return Err(End::Protocol(format!("bad message: {e}"))),
                    }
                }
            }
            conn.flush().await?;
        }
    }

    /// Writes the rejection counts gathered so far (nothing waits for them).
    async fn flush_rejections(&mut self) -> Result<(), End> {
        if self.rejected.is_empty() {
            return Ok(());
        }
        self.shared.store.record_rejections(self.take_rejections()).await.map_err(End::Protocol)
    }

    fn take_rejections(&mut self) -> Vec<Rejections> {
        std::mem::take(&mut self.rejected)
            .into_iter()
            .map(|((identity, code), count)| Rejections { identity, code: code.to_string(), count })
            .collect()
    }

    /// Answers every accepted share before the connection closes.
    async fn drain(&mut self, conn: &mut Connection) -> Result<(), End> {
        while let Some(i) = self.inflight.as_mut() {
            let ack = (&mut i.ack).await;
            self.acknowledge(conn, ack)?;
            self.start_commit().await?;
        }
        self.flush_rejections().await?;
        Ok(conn.flush().await?)
    }

    fn acknowledge(
        &mut self,
        conn: &mut Connection,
        ack: Result<Result<(), String>, oneshot::error::RecvError>,
    ) -> Result<(), End> {
        let inflight = self.inflight.take().expect("an ack comes from an inflight commit");
        match ack {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(End::Protocol(e)),
            Err(_) => return Err(End::Protocol("share database closed".into())),
        }
        for s in &inflight.successes {
            self.queue(conn, &(*s).into())?;
        }
        let m = &self.shared.metrics;
        for a in inflight.arrivals {
            m.share_answer_us_sum.fetch_add(a.elapsed().as_micros() as u64, Ordering::Relaxed);
            m.share_answer_count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Sends the accepted shares not yet in the database to it, with the successes that
    /// answer them once committed.
    async fn start_commit(&mut self) -> Result<(), End> {
        if self.inflight.is_some() || self.pending.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.pending);
        let arrivals = std::mem::take(&mut self.arrivals);
        let successes = self.group.channels_mut().filter_map(|c| c.take_success()).collect();
        let rejections = self.take_rejections();
        let ack = self.shared.store.commit(records, rejections).await.map_err(End::Protocol)?;
        self.inflight = Some(Inflight { ack, successes, arrivals });
        Ok(())
    }

    /// Brings every channel up to the pool's current jobs. A job a channel cannot take is
    /// logged and skipped: the same job reaches every connection, so failing the connection
    /// for it would close them all.
    fn sync(&mut self, conn: &mut Connection, state: &JobState) -> Result<(), End> {
        if state.tip_seq != self.tip_seq {
            if let Some(tip) = &state.tip {
                self.shared.allocator.lock().unwrap_or_else(|e| e.into_inner()).new_tip(&tip.prev.prev_hash);
                if !self.known.contains(&tip.job_id) {
                    self.add_job(conn, tip.job_id, &tip.job, None)?;
                }
                match self.group.activate(tip.job_id, tip.prev) {
                    Ok(prevs) => {
                        for m in prevs {
                            self.queue(conn, &m.into())?;
                        }
                    }
                    Err(e) => tracing::warn!("connection {}: tip job {}: {e}", self.id, tip.job_id),
                }
                if let (Some(at), false) = (state.tip_at, self.group.is_empty()) {
                    self.shared.metrics.tip_to_job(at.elapsed());
                }
                self.known.clear();
                self.known.insert(tip.job_id);
            }
            self.tip_seq = state.tip_seq;
        }
        if state.tip.is_none() {
            return Ok(());
        }
        let latest = state.latest.iter().filter(|l| l.active_ntime.is_some());
        for j in latest.chain(&state.future) {
            if self.known.insert(j.job_id) {
                self.add_job(conn, j.job_id, &j.job, j.active_ntime)?;
            }
        }
        Ok(())
    }

    fn add_job(
        &mut self,
        conn: &mut Connection,
        job_id: u32,
        job: &Arc<sv2::channels::server::Job>,
        active_ntime: Option<u32>,
    ) -> Result<(), End> {
        match self.group.add_job(job_id, job, active_ntime) {
            Ok(msgs) => msgs.iter().try_for_each(|m| self.queue(conn, m)),
            Err(e) => {
                tracing::warn!("connection {}: job {job_id}: {e}", self.id);
                Ok(())
            }
        }
    }

    /// Gives a channel just opened the jobs the rest of the group has: the tip's job as a
    /// future job, its SetNewPrevHash, then the newest job and the future ones.
    fn catch_up(&mut self, conn: &mut Connection, channel_id: u32, state: &JobState) -> Result<(), End> {
        let Some(tip) = &state.tip else { return Ok(()) };
        let later: Vec<_> = state
            .latest
            .iter()
            .filter(|l| l.active_ntime.is_some() && l.job_id != tip.job_id)
            .chain(&state.future)
            .collect();
        let Some(ch) = self.group.get_mut(channel_id) else { return Ok(()) };
        let activate =
            match ch.add_job(tip.job_id, tip.job.clone(), None).and_then(|()| ch.activate(tip.job_id, tip.prev)) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("connection {}: channel {channel_id}: tip job {}: {e}", self.id, tip.job_id);
                    return Ok(());
                }
            };
        let later: Vec<_> =
            later.into_iter().filter(|j| ch.add_job(j.job_id, j.job.clone(), j.active_ntime).is_ok()).collect();
        let Some(ch) = self.group.get(channel_id) else { return Ok(()) };
        let mut out: Vec<Message<'_>> = ch.job_message(tip.job_id, None).into_iter().collect();
        out.push(activate.into());
        out.extend(later.iter().filter_map(|j| ch.job_message(j.job_id, j.active_ntime)));
        for m in &out {
            self.queue(conn, m)?;
        }
        Ok(())
    }

    async fn on_message(&mut self, conn: &mut Connection, msg: Message<'_>, arrived: Instant) -> Result<(), End> {
        match msg {
            Message::OpenStandardMiningChannel(m) => {
                let kind = ChannelKind::Standard;
                self.open(conn, m.request_id, kind, m.user_identity.as_bytes(), m.nominal_hash_rate, m.max_target, 0)
            }
            Message::OpenExtendedMiningChannel(m) => {
                let kind = ChannelKind::Extended { extranonce_size: 0 };
                let (id, user, rate, max) =
                    (m.request_id, m.user_identity.as_bytes(), m.nominal_hash_rate, m.max_target);
                self.open(conn, id, kind, user, rate, max, m.min_extranonce_size)
            }
            Message::SubmitSharesStandard(m) => {
                let share =
                    Share { job_id: m.job_id, nonce: m.nonce, ntime: m.ntime, version: m.version, extranonce: &[] };
                self.on_share(conn, m.channel_id, m.sequence_number, share, arrived).await
            }
            Message::SubmitSharesExtended(m) => {
                let share = Share {
                    job_id: m.job_id,
                    nonce: m.nonce,
                    ntime: m.ntime,
                    version: m.version,
                    extranonce: m.extranonce.as_bytes(),
                };
                self.on_share(conn, m.channel_id, m.sequence_number, share, arrived).await
            }
            Message::UpdateChannel(m) => {
                let now = self.shared.started.elapsed().as_secs();
                let reply: Message<'_> = match self.group.get_mut(m.channel_id) {
                    None => {
                        UpdateChannelError { channel_id: m.channel_id, error_code: text("invalid-channel-id") }.into()
                    }
                    Some(c) => match c.update_channel(m.nominal_hash_rate, m.maximum_target, now) {
                        Ok(None) => return Ok(()),
                        Ok(Some(t)) => SetTarget { channel_id: m.channel_id, maximum_target: t }.into(),
                        Err(_) => UpdateChannelError {
                            channel_id: m.channel_id,
                            error_code: text("invalid-nominal-hashrate"),
                        }
                        .into(),
                    },
                };
                self.queue(conn, &reply)
            }
            Message::CloseChannel(m) => {
                let ids: Vec<u32> = if m.channel_id == GROUP_ID {
                    self.group.channels().map(|c| c.id()).collect()
                } else {
                    vec![m.channel_id]
                };
                for id in ids {
                    if let Some(c) = self.group.remove(id) {
                        self.release(&c);
                        self.shared.metrics.channels_open.fetch_sub(1, Ordering::Relaxed);
                    }
                }
                if self.group.is_empty() {
                    self.idle_since = Some(tokio::time::Instant::now());
                }
                Ok(())
            }
            // No extension is supported: every one requested is named in the Error.
            Message::RequestExtensions(m) => {
                let reply = sv2::messages::RequestExtensionsError {
                    request_id: m.request_id,
                    unsupported_extensions: m.requested_extensions,
                    required_extensions: sv2::codec::Seq::EMPTY,
                };
                self.queue(conn, &reply.into())
            }
            Message::SetupConnection(_) => Err(End::Protocol("a second SetupConnection".into())),
            other => {
                tracing::debug!("connection {}: ignoring {}", self.id, other.name());
                Ok(())
            }
        }
    }

    /// Gives a closed channel's extranonce prefix back to the pool.
    fn release(&self, channel: &ServerChannel) {
        self.shared.allocator.lock().unwrap_or_else(|e| e.into_inner()).release(channel.extranonce_prefix());
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        conn: &mut Connection,
        request_id: u32,
        kind: ChannelKind,
        user: &[u8],
        nominal_hash_rate: f32,
        max_target: [u8; 32],
        min_extranonce_size: u16,
    ) -> Result<(), End> {
        let config = &self.shared.config;
        let refuse = |s: &Self, conn: &mut Connection, code: &str| {
            s.queue(conn, &OpenMiningChannelError { request_id, error_code: text(code) }.into())
        };
        let extended = matches!(kind, ChannelKind::Extended { .. });
        if self.group.len() >= config.max_channels_per_connection {
            return refuse(self, conn, "too-many-channels");
        }
        if !extended && config.extended_channels_only {
            return refuse(self, conn, "standard-channels-not-supported");
        }
        if extended && self.requires_standard_jobs {
            return refuse(self, conn, "extended-channels-not-supported-for-standard-jobs");
        }
        let identity = match std::str::from_utf8(user) {
            Ok(u) if !u.trim().is_empty() && !u.chars().any(char::is_control) => u.to_string(),
            _ => return refuse(self, conn, "invalid-user-identity"),
        };
        let rate = f64::from(nominal_hash_rate);
        if !rate.is_finite() || rate < 0.0 {
            return refuse(self, conn, "invalid-nominal-hashrate");
        }
        // Channel ids are never reused on a connection; four billion opens is no miner.
        let Some(next_channel_id) = self.next_channel_id.checked_add(1) else {
            return refuse(self, conn, "too-many-channels");
        };
        let (prefix, kind) = {
            let mut alloc = self.shared.allocator.lock().unwrap_or_else(|e| e.into_inner());
            let rollable = alloc.extended_rollable() as u16;
            if extended && min_extranonce_size > rollable {
                drop(alloc);
                return refuse(self, conn, "min-extranonce-size-too-large");
            }
            let prefix = if extended { alloc.next_extended() } else { alloc.next_standard() };
            match prefix {
                Ok(p) => (p, if extended { ChannelKind::Extended { extranonce_size: rollable } } else { kind }),
                Err(_) => {
                    drop(alloc);
                    return refuse(self, conn, "extranonce-space-exhausted");
                }
            }
        };
        let now = self.shared.started.elapsed().as_secs();
        let vardiff = Vardiff::new(config.shares_per_minute, config.vardiff_window_secs, now);
        let rate = if rate > 0.0 { rate } else { config.default_hashrate };
        let target = vardiff.initial_target(rate, max_target);
        let channel_id = self.next_channel_id;
        self.next_channel_id = next_channel_id;
        let channel = ServerChannel::new(channel_id, kind, &identity, prefix.clone(), target, max_target, vardiff)
            .with_easiest_target(target_for_difficulty(config.min_difficulty));
        let target = channel.target();
        let prefix_field = Bytes::new(&prefix).map_err(|e| End::Protocol(e.to_string()))?;
        let success: Message<'_> = match kind {
            ChannelKind::Standard => OpenStandardMiningChannelSuccess {
                request_id,
                channel_id,
                target,
                extranonce_prefix: prefix_field,
                group_channel_id: GROUP_ID,
            }
            .into(),
            ChannelKind::Extended { extranonce_size } => OpenExtendedMiningChannelSuccess {
                request_id,
                channel_id,
                target,
                extranonce_size,
                extranonce_prefix: prefix_field,
                group_channel_id: GROUP_ID,
            }
            .into(),
        };
        self.queue(conn, &success)?;
        // Bring the group up to date first, so that the new member gets its jobs once.
        let state = self.shared.jobs.borrow().clone();
        self.sync(conn, &state)?;
        self.group.add(channel)?;
        self.idle_since = None;
        self.shared.metrics.channels_open.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("connection {}: channel {channel_id} ({kind:?}) for {identity}", self.id);
        self.catch_up(conn, channel_id, &state)
    }

    async fn on_share(
        &mut self,
        conn: &mut Connection,
        channel_id: u32,
        sequence_number: u32,
        share: Share<'_>,
        arrived: Instant,
    ) -> Result<(), End> {
        let metrics = &self.shared.metrics;
        match self.group.validate(channel_id, &share, sequence_number, unix_now()) {
            Ok(accepted) => {
                self.invalid.count(true, self.shared.config.max_invalid_shares_per_minute);
                let channel = self.group.get(channel_id).ok_or(End::Protocol("channel vanished".into()))?;
                if channel.shares_on_tip() > MAX_SHARES_PER_TIP {
                    return Err(End::Protocol(format!(
                        "channel {channel_id}: over {MAX_SHARES_PER_TIP} shares on one tip"
                    )));
                }
                let record = ShareRecord {
                    run: 0,
                    time_ms: now_ms(),
                    identity: channel.user_identity().to_string(),
                    connection: self.id,
                    channel_id,
                    sequence_number,
                    job_id: share.job_id,
                    nonce: share.nonce,
                    ntime: share.ntime,
                    version: share.version,
                    extranonce: share.extranonce.to_vec(),
                    difficulty: accepted.credit,
                    error: None,
                    hash: Some(accepted.hash),
                };
                metrics.accepted(&record.identity, record.difficulty);
                if let Some(block) = accepted.block {
                    metrics.blocks_found.fetch_add(1, Ordering::Relaxed);
                    let hash = block.hash();
                    tracing::info!("block {} found by {}", crate::tp::source::display_hash(&hash), record.identity);
                    let (template_id, merkle_path_len) = (block.template_id, block.merkle_path.len() as u32);
                    if self.shared.solutions.send(block).await.is_err() {
                        tracing::error!("block found while the pool is stopping: not submitted");
                    }
                    let found = BlockRecord {
                        time_ms: record.time_ms,
                        identity: record.identity.clone(),
                        hash,
                        template_id,
                        merkle_path_len,
                        accepted: false,
                    };
                    self.shared.store.record_block(found).await.map_err(End::Protocol)?;
                }
                self.pending.push(record);
                self.arrivals.push(arrived);
                self.start_commit().await
            }
            Err(e) => {
                metrics.rejected(e);
                // Counted per worker and code, written with the next commit: a flood of bad
                // shares costs no database row each. Shares for no channel count only here.
                if let Some(c) = self.group.get(channel_id) {
                    *self.rejected.entry((c.user_identity().to_string(), e.code())).or_default() += 1;
                }
                let answer = SubmitSharesError { channel_id, sequence_number, error_code: text(e.code()) };
                self.queue(conn, &answer.into())?;
                metrics.share_answer_us_sum.fetch_add(arrived.elapsed().as_micros() as u64, Ordering::Relaxed);
                metrics.share_answer_count.fetch_add(1, Ordering::Relaxed);
                if self.invalid.count(false, self.shared.config.max_invalid_shares_per_minute) {
                    metrics.connections_closed_invalid.fetch_add(1, Ordering::Relaxed);
                    return Err(End::Protocol(format!("{} invalid shares within a minute", self.invalid.invalid)));
                }
                Ok(())
            }
        }
    }
}

/// Sleeps until `at`, or forever when it is None.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
