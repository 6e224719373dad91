//! `sv2 tp`: a Template Provider. Block templates from a real Bitcoin node — an embedded regtest
//! node on libbitcoinkernel by default, or Bitcoin Core over JSON-RPC — served over Noise with
//! the Template Distribution Protocol.
//!
//! ```no_run
//! # async fn f() -> Result<(), String> {
//! let tp = sv2_roles::tp::start(sv2_roles::tp::TpConfig::embedded("/tmp/tp")).await?;
//! println!("listening on {}, authority {}", tp.addr(), tp.authority());
//! tp.shutdown().await;
//! # Ok(()) }
//! ```

pub mod cli;
pub mod config;
pub mod kernel;
mod manager;
pub mod rpc;
mod server;
mod solution;
pub mod source;
mod store;
pub mod template;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sv2::noise::AuthorityPublicKey;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use self::config::{Network, RpcAuth, RpcConfig, SourceConfig, TpConfig};
use self::kernel::KernelSource;
use self::rpc::RpcSource;
use self::source::TemplateSource;
pub use self::source::{BlockVerdict, SolutionOutcome, SolutionReport, TipInfo};
use self::store::Published;
use crate::net::ServerIdentity;

/// The `tracing` target of the debug events that time a new tip on its way from the node to
/// miners (`stage` names the step: `node.watch`, `tp.woke`, `tp.template`, `tp.published`,
/// `tp.sent`, `pool.received`, `pool.published`, `pool.sent`). Off unless a subscriber enables
/// this target at debug level, as `roles/benches/tip_latency.rs` does.
pub const TIP_TRACE: &str = "sv2_roles::tip";

type CloseFn = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A running template provider.
pub struct TpHandle {
    addr: SocketAddr,
    authority: AuthorityPublicKey,
    tips: watch::Receiver<TipInfo>,
    solutions: broadcast::Sender<SolutionReport>,
    above_target: Arc<AtomicU64>,
    node: Option<Arc<KernelSource>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    close: Option<CloseFn>,
}

/// Starts a template provider on the current tokio runtime: opens the node (for the embedded
/// one, mining its first blocks on a new chain), loads or makes the keys in the data
/// directory, and listens.
pub async fn start(config: TpConfig) -> Result<TpHandle, String> {
    let identity = ServerIdentity::load_or_create(&config.data_dir)?;
    match &config.source {
        SourceConfig::Embedded { own_transactions } => {
            let node = Arc::new(KernelSource::open(config.data_dir.join("regtest"), *own_transactions).await?);
            let mut handle = serve(node.clone(), identity, &config).await?;
            handle.node = Some(node);
            Ok(handle)
        }
        SourceConfig::Rpc(rpc) => {
            let source = Arc::new(RpcSource::connect(rpc.clone()).await?);
            serve(source, identity, &config).await
        }
    }
}

async fn serve<S: TemplateSource>(
    source: Arc<S>,
    identity: ServerIdentity,
    config: &TpConfig,
) -> Result<TpHandle, String> {
    let first = source.template().await.map_err(|e| format!("first template: {e}"))?;
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (published, published_rx) = watch::channel(Published { seq: 1, template: Arc::new(first) });
    let (shutdown, shutdown_rx) = watch::channel(false);
    // Template ids start at the current time in milliseconds, so they keep increasing across
    // restarts for clients that remember them.
    let first_id = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(1);
    let shared = Arc::new(server::Shared::new(
        source.clone(),
        identity.credentials,
        config.limits,
        config.max_clients,
        first_id,
    ));
    let solutions = shared.solutions.clone();
    let above_target = shared.above_target.clone();
    let fees = manager::FeePolicy { delta_sats: config.fee_delta_sats, interval: config.fee_check_interval };
    let tasks = vec![
        tokio::spawn(manager::run(source.clone(), published, fees, shutdown_rx.clone())),
        tokio::spawn(server::accept_loop(listener, shared, published_rx, shutdown_rx)),
    ];
    tracing::info!(
        "template provider listening on {addr} (authority key {}), templates from {}",
        identity.authority,
        source.describe()
    );
    let closer = source.clone();
    Ok(TpHandle {
        addr,
        authority: identity.authority,
        tips: source.tips(),
        solutions,
        above_target,
        node: None,
        shutdown,
        tasks,
        close: Some(Box::new(move || Box::pin(async move { closer.close().await }))),
    })
}

impl TpHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The authority public key clients pin.
    pub fn authority(&self) -> AuthorityPublicKey {
        self.authority
    }

    /// The node's current tip.
    pub fn tip(&self) -> TipInfo {
        *self.tips.borrow()
    }

    /// A receiver that changes with the node's tip.
    pub fn tips(&self) -> watch::Receiver<TipInfo> {
        self.tips.clone()
    }

    /// Waits until the tip reaches `height`.
    pub async fn wait_for_height(&self, height: u32) -> TipInfo {
        let mut tips = self.tips.clone();
        let reached = tips.wait_for(|t| t.height >= height).await.map(|t| *t);
        // Err: the source is gone (shut down); report the last tip known.
        reached.unwrap_or_else(|_| *tips.borrow())
    }

    /// Reports of every SubmitSolution received from now on, with the node's verdict.
    pub fn solutions(&self) -> broadcast::Receiver<SolutionReport> {
        self.solutions.subscribe()
    }

    /// How many SubmitSolutions were turned away because their header hash is above the
    /// target (no block built, the node not asked); see [`SolutionOutcome::AboveTarget`].
    pub fn solutions_above_target(&self) -> u64 {
        self.above_target.load(Ordering::Relaxed)
    }

    /// The embedded node, shared (None over RPC): a pool in the same process checks declared
    /// jobs and submits blocks with it (`PoolConfig::jds`).
    pub fn embedded_node(&self) -> Option<Arc<KernelSource>> {
        self.node.clone()
    }

    fn embedded(&self) -> Result<&KernelSource, String> {
        self.node.as_deref().ok_or_else(|| "only the embedded node makes its own transactions and blocks".to_owned())
    }

    /// Embedded node only: adds `n` transactions of its own (segwit and legacy spends of its
    /// matured coins, with fees); returns their txids, internal byte order. Templates carry
    /// them after the next fee check (see [`TpConfig::fee_check_interval`]) or new tip.
    pub async fn add_transactions(&self, n: usize) -> Result<Vec<[u8; 32]>, String> {
        self.embedded()?.add_transactions(n).await
    }

    /// Embedded node only: mines a block on the tip itself, as another miner would; clients
    /// then get templates for the new tip.
    pub async fn mine_block(&self) -> Result<TipInfo, String> {
        self.embedded()?.mine_block().await
    }

    /// Stops serving, closes every connection, and lets the node write its state to disk.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.node = None;
        if let Some(close) = self.close.take() {
            close().await;
        }
    }
}

impl Drop for TpHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
