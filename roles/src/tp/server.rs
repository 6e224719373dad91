//! The Template Distribution server: Noise responder, one task per client, templates from the
//! manager fitted to each client's CoinbaseOutputConstraints, transaction data, and
//! solutions handed to the node.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sv2::codec::{Bytes, Seq, B0_16M};
use sv2::messages::{
    CoinbaseOutputConstraints, Protocol, RequestExtensions, RequestExtensionsError, RequestTransactionData,
    RequestTransactionDataError, RequestTransactionDataSuccess, SetupConnection, SetupConnectionError,
    SetupConnectionSuccess, SubmitSolution,
};
use sv2::noise::ServerCredentials;
use sv2::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::solution::{self, NotABlock};
use super::source::{display_hash, BlockVerdict, SolutionOutcome, SolutionReport, TemplateSource};
use super::store::{Lookup, Published, TemplateStore};
use super::template::{Constraints, ServedTemplate, WITNESS_RESERVED_VALUE};
use crate::net::{Connection, Limits, NetError};

/// The Stratum V2 protocol version the server speaks.
const PROTOCOL_VERSION: u16 = 2;

/// What every client task shares.
pub struct Shared<S> {
    /// The node.
    pub source: Arc<S>,
    /// Templates handed out.
    pub store: Mutex<TemplateStore>,
    /// Static key and certificate.
    pub credentials: ServerCredentials,
    /// Deadlines.
    pub limits: Limits,
    /// Connection cap.
    pub max_clients: usize,
    /// Every SubmitSolution's outcome, for whoever listens.
    pub solutions: broadcast::Sender<SolutionReport>,
    /// SubmitSolutions whose header hash missed the target (turned away without a block).
    pub above_target: Arc<AtomicU64>,
    clients: AtomicUsize,
    next_client: AtomicU64,
}

impl<S> Shared<S> {
    /// Shared state for a server whose template ids start at `first_id`.
    pub fn new(
        source: Arc<S>,
        credentials: ServerCredentials,
        limits: Limits,
        max_clients: usize,
        first_id: u64,
    ) -> Self {
        Shared {
            source,
            store: Mutex::new(TemplateStore::new(first_id)),
            credentials,
            limits,
            max_clients,
            solutions: broadcast::channel(64).0,
            above_target: Arc::new(AtomicU64::new(0)),
            clients: AtomicUsize::new(0),
            next_client: AtomicU64::new(1),
        }
    }
}

/// Unpins a client's templates when its task ends, however it ends.
struct Pins<'a, S> {
    shared: &'a Shared<S>,
    client: u64,
}

impl<S> Drop for Pins<'_, S> {
    fn drop(&mut self) {
        if let Ok(mut store) = self.shared.store.lock() {
            store.release(self.client);
        }
    }
}

/// Decrements the client count when a client task ends, however it ends.
struct ClientSlot<'a>(&'a AtomicUsize);

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts clients until `shutdown` turns true, then waits for their tasks to end.
pub async fn accept_loop<S: TemplateSource>(
    listener: TcpListener,
    shared: Arc<Shared<S>>,
    published: watch::Receiver<Published>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    if shared.clients.fetch_add(1, Ordering::Relaxed) >= shared.max_clients {
                        shared.clients.fetch_sub(1, Ordering::Relaxed);
                        tracing::warn!("refusing {peer}: already serving {} clients (max_clients)", shared.max_clients);
                        continue;
                    }
                    let id = shared.next_client.fetch_add(1, Ordering::Relaxed);
                    let (shared, published, mut stop) = (shared.clone(), published.clone(), shutdown.clone());
                    tasks.spawn(async move {
                        let _slot = ClientSlot(&shared.clients);
                        tokio::select! {
                            _ = stop.changed() => {}
                            _ = client(stream, peer, id, &shared, published) => {}
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn client<S: TemplateSource>(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    shared: &Shared<S>,
    published: watch::Receiver<Published>,
) {
    let _pins = Pins { shared, client: id };
    let conn = match Connection::accept(stream, &shared.credentials, shared.limits).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("client #{id} {peer}: handshake failed: {e}");
            return;
        }
    };
    let mut session = Session { id, peer, conn, shared, constraints: None, prev: [0; 32], current: None };
    match session.run(published).await {
        Ok(()) | Err(Ended::Net(NetError::Closed)) => tracing::info!("client #{id} {peer}: disconnected"),
        Err(e) => tracing::warn!("client #{id} {peer}: closing the connection: {e}"),
    }
}

/// Why a session ended.
enum Ended {
    Net(NetError),
    Protocol(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Net(e) => write!(f, "{e}"),
            Ended::Protocol(e) => f.write_str(e),
        }
    }
}

impl From<NetError> for Ended {
    fn from(e: NetError) -> Self {
        Ended::Net(e)
    }
}

struct Session<'a, S> {
    id: u64,
    peer: SocketAddr,
    conn: Connection,
    shared: &'a Shared<S>,
    constraints: Option<Constraints>,
    /// The tip of the last SetNewPrevHash sent.
    prev: [u8; 32],
    current: Option<Arc<ServedTemplate>>,
}

impl<S: TemplateSource> Session<'_, S> {
    async fn run(&mut self, mut published: watch::Receiver<Published>) -> Result<(), Ended> {
        let limit = self.shared.limits.handshake;
        timeout(limit, self.setup()).await.map_err(|_| {
            Ended::Protocol(format!("no SetupConnection and CoinbaseOutputConstraints within {limit:?}"))
        })??;
        let p = published.borrow_and_update().clone();
        self.send_template(&p).await?;
        loop {
            tokio::select! {
                r = published.changed() => {
                    if r.is_err() {
                        return Ok(());
                    }
                    let p = published.borrow_and_update().clone();
                    self.send_template(&p).await?;
                }
                f = self.conn.read_frame() => {
                    let frame = f?;
                    let msg = frame.message().map_err(|e| Ended::Protocol(format!("malformed message: {e}")))?.0;
                    self.handle(msg, &published).await?;
                }
            }
        }
    }

    /// SetupConnection, then CoinbaseOutputConstraints: the two messages a client must send
    /// before it gets templates. RequestExtensions may come between them (where the spec puts
    /// it) and is answered.
    async fn setup(&mut self) -> Result<(), Ended> {
        let frame = self.conn.read_frame().await?;
        let msg = frame.message().map_err(|e| Ended::Protocol(format!("malformed message: {e}")))?.0;
        let Message::SetupConnection(s) = msg else {
            return Err(Ended::Protocol(format!("expected SetupConnection, got {}", msg.name())));
        };
        self.accept_setup(&s).await?;
        // The whole setup runs under the handshake deadline, so this loop is bounded in time.
        loop {
            let frame = self.conn.read_frame().await?;
            let msg = frame.message().map_err(|e| Ended::Protocol(format!("malformed message: {e}")))?.0;
            match msg {
                Message::RequestExtensions(r) => self.refuse_extensions(r).await?,
                Message::CoinbaseOutputConstraints(c) => {
                    self.set_constraints(c);
                    return Ok(());
                }
                other => {
                    return Err(Ended::Protocol(format!("expected CoinbaseOutputConstraints, got {}", other.name())))
                }
            }
        }
    }

    /// The TP supports no extension: every one requested is named as unsupported, none is
    /// required (as the pool answers), and the connection goes on.
    async fn refuse_extensions(&mut self, r: RequestExtensions<'_>) -> Result<(), Ended> {
        tracing::debug!(
            "client #{}: RequestExtensions for {} extensions: none supported",
            self.id,
            r.requested_extensions.len()
        );
        let reply = RequestExtensionsError {
            request_id: r.request_id,
            unsupported_extensions: r.requested_extensions,
            required_extensions: Seq::EMPTY,
        };
        Ok(self.conn.send(&Message::RequestExtensionsError(reply)).await?)
    }

    async fn accept_setup(&mut self, s: &SetupConnection<'_>) -> Result<(), Ended> {
        let refuse = if Protocol::from_setup_value(s.protocol) != Some(Protocol::TemplateDistribution) {
            Some("unsupported-protocol")
        } else if !(s.min_version..=s.max_version).contains(&PROTOCOL_VERSION) {
            Some("protocol-version-mismatch")
        } else {
            None
        };
        if let Some(code) = refuse {
            let error_code = Bytes::from_str(code).unwrap_or(Bytes::EMPTY);
            self.conn.send(&Message::SetupConnectionError(SetupConnectionError { flags: 0, error_code })).await?;
            return Err(Ended::Protocol(format!(
                "SetupConnection refused ({code}): protocol {}, versions {}..={}",
                s.protocol, s.min_version, s.max_version
            )));
        }
        self.conn
            .send(&Message::SetupConnectionSuccess(SetupConnectionSuccess { used_version: PROTOCOL_VERSION, flags: 0 }))
            .await?;
        tracing::info!(
            "client #{} {}: Template Distribution set up (vendor {:?}, firmware {:?})",
            self.id,
            self.peer,
            String::from_utf8_lossy(s.vendor.as_bytes()),
            String::from_utf8_lossy(s.firmware.as_bytes())
        );
        Ok(())
    }

    fn set_constraints(&mut self, c: CoinbaseOutputConstraints) {
        let c = Constraints {
            max_additional_size: c.coinbase_output_max_additional_size,
            max_additional_sigops: c.coinbase_output_max_additional_sigops,
        };
        tracing::info!(
            "client #{} {}: coinbase outputs up to {} bytes, {} sigops",
            self.id,
            self.peer,
            c.max_additional_size,
            c.max_additional_sigops
        );
        self.constraints = Some(c);
    }

    /// Sends what the client lacks of publication `p`: a future template and SetNewPrevHash on
    /// a new tip, otherwise a template minable at once if its transactions differ.
    async fn send_template(&mut self, p: &Published) -> Result<(), Ended> {
        let c = self.constraints.ok_or_else(|| Ended::Protocol("no constraints".into()))?;
        let n = p.template.fitting_prefix(c).map_err(|e| Ended::Protocol(e.to_string()))?;
        let new_tip = p.template.prev_hash != self.prev;
        if !new_tip {
            let unchanged = self.current.as_ref().is_some_and(|cur| {
                cur.tx_count == n && cur.txs().iter().map(|t| t.txid).eq(p.template.txs[..n].iter().map(|t| t.txid))
            });
            if unchanged {
                return Ok(());
            }
        }
        let after = self.current.as_ref().map_or(0, |t| t.id);
        let t = self
            .shared
            .store
            .lock()
            .map_err(|_| Ended::Protocol("template store poisoned".into()))?
            .get_or_build(self.id, p, n, after);
        self.conn.queue(&Message::NewTemplate(t.new_template(new_tip)))?;
        if new_tip {
            self.conn.queue(&Message::SetNewPrevHashTdp(t.set_new_prev_hash()))?;
        }
        self.conn.flush().await?;
        if new_tip {
            tracing::debug!(target: super::TIP_TRACE, stage = "tp.sent", client = self.id);
        }
        tracing::debug!(
            "client #{}: template {} ({}, {} transactions, {} sat)",
            self.id,
            t.id,
            if new_tip { "future + SetNewPrevHash" } else { "minable now" },
            n,
            t.coinbase_value
        );
        self.prev = p.template.prev_hash;
        self.current = Some(t);
        Ok(())
    }

    async fn handle(&mut self, msg: Message<'_>, published: &watch::Receiver<Published>) -> Result<(), Ended> {
        match msg {
            Message::CoinbaseOutputConstraints(c) => {
                self.set_constraints(c);
                let p = published.borrow().clone();
                self.send_template(&p).await
            }
            Message::RequestTransactionData(r) => self.transaction_data(r, published).await,
            Message::RequestExtensions(r) => self.refuse_extensions(r).await,
            Message::SubmitSolution(s) => {
                self.solution(&s, published).await;
                Ok(())
            }
            other => Err(Ended::Protocol(format!("unexpected {} on a Template Distribution connection", other.name()))),
        }
    }

    fn lookup(&self, id: u64, published: &watch::Receiver<Published>) -> Lookup {
        let tip = published.borrow().template.prev_hash;
        match self.shared.store.lock() {
            Ok(store) => store.lookup(id, &tip),
            Err(_) => Lookup::NotFound,
        }
    }

    async fn transaction_data(
        &mut self,
        r: RequestTransactionData,
        published: &watch::Receiver<Published>,
    ) -> Result<(), Ended> {
        let refuse = |code: &'static str| {
            Message::RequestTransactionDataError(RequestTransactionDataError {
                template_id: r.template_id,
                error_code: Bytes::from_str(code).unwrap_or(Bytes::EMPTY),
            })
        };
        match self.lookup(r.template_id, published) {
            Lookup::Current(t) => {
                let list: Vec<B0_16M<'_>> = t.txs().iter().filter_map(|x| Bytes::new(&x.data).ok()).collect();
                let transaction_list =
                    Seq::new(&list).map_err(|e| Ended::Protocol(format!("template too large: {e}")))?;
                let reply = RequestTransactionDataSuccess {
                    template_id: r.template_id,
                    excess_data: Bytes::new(&WITNESS_RESERVED_VALUE).unwrap_or(Bytes::EMPTY),
                    transaction_list,
                };
                self.conn.send(&Message::RequestTransactionDataSuccess(reply)).await?;
            }
            Lookup::Stale(_) => self.conn.send(&refuse("stale-template-id")).await?,
            Lookup::NotFound => self.conn.send(&refuse("template-id-not-found")).await?,
        }
        Ok(())
    }

    /// Builds the block and hands it to the node; the outcome goes to the log and to
    /// [`Shared::solutions`] (the protocol has no reply to SubmitSolution).
    async fn solution(&mut self, s: &SubmitSolution<'_>, published: &watch::Receiver<Published>) {
        let (block_hash, outcome) = self.submit(s, published).await;
        let _ = self.shared.solutions.send(SolutionReport { template_id: s.template_id, block_hash, outcome });
    }

    async fn submit(
        &mut self,
        s: &SubmitSolution<'_>,
        published: &watch::Receiver<Published>,
    ) -> (Option<[u8; 32]>, SolutionOutcome) {
        let (t, stale) = match self.lookup(s.template_id, published) {
            Lookup::Current(t) => (t, false),
            Lookup::Stale(t) => (t, true),
            Lookup::NotFound => {
                tracing::warn!(
                    "client #{} {}: SubmitSolution for unknown template {}: ignored",
                    self.id,
                    self.peer,
                    s.template_id
                );
                return (None, SolutionOutcome::UnknownTemplate);
            }
        };
        let block = match solution::assemble(&t, s) {
            Ok(b) => b,
            Err(NotABlock::BadCoinbase(e)) => {
                tracing::warn!("client #{} {}: bad SubmitSolution for template {}: {e}", self.id, self.peer, t.id);
                return (None, SolutionOutcome::BadCoinbase(e));
            }
            Err(NotABlock::AboveTarget(hash)) => {
                self.shared.above_target.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "client #{} {}: SubmitSolution for template {}: header hash {} is above the target: ignored",
                    self.id,
                    self.peer,
                    t.id,
                    display_hash(&hash)
                );
                return (None, SolutionOutcome::AboveTarget);
            }
        };
        let hash = display_hash(&block.hash);
        let height = t.base.height;
        let what = if stale { "stale template" } else { "template" };
        tracing::info!("client #{}: solution for {what} {}: block {hash} at height {height}", self.id, t.id);
        let outcome = match self.shared.source.submit_block(block.bytes).await {
            Ok(v) => {
                if v == BlockVerdict::NewTip {
                    tracing::info!("block {hash} at height {height}: node verdict: {v}");
                } else {
                    tracing::warn!("block {hash} at height {height}: node verdict: {v}");
                }
                SolutionOutcome::Node(v)
            }
            Err(e) => {
                tracing::error!("block {hash} at height {height}: could not hand it to the node: {e}");
                SolutionOutcome::NodeError(e.to_string())
            }
        };
        (Some(block.hash), outcome)
    }
}
