//! `sv2 pool`: a Stratum V2 pool. Templates come from a template provider over the Template
//! Distribution Protocol; miners connect over Noise (the pool's authority key signs its
//! certificate) and open standard, extended or (implicitly, one per connection) group
//! channels; every share is checked, answered and recorded in SQLite per user and worker;
//! blocks go back to the template provider as SubmitSolution; Prometheus reads `/metrics`.
//! With [`PoolConfig::jds`] set, a Job Declaration Server on its own port lets miners declare
//! their own jobs ([`jds`]), and Mining connections take SetCustomMiningJob for them.
//!
//! ```no_run
//! # async fn f() -> Result<(), String> {
//! use sv2_roles::pool::PoolConfig;
//! let payout = vec![0x51]; // a scriptPubKey
//! let pool = sv2_roles::pool::start(PoolConfig::new("/tmp/pool", "127.0.0.1:8442", payout)).await?;
//! println!("pool on {}, authority {}", pool.addr(), pool.authority());
//! pool.shutdown().await;
//! # Ok(()) }
//! ```

pub mod cli;
pub mod config;
pub mod jds;
pub mod metrics;
mod server;
pub mod store;
mod templates;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::job::JobFactory;
use sv2::endpoint::server::WorkSelection;
use sv2::jd::coinbase::PoolOutputs;
use sv2::noise::AuthorityPublicKey;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use self::config::PoolConfig;
use self::metrics::Metrics;
use self::store::{Records, Store};
use crate::net::ServerIdentity;

/// Full extranonce length of every channel: 4 bytes that make each channel unique, and (on
/// extended channels) 12 the miner rolls.
pub const EXTRANONCE_LEN: usize = 16;
/// Bytes of the extranonce prefix the pool allocates per channel.
pub const EXTRANONCE_PREFIX_LEN: usize = 4;

/// A running pool.
pub struct PoolHandle {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    jds_addr: Option<SocketAddr>,
    jds_stats: Option<Arc<jds::JdsStats>>,
    jds_mempool: Option<jds::mempool::SharedMempool>,
    authority: AuthorityPublicKey,
    metrics: Arc<Metrics>,
    db: PathBuf,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    store: Option<Store>,
}

/// Starts a pool on the current tokio runtime: loads or makes its keys and database in the
/// data directory, listens, and connects to the template provider (retrying until it answers).
pub async fn start(config: PoolConfig) -> Result<PoolHandle, String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("data_dir {}: {e}", config.data_dir.display()))?;
    let identity = ServerIdentity::load_or_create(&config.data_dir)?;
    let factory = JobFactory::new(&config.payout_script, config.pool_tag.as_bytes(), EXTRANONCE_LEN)
        .map_err(|e| format!("payout script or pool tag: {e}"))?
        .with_version_rolling(config.version_rolling);
    let allocator = ExtranonceAllocator::new(&[], EXTRANONCE_PREFIX_LEN, EXTRANONCE_LEN).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(metrics::bind(a).await?),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let db = config.data_dir.join("pool.sqlite");
    let store = Store::open(&db)?;
    let metrics = Arc::new(Metrics::default());
    let config = Arc::new(config);
    let (jobs_tx, jobs_rx) = watch::channel(Arc::new(templates::Published::default()));
    let (solutions_tx, solutions_rx) = mpsc::channel(64);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let started = Instant::now();
    let jds = match &config.jds {
        Some(j) => Some(
            jds::start(
                j,
                &config.payout_script,
                identity.credentials,
                config.limits,
                jobs_rx.clone(),
                started,
                shutdown_rx.clone(),
            )
            .await?,
        ),
        None => None,
    };
    let work = jds.as_ref().map(|j| WorkSelection {
        tokens: j.tokens.clone(),
        pool_outputs: Arc::new(PoolOutputs::single(&config.payout_script)),
    });
    let shared = Arc::new(server::Shared {
        config: config.clone(),
        credentials: identity.credentials,
        jobs: jobs_rx,
        allocator: Arc::new(Mutex::new(allocator)),
        solutions: solutions_tx,
        store: store.writer(),
        metrics: metrics.clone(),
        started,
        work,
        jd_blocks: jds.as_ref().map(|j| j.blocks.clone()),
    });
    let mut tasks = vec![
        tokio::spawn(templates::run(
            config.clone(),
            factory,
            jobs_tx,
            solutions_rx,
            metrics.clone(),
            store.writer(),
            jds.as_ref().map(|j| j.mempool.clone()),
            shutdown_rx.clone(),
        )),
        tokio::spawn(server::accept_loop(listener, shared, shutdown_rx.clone())),
    ];
    let (jds_addr, jds_stats, jds_mempool) = match jds {
        Some(j) => {
            tasks.push(j.task);
            (Some(j.addr), Some(j.stats), Some(j.mempool))
        }
        None => (None, None, None),
    };
    if let Some(l) = metrics_listener {
        tasks.push(tokio::spawn(metrics::serve(l, metrics.clone(), jds_stats.clone(), shutdown_rx)));
    }
    tracing::info!(
        "pool listening on {addr} (authority key {}), templates from {}, shares in {}{}",
        identity.authority,
        config.tp_address,
        db.display(),
        metrics_addr.map(|a| format!(", metrics on http://{a}/metrics")).unwrap_or_default()
    );
    Ok(PoolHandle {
        addr,
        metrics_addr,
        jds_addr,
        jds_stats,
        jds_mempool,
        authority: identity.authority,
        metrics,
        db,
        shutdown,
        tasks,
        store: Some(store),
    })
}

impl PoolHandle {
    /// The mining server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `/metrics` endpoint's address, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The Job Declaration Server's address, when it runs.
    pub fn jds_addr(&self) -> Option<SocketAddr> {
        self.jds_addr
    }

    /// What the Job Declaration Server did, when it runs.
    pub fn jds_stats(&self) -> Option<&jds::JdsStats> {
        self.jds_stats.as_deref()
    }

    /// Transactions the Job Declaration Server knows from the pool's templates (0 without it).
    pub fn jds_mempool_len(&self) -> usize {
        self.jds_mempool.as_ref().map_or(0, |m| m.read().unwrap_or_else(|e| e.into_inner()).len())
    }

    /// The authority key miners pin.
    pub fn authority(&self) -> AuthorityPublicKey {
        self.authority
    }

    /// The live counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The share database file.
    pub fn database(&self) -> &std::path::Path {
        &self.db
    }

    /// Everything the database holds now.
    pub fn records(&self) -> Result<Records, String> {
        store::read(&self.db)
    }

    /// Stops accepting, answers every share already accepted, closes every connection and the
    /// template provider link, and closes the database after its last commit.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        if let Some(store) = self.store.take() {
            let _ = tokio::task::spawn_blocking(move || store.close()).await;
        }
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
