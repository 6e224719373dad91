//! The JD port: bounded connections, the pool's Noise handshake, and one task per connection
//! driving its [`JobDeclarator`]. A declaration's block check runs on a task of its own and
//! comes back through a channel, so neither the connection nor the Mining side ever waits for
//! the node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sv2::codec::CodecError;
use sv2::jd::server::{Event, JdsConfig, JobDeclarator};
use sv2::jd::store::TokenStore;
use sv2::jd::{Ctx, Token};
use sv2::noise::{random_bytes, ServerCredentials};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::mempool::SharedMempool;
use super::node::Node;
use super::{proposal, BlockSink, JdServerConfig, JdsStats};
use crate::net::{stopped, AcceptCounters, Connection, ConnectionEnd as End, Limits, NetError};
use crate::pool::templates::Published;

/// What every JD connection shares.
pub(super) struct Shared {
    pub config: JdServerConfig,
    pub core: JdsConfig,
    pub credentials: ServerCredentials,
    pub limits: Limits,
    pub tokens: Arc<Mutex<TokenStore>>,
    pub mempool: SharedMempool,
    pub jobs: watch::Receiver<Arc<Published>>,
    pub node: Arc<Node>,
    pub stats: Arc<JdsStats>,
    /// Origin of the token store's clock (the Mining connections use the same).
    pub started: Instant,
}

/// Verdict code when the node cannot be asked (the JDC falls back, as for any refusal).
const NODE_UNAVAILABLE: &str = "node-unavailable";
/// Verdict code when the pool has no tip yet, or the job is for another tip than the pool's.
const STALE_TIP: &str = sv2::jd::codes::STALE_CHAIN_TIP;

/// Accepts JDCs until `shutdown`, then waits for their tasks.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let (total, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    let counters = AcceptCounters { total: &total, refused: &refused };
    let for_tasks = shutdown.clone();
    crate::net::accept_loop(listener, shared.config.max_connections, shutdown, counters, |stream, _, id| {
        handle(stream, id, shared.clone(), for_tasks.clone())
    })
    .await;
}

async fn handle(stream: TcpStream, id: u64, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let conn = match Connection::accept(stream, &shared.credentials, shared.limits).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("jd connection {id}: handshake: {e}");
            return;
        }
    };
    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    let peer = conn.peer();
    let jd = {
        let mut tokens = shared.tokens.lock().unwrap_or_else(|e| e.into_inner());
        JobDeclarator::new(shared.core.clone(), &mut tokens)
    };
    let mut session = Session { jd, shared: &shared };
    let result = session.run(conn, shutdown).await;
    session.jd.close(&mut shared.tokens.lock().unwrap_or_else(|e| e.into_inner()));
    match result {
        Ok(()) | Err(End::Net(NetError::Closed)) => tracing::debug!("jd connection {id} ({peer}) closed"),
        Err(e) => {
            shared.stats.connections_closed_error.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("jd connection {id} ({peer}): {e}");
        }
    }
}

/// A node's answer about one declaration.
type Verdict = (u32, Result<(), String>);

struct Session<'s> {
    jd: JobDeclarator,
    shared: &'s Shared,
}

impl Session<'_> {
    fn ctx(&self) -> Result<Ctx, End> {
        let random = random_bytes().map_err(|e| End::Protocol(format!("entropy: {e}")))?;
        let mut entropy: Token = [0; sv2::jd::TOKEN_LEN];
        entropy.copy_from_slice(&random[..sv2::jd::TOKEN_LEN]);
        Ok(Ctx { now: self.shared.started.elapsed().as_secs(), entropy })
    }

    async fn run(&mut self, mut conn: Connection, mut shutdown: watch::Receiver<bool>) -> Result<(), End> {
        let config = &self.shared.config;
        // At most max_pending_declarations checks run for a connection, each sends once.
        let (verdict_tx, mut verdicts) = mpsc::channel::<Verdict>(self.shared.core.max_pending_declarations.max(1));
        let mut deadline = tokio::time::Instant::now() + config.setup_timeout;
        loop {
            tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => return Ok(()),
                Some((request_id, verdict)) = verdicts.recv() => {
                    let ctx = self.ctx()?;
                    let event = {
                        let mut tokens = self.shared.tokens.lock().unwrap_or_else(|e| e.into_inner());
                        self.jd.on_verdict(request_id, verdict.as_ref().map_err(String::as_str).copied(), &mut tokens, ctx, &mut conn)?
                    };
                    self.on_event(event, &verdict_tx);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let what = if self.jd.is_set_up() { "idle" } else { "no SetupConnection" };
                    return Err(End::Protocol(format!("{what} for {:?}", if self.jd.is_set_up() { config.idle_timeout } else { config.setup_timeout })));
                }
                frame = conn.read_frame() => {
                    let frame = frame?;
                    let msg = match frame.message() {
                        Ok((msg, _)) => msg,
                        // Messages of extensions the JDS does not know are dropped.
                        Err(CodecError::UnknownMessage { .. }) if self.jd.is_set_up() => continue,
                        Err(e) => return Err(End::Protocol(format!("bad message: {e}"))),
                    };
                    let ctx = self.ctx()?;
                    let result = {
                        let mut tokens = self.shared.tokens.lock().unwrap_or_else(|e| e.into_inner());
                        let mempool = self.shared.mempool.read().unwrap_or_else(|e| e.into_inner());
                        self.jd.on_message(&msg, &mut tokens, &*mempool, ctx, &mut conn)
                    };
                    if result.is_err() {
                        // A refusal's Error goes out before the connection closes.
                        let _ = conn.flush().await;
                    }
                    self.on_event(result?, &verdict_tx);
                    deadline = tokio::time::Instant::now() + config.idle_timeout;
                }
            }
            conn.flush().await?;
        }
    }

    fn on_event(&mut self, event: Event, verdicts: &mpsc::Sender<Verdict>) {
        let stats = &self.shared.stats;
        match event {
            Event::TokenAllocated { .. } => {
                stats.tokens_allocated.fetch_add(1, Ordering::Relaxed);
            }
            Event::MissingTransactionsRequested { .. } => {
                stats.missing_requests.fetch_add(1, Ordering::Relaxed);
            }
            Event::ValidateJob { request_id, job } => {
                let tip = self.shared.jobs.borrow().jobs.tip.clone();
                let node = self.shared.node.clone();
                let verdicts = verdicts.clone();
                tokio::spawn(async move {
                    // A job for another height than the pool's next block is a chain-tip race
                    // (the JDC's node is ahead of the pool's or behind it), not a bad job.
                    let tip = tip.filter(|t| !proposal::other_height(&job, &t.job.coinbase));
                    let verdict = match tip.and_then(|tip| proposal::block(&job, &tip.prev, crate::keygen::unix_now()))
                    {
                        None => Err(STALE_TIP.to_string()),
                        Some(block) => match node.check(block.serialize()).await {
                            Ok(v) => v.map_err(proposal::refusal_code),
                            Err(e) => {
                                tracing::warn!("declared job {request_id}: the node could not check it: {e}");
                                Err(NODE_UNAVAILABLE.to_string())
                            }
                        },
                    };
                    // The connection may be gone: then nobody waits for the verdict.
                    let _ = verdicts.send((request_id, verdict)).await;
                });
            }
            Event::JobDeclared { .. } => {
                stats.jobs_declared.fetch_add(1, Ordering::Relaxed);
            }
            Event::JobRefused { request_id, code } => {
                stats.jobs_refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("declaration {request_id} refused: {code}");
            }
            Event::BlockFound(block) => {
                BlockSink { node: self.shared.node.clone(), stats: self.shared.stats.clone() }
                    .submit(*block, "PushSolution");
            }
            Event::SolutionIgnored(why) => tracing::debug!("PushSolution ignored: {why}"),
            _ => {}
        }
    }
}
