//! The pool's Mining Protocol server: one task per miner connection, with the connection's
//! channels kept as one [`GroupChannel`].

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::server::{FoundBlock, Share};
use sv2::codec::{CodecError, Encode};
use sv2::endpoint::server::{EndpointError, Event, Now, ServerConfig, ServerEndpoint, WorkSelection};
use sv2::endpoint::Outbox;
use sv2::messages::SubmitSharesSuccess;
use sv2::noise::ServerCredentials;
use sv2::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::jds::BlockSink;
use super::metrics::Metrics;
use super::store::{BlockRecord, Rejections, ShareRecord, StoreWriter};
use super::templates::Published;
use super::PoolConfig;
use crate::net::{
    frame_wire_len as wire_len, sleep_until_some, stopped, AcceptCounters, Connection, ConnectionEnd as End, NetError,
};

/// Everything the connection tasks share.
pub(super) struct Shared {
    pub config: Arc<PoolConfig>,
    pub credentials: ServerCredentials,
    pub jobs: watch::Receiver<Arc<Published>>,
    pub allocator: Arc<Mutex<ExtranonceAllocator>>,
    pub solutions: mpsc::Sender<FoundBlock>,
    pub store: StoreWriter,
    pub metrics: Arc<Metrics>,
    /// Origin of the monotonic seconds vardiff and the JDS's tokens are run on.
    pub started: Instant,
    /// The JDS's token store and the pool's outputs, when the JDS runs.
    pub work: Option<WorkSelection>,
    /// Where blocks found on declared jobs go, when the JDS runs.
    pub jd_blocks: Option<BlockSink>,
}

/// Accepts miners until `shutdown`, then waits for their tasks to finish.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let m = &shared.metrics;
    let counters = AcceptCounters { total: &m.connections_total, refused: &m.connections_refused };
    let for_tasks = shutdown.clone();
    crate::net::accept_loop(listener, shared.config.max_connections, shutdown, counters, |stream, _, id| {
        handle(stream, id, shared.clone(), for_tasks.clone())
    })
    .await;
}

async fn handle(stream: TcpStream, id: u64, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
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
    // Dropping the endpoint gives its channels' prefixes back.
    shared.metrics.channels_open.fetch_sub(session.endpoint.channel_count() as u64, Ordering::Relaxed);
    match result {
        Ok(()) | Err(End::Net(NetError::Closed)) => tracing::debug!("connection {id} ({peer}) closed"),
        Err(e) => {
            if !session.endpoint.is_set_up() {
                shared.metrics.connections_failed.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!("connection {id} ({peer}): {e}");
        }
    }
}

/// What a connection wakes up for besides its socket.
enum Wake {
    Jobs(Arc<Published>),
    Stop,
}

/// The next new job state or the pool stopping. Kept alive across a connection's loop
/// (owning its receivers) rather than made anew on every wake-up: each new wait registers
/// with a watch channel that all connections share.
async fn next_wake(
    mut jobs: watch::Receiver<Arc<Published>>,
    mut shutdown: watch::Receiver<bool>,
) -> (Wake, watch::Receiver<Arc<Published>>, watch::Receiver<bool>) {
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

/// Accepted shares on their way to the database, and the answers that wait for the commit.
struct Inflight {
    ack: oneshot::Receiver<Result<(), String>>,
    successes: Vec<SubmitSharesSuccess>,
    arrivals: Vec<Instant>,
}

/// The connection as the endpoint's outbox: every message counted in the metrics and queued
/// (written by the next flush).
struct Out<'c> {
    conn: &'c mut Connection,
    metrics: &'c Metrics,
}

impl Outbox for Out<'_> {
    type Error = NetError;
    fn push(&mut self, msg: &Message<'_>) -> Result<(), NetError> {
        self.metrics.bytes_out.fetch_add(wire_len(msg.encoded_len()), Ordering::Relaxed);
        self.conn.queue(msg)
    }
}

struct Session<'s> {
    id: u64,
    shared: &'s Shared,
    endpoint: ServerEndpoint<Arc<Mutex<ExtranonceAllocator>>>,
    pending: Vec<ShareRecord>,
    arrivals: Vec<Instant>,
    /// Rejected shares not yet in the database, by (identity, code).
    rejected: BTreeMap<(String, &'static str), u64>,
    inflight: Option<Inflight>,
    /// Since when the connection has had no channel (it must open one within the setup
    /// timeout, also after closing its last).
    idle_since: Option<tokio::time::Instant>,
}

/// Seconds between vardiff checks of a connection's channels.
const VARDIFF_TICK: Duration = Duration::from_secs(5);
/// Accepted shares a connection may have waiting for the database; past this its socket is
/// not read until a commit is answered.
const MAX_PENDING_SHARES: usize = 1024;
/// Shares one channel may have accepted on one tip (the duplicate set): vardiff keeps an
/// honest channel far below this, so a channel that reaches it is closed with its connection.
const MAX_SHARES_PER_TIP: usize = 1 << 16;

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// What the pool's configuration asks of every connection's endpoint.
fn endpoint_config(config: &PoolConfig) -> ServerConfig {
    ServerConfig {
        version_rolling: config.version_rolling,
        extended_channels_only: config.extended_channels_only,
        max_channels: config.max_channels_per_connection,
        shares_per_minute: config.shares_per_minute,
        vardiff_window_secs: config.vardiff_window_secs,
        default_hashrate: config.default_hashrate,
        min_difficulty: config.min_difficulty,
        max_invalid_shares_per_minute: config.max_invalid_shares_per_minute,
        max_shares_per_tip: MAX_SHARES_PER_TIP,
        // Turned on with the JDS's token store (`with_work_selection`).
        work_selection: false,
    }
}

impl<'s> Session<'s> {
    fn new(id: u64, shared: &'s Shared) -> Self {
        Session {
            id,
            shared,
            endpoint: {
                let e = ServerEndpoint::new(endpoint_config(&shared.config), shared.allocator.clone());
                match &shared.work {
                    Some(w) => e.with_work_selection(w.clone()),
                    None => e,
                }
            },
            pending: Vec::new(),
            arrivals: Vec::new(),
            rejected: BTreeMap::new(),
            inflight: None,
            idle_since: None,
        }
    }

    fn now(&self) -> Now {
        Now { mono_secs: self.shared.started.elapsed().as_secs(), unix_secs: crate::keygen::unix_now() }
    }

    fn out<'c>(&'c self, conn: &'c mut Connection) -> Out<'c> {
        Out { conn, metrics: &self.shared.metrics }
    }

    async fn run(&mut self, mut conn: Connection, shutdown: watch::Receiver<bool>) -> Result<(), End> {
        let config = &self.shared.config;
        let deadline = tokio::time::Instant::now() + config.setup_timeout;
        let frame = tokio::time::timeout_at(deadline, conn.read_frame())
            .await
            .map_err(|_| End::Protocol("no SetupConnection in time".into()))??;
        self.shared.metrics.bytes_in.fetch_add(wire_len(frame.payload.len()), Ordering::Relaxed);
        let setup = frame.message().map_err(|e| End::Protocol(format!("bad first message: {e}")))?.0;
        let state = self.shared.jobs.borrow().clone();
        let now = self.now();
        let result = self.endpoint.on_message(
            &setup,
            &state.jobs,
            now,
            &mut Out { conn: &mut conn, metrics: &self.shared.metrics },
        );
        // A refusal's Error goes out before the connection closes.
        let _ = conn.flush().await;
        result?;
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
                    if self.sync(&mut conn, &state)? {
                        conn.flush().await?;
                        tracing::debug!(target: crate::tp::TIP_TRACE, stage = "pool.sent", connection = self.id);
                    }
                    wake.set(next_wake(jobs, shutdown));
                }
                ack = async { self.inflight.as_mut().map(|i| &mut i.ack).expect("guarded").await }, if self.inflight.is_some() => {
                    self.acknowledge(&mut conn, ack)?;
                    self.start_commit().await?;
                }
                _ = vardiff.tick() => {
                    let now = self.now();
                    let mut out = Out { conn: &mut conn, metrics: &self.shared.metrics };
                    self.endpoint.retarget(now, &mut out)?;
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
                        Ok((msg, _)) => self.on_message(&mut conn, &msg, arrived).await?,
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
        let mut out = self.out(conn);
        for s in &inflight.successes {
            out.push(&(*s).into())?;
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
        let successes = self.endpoint.take_successes();
        let rejections = self.take_rejections();
        let ack = self.shared.store.commit(records, rejections).await.map_err(End::Protocol)?;
        self.inflight = Some(Inflight { ack, successes, arrivals });
        Ok(())
    }

    /// Brings every channel up to the pool's current jobs; true when a new tip was queued. A job
    /// a channel cannot take is logged and skipped: the same job reaches every connection, so
    /// failing the connection for it would close them all.
    fn sync(&mut self, conn: &mut Connection, state: &Published) -> Result<bool, End> {
        let mut out = Out { conn, metrics: &self.shared.metrics };
        let synced = self.endpoint.sync(&state.jobs, &mut out)?;
        for s in synced.skipped {
            tracing::warn!("connection {}: job {}: {}", self.id, s.job_id, s.error);
        }
        if let (Some(at), true) = (state.tip_at, synced.tip_sent) {
            self.shared.metrics.tip_to_job(at.elapsed());
        }
        Ok(synced.tip_sent)
    }

    async fn on_message(&mut self, conn: &mut Connection, msg: &Message<'_>, arrived: Instant) -> Result<(), End> {
        let state = self.shared.jobs.borrow().clone();
        let now = self.now();
        let metrics = &self.shared.metrics;
        let result = self.endpoint.on_message(msg, &state.jobs, now, &mut Out { conn, metrics });
        let event = match result {
            Err(EndpointError::InvalidShareFlood(n)) => {
                metrics.connections_closed_invalid.fetch_add(1, Ordering::Relaxed);
                return Err(End::Protocol(format!("{n} invalid shares within a minute")));
            }
            other => other?,
        };
        match event {
            Event::ChannelOpened { channel_id } => {
                self.idle_since = None;
                metrics.channels_open.fetch_add(1, Ordering::Relaxed);
                if let Some(c) = self.endpoint.channel(channel_id) {
                    tracing::debug!(
                        "connection {}: channel {channel_id} ({:?}) for {}",
                        self.id,
                        c.kind(),
                        c.user_identity()
                    );
                }
            }
            Event::ChannelsClosed { count } => {
                metrics.channels_open.fetch_sub(count as u64, Ordering::Relaxed);
                if self.endpoint.channel_count() == 0 {
                    self.idle_since = Some(tokio::time::Instant::now());
                }
            }
            Event::CustomJobAccepted { channel_id, job_id } => {
                tracing::debug!("connection {}: custom job {job_id} on channel {channel_id}", self.id);
            }
            Event::CustomJobRefused { channel_id, code } => {
                tracing::debug!("connection {}: custom job refused on channel {channel_id}: {code}", self.id);
            }
            Event::ShareAccepted { channel_id, sequence_number, accepted } => {
                let Some((_, _, share)) = Share::from_submit(msg) else { return Ok(()) };
                self.on_accepted(channel_id, sequence_number, &share, *accepted, arrived).await?;
            }
            Event::ShareRejected { channel_id, error } => {
                metrics.rejected(error);
                // Counted per worker and code, written with the next commit: a flood of bad
                // shares costs no database row each. Shares for no channel count only here.
                if let Some(c) = self.endpoint.channel(channel_id) {
                    *self.rejected.entry((c.user_identity().to_string(), error.code())).or_default() += 1;
                }
                metrics.share_answer_us_sum.fetch_add(arrived.elapsed().as_micros() as u64, Ordering::Relaxed);
                metrics.share_answer_count.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_accepted(
        &mut self,
        channel_id: u32,
        sequence_number: u32,
        share: &Share<'_>,
        accepted: sv2::channels::server::AcceptedShare,
        arrived: Instant,
    ) -> Result<(), End> {
        let metrics = &self.shared.metrics;
        let identity = self.endpoint.channel(channel_id).map(|c| c.user_identity().to_string()).unwrap_or_default();
        let record = ShareRecord {
            run: 0,
            time_ms: now_ms(),
            identity,
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
            match self.endpoint.custom_job(share.job_id) {
                // A declared job's block: its transactions are the JDS's, not a template's.
                Some(custom) => match (custom.block(&block), &self.shared.jd_blocks) {
                    (Some(b), Some(sink)) => sink.submit(b, "a share on a declared job"),
                    _ => tracing::info!(
                        "block {} on a coinbase-only custom job: its JDC submits it",
                        crate::tp::source::display_hash(&hash)
                    ),
                },
                None => {
                    if self.shared.solutions.send(block).await.is_err() {
                        tracing::error!("block found while the pool is stopping: not submitted");
                    }
                }
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
}
