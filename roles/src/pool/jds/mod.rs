//! The pool's Job Declaration Server: its own Noise port (the pool's authority key), one
//! [`JobDeclarator`](sv2::jd::server::JobDeclarator) per connection, one token store shared
//! with the pool's Mining connections (which then take SetCustomMiningJob), a mempool of the
//! pool's templates' transactions, declared jobs checked by the node as block proposals off
//! the connection's task, and blocks from PushSolution and from shares on declared jobs
//! submitted to the node.

mod listener;
pub mod mempool;
pub mod node;
pub mod proposal;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::jd::coinbase::PoolOutputs;
use sv2::jd::server::JdBlock;
use sv2::jd::server::JdsConfig;
use sv2::jd::store::TokenStore;
use sv2::noise::ServerCredentials;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::mempool::SharedMempool;
pub use self::node::JdNode;
use self::node::Node;
use super::templates::Published;
use crate::net::Limits;

/// The JDS's settings.
#[derive(Debug, Clone)]
pub struct JdServerConfig {
    /// Address JDCs connect to (Noise, the pool's authority key).
    pub listen: SocketAddr,
    /// The node that checks declared jobs and takes found blocks.
    pub node: JdNode,
    /// Seconds a token lives (allocated and declared alike).
    pub token_lifetime_secs: u64,
    /// Unspent allocated tokens one connection may hold (a further one revokes the oldest).
    pub max_tokens_per_connection: usize,
    /// Token requests one connection may make a minute; one more closes it.
    pub max_allocations_per_minute: u32,
    /// Live tokens of all connections together.
    pub max_tokens: usize,
    /// Unknown transactions one declaration may have.
    pub max_missing_txs: usize,
    /// Bytes the missing transactions of one declaration may add up to.
    pub max_missing_bytes: usize,
    /// JD connections at once; more are closed at accept.
    pub max_connections: usize,
    /// Time from TCP accept to SetupConnection.
    pub setup_timeout: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
}

impl JdServerConfig {
    /// A JDS on `listen` checking jobs with `node`, with the core's limits.
    pub fn new(listen: SocketAddr, node: JdNode) -> Self {
        let core = JdsConfig::new(PoolOutputs::single(&[]));
        JdServerConfig {
            listen,
            node,
            token_lifetime_secs: core.token_lifetime_secs,
            max_tokens_per_connection: core.max_tokens_per_connection,
            max_allocations_per_minute: core.max_allocations_per_minute,
            max_tokens: 100_000,
            max_missing_txs: core.max_missing_txs,
            max_missing_bytes: core.max_missing_bytes,
            max_connections: 64,
            setup_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(900),
        }
    }

    /// The core's per-connection configuration paying `payout_script`.
    fn core(&self, payout_script: &[u8]) -> JdsConfig {
        let mut c = JdsConfig::new(PoolOutputs::single(payout_script));
        c.token_lifetime_secs = self.token_lifetime_secs;
        c.max_tokens_per_connection = self.max_tokens_per_connection;
        c.max_allocations_per_minute = self.max_allocations_per_minute;
        c.max_missing_txs = self.max_missing_txs;
        c.max_missing_bytes = self.max_missing_bytes;
        c
    }

    /// The largest frame a JDC may send: a ProvideMissingTransactions.Success at the byte
    /// limit with room for its length prefixes, and never less than a DeclareMiningJob of
    /// 65 535 wtxids.
    fn max_payload(&self) -> usize {
        self.max_missing_bytes.saturating_add(1 << 20).max(3 << 20)
    }
}

/// What the JDS did, counted.
#[derive(Debug, Default)]
pub struct JdsStats {
    /// JD connections whose handshake finished.
    pub connections: AtomicU64,
    /// Tokens handed out.
    pub tokens_allocated: AtomicU64,
    /// ProvideMissingTransactions sent.
    pub missing_requests: AtomicU64,
    /// Declarations accepted.
    pub jobs_declared: AtomicU64,
    /// Declarations refused.
    pub jobs_refused: AtomicU64,
    /// Connections closed for a protocol error (garbage, floods, a message out of order).
    pub connections_closed_error: AtomicU64,
    /// Blocks handed to the node (PushSolution and shares on declared jobs).
    pub blocks_submitted: AtomicU64,
}

impl JdsStats {
    /// Appends the counters to a Prometheus page as `sv2_pool_jd_*`.
    pub fn render(&self, out: &mut String) {
        let counters = [
            ("jd_connections_total", "Job Declaration connections set up.", &self.connections),
            ("jd_tokens_allocated_total", "Mining job tokens handed out.", &self.tokens_allocated),
            ("jd_missing_requests_total", "ProvideMissingTransactions sent.", &self.missing_requests),
            ("jd_jobs_declared_total", "Declarations accepted.", &self.jobs_declared),
            ("jd_jobs_refused_total", "Declarations refused.", &self.jobs_refused),
            (
                "jd_connections_closed_error_total",
                "JD connections closed for a protocol error.",
                &self.connections_closed_error,
            ),
            ("jd_blocks_submitted_total", "Blocks from declared jobs handed to the node.", &self.blocks_submitted),
        ];
        for (name, help, c) in counters {
            super::metrics::write_single(out, name, "counter", help, c.load(Ordering::Relaxed));
        }
    }
}

/// The parts of a running JDS the pool keeps.
pub(super) struct Jds {
    pub addr: SocketAddr,
    pub tokens: Arc<Mutex<TokenStore>>,
    pub mempool: SharedMempool,
    pub stats: Arc<JdsStats>,
    pub blocks: BlockSink,
    pub task: JoinHandle<()>,
}

/// Hands found blocks to the node without waiting for it.
#[derive(Clone)]
pub(crate) struct BlockSink {
    node: Arc<Node>,
    stats: Arc<JdsStats>,
}

impl BlockSink {
    /// Submits `block` on a task of its own and logs the node's verdict.
    pub(crate) fn submit(&self, block: JdBlock, source: &'static str) {
        let (node, stats) = (self.node.clone(), self.stats.clone());
        tokio::spawn(async move {
            let hash = crate::tp::source::display_hash(&block.hash());
            stats.blocks_submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match node.submit(block.serialize()).await {
                Ok(v) => tracing::info!("block {hash} from {source} submitted to the node: {v}"),
                Err(e) => tracing::error!("block {hash} from {source} not taken by the node: {e}"),
            }
        });
    }
}

/// Binds the JD port and starts accepting.
pub(super) async fn start(
    config: &JdServerConfig,
    payout_script: &[u8],
    credentials: ServerCredentials,
    limits: Limits,
    jobs: watch::Receiver<Arc<Published>>,
    started: Instant,
    shutdown: watch::Receiver<bool>,
) -> Result<Jds, String> {
    let listener =
        TcpListener::bind(config.listen).await.map_err(|e| format!("jd_listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let tokens = Arc::new(Mutex::new(TokenStore::new(config.max_tokens)));
    let mempool = SharedMempool::default();
    let stats = Arc::new(JdsStats::default());
    let node = Arc::new(Node::new(&config.node));
    let shared = Arc::new(listener::Shared {
        core: config.core(payout_script),
        config: config.clone(),
        credentials,
        limits: Limits { max_payload: config.max_payload(), ..limits },
        tokens: tokens.clone(),
        mempool: mempool.clone(),
        jobs,
        node: node.clone(),
        stats: stats.clone(),
        started,
    });
    let task = tokio::spawn(listener::accept_loop(listener, shared, shutdown));
    tracing::info!("job declaration server on {addr}, declared jobs checked by the {:?}", config.node);
    let blocks = BlockSink { node, stats: stats.clone() };
    Ok(Jds { addr, tokens, mempool, stats, blocks, task })
}
