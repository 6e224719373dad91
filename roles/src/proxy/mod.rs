//! `sv2 proxy`: a Mining Protocol proxy between a farm's SV2 devices and its pools.
//!
//! Devices connect over Noise (the proxy's own authority key signs its certificate) and open
//! standard channels (group jobs, or their own with REQUIRES_STANDARD_JOBS) or extended
//! channels (proxies below this one). Upstream, through [`crate::upstream`] (an ordered list
//! of pools with failover), one of two layouts:
//!
//! - **aggregation** (default, Annex deployment 3): one extended channel for the whole farm.
//!   Every device connection is a [`sv2::endpoint::server::ServerEndpoint`] fed the upstream
//!   channel's jobs: the proxy carves an extranonce prefix per device under the pool's prefix,
//!   sends standard jobs with each device's own merkle root, validates device shares at the
//!   device's target with its own vardiff, and forwards the ones that meet the pool's target
//!   (or a block's), tagged with the device's worker (extension 0x0002) where the pool grants
//!   it. Shares between the device and the pool targets are accounted here.
//! - **pass-through** (Annex deployment 1): one upstream standard channel per device channel;
//!   jobs, tips and targets are relayed under the device's channel id, shares forwarded and
//!   answered with the pool's verdict.
//!
//! On failover devices keep their connections: in aggregation each device channel gets its
//! new prefix (SetExtranoncePrefix) and the new pool's jobs; in pass-through each upstream
//! channel is re-opened and its jobs relayed. Per-device counters are served as Prometheus
//! text on `/metrics` and JSON on `/stats.json`.

mod aggregate;
pub mod cli;
mod passthrough;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sv2::endpoint::server::ServerConfig;
use sv2::noise::{AuthorityPublicKey, ServerCredentials};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::farm_metrics::{self, DeviceStats, Metrics};
use crate::jdc::{FoundBlock, JdConfig, JdcReports, JdcStats};
use crate::net::{AcceptCounters, Limits, ServerIdentity};
use crate::upstream::{self, UpstreamConfig, UpstreamMetrics};

/// How the proxy's channels reach the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One upstream extended channel for every device.
    Aggregate,
    /// One upstream standard channel per device channel.
    PassThrough,
}

/// Everything a proxy needs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Directory of the proxy's keys (made on first start).
    pub data_dir: PathBuf,
    /// Address devices connect to.
    pub listen: SocketAddr,
    /// Where `/metrics` and `/stats.json` are served (None: not served).
    pub metrics_listen: Option<SocketAddr>,
    /// The pools, in order of preference, and failover timings.
    pub upstream: UpstreamConfig,
    /// Aggregation or pass-through.
    pub layout: Layout,
    /// User identity of the aggregated upstream channel.
    pub user: String,
    /// Hashrate announced for the aggregated channel, in h/s.
    pub nominal_hashrate: f32,
    /// Device channels: setup flags allowed, vardiff, minimum difficulty, limits.
    pub server: ServerConfig,
    /// Bytes of each device's prefix the proxy makes unique under the pool's prefix.
    pub counter_bytes: usize,
    /// Device connections at once.
    pub max_connections: usize,
    /// Time a device has for SetupConnection and its first channel (also while the
    /// upstream is not ready).
    pub setup_timeout: Duration,
    /// Noise and I/O limits of device connections.
    pub limits: Limits,
    /// Job Declaration (aggregation only): the farm's templates, declared to each pool's JDS
    /// and mined as custom jobs on the upstream extended channel ([`crate::jdc`]).
    pub jd: Option<JdConfig>,
}

impl ProxyConfig {
    /// A proxy on `listen` in front of these pools, aggregating.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr, upstream: UpstreamConfig) -> Self {
        ProxyConfig {
            data_dir: data_dir.into(),
            listen,
            metrics_listen: None,
            upstream,
            layout: Layout::Aggregate,
            user: "proxy".into(),
            nominal_hashrate: 1e12,
            server: ServerConfig::default(),
            counter_bytes: 2,
            max_connections: 20_000,
            setup_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            jd: None,
        }
    }
}

/// What the device connections share.
pub(crate) struct Shared {
    pub config: Arc<ProxyConfig>,
    pub credentials: ServerCredentials,
    pub metrics: Arc<Metrics>,
    /// Origin of the monotonic seconds vardiff runs on.
    pub started: Instant,
    /// The Job Declarator Client's counters and blocks (with [`ProxyConfig::jd`]).
    pub jd: Option<JdcReports>,
}

/// A running proxy.
pub struct ProxyHandle {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    authority: AuthorityPublicKey,
    metrics: Arc<Metrics>,
    upstream_metrics: Arc<UpstreamMetrics>,
    jd: Option<JdcReports>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a proxy on the current tokio runtime: loads or makes its keys, listens, and
/// connects upstream (devices are served once a pool is).
pub async fn start(config: ProxyConfig) -> Result<ProxyHandle, String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("data_dir {}: {e}", config.data_dir.display()))?;
    if config.upstream.pools.is_empty() {
        return Err("no upstream pool".into());
    }
    if config.jd.is_some() && config.layout == Layout::PassThrough {
        // SetCustomMiningJob names an extended channel and spends one token: see docs/PROXY.md.
        return Err("Job Declaration needs the aggregation layout (one upstream extended channel)".into());
    }
    if let Some(jd) = &config.jd {
        if jd.jds.len() != config.upstream.pools.len() {
            return Err("Job Declaration: one JDS entry per upstream pool".into());
        }
    }
    if !(1..=8).contains(&config.counter_bytes) {
        return Err("counter_bytes must be between 1 and 8".into());
    }
    let identity = ServerIdentity::load_or_create(&config.data_dir)?;
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(crate::pool::metrics::bind(a).await?),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let metrics = Arc::new(Metrics::new("proxy"));
    let mut upstream_config = config.upstream.clone();
    upstream_config.worker_identity = config.layout == Layout::Aggregate;
    upstream_config.requires_standard_jobs = config.layout == Layout::PassThrough;
    upstream_config.work_selection = config.jd.is_some();
    let (upstream, events) = upstream::start(upstream_config);
    let upstream_metrics = upstream.metrics().clone();
    metrics.set_upstream(upstream_metrics.clone());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let jd = config.jd.as_ref().map(|_| JdcReports::default());
    let shared = Arc::new(Shared {
        config: Arc::new(config),
        credentials: identity.credentials,
        metrics: metrics.clone(),
        started: Instant::now(),
        jd: jd.clone(),
    });
    let mut tasks = vec![match shared.config.layout {
        Layout::Aggregate => {
            tokio::spawn(aggregate::run(listener, shared.clone(), upstream, events, shutdown_rx.clone()))
        }
        Layout::PassThrough => {
            tokio::spawn(passthrough::run(listener, shared.clone(), upstream, events, shutdown_rx.clone()))
        }
    }];
    if let Some(l) = metrics_listener {
        match jd.as_ref().map(|r| r.stats.clone()) {
            // With Job Declaration, /metrics carries the JDC's counters too.
            Some(stats) => {
                let m = metrics.clone();
                tasks.push(tokio::spawn(crate::net::serve_pages(l, shutdown_rx, move |path| match path {
                    "/metrics" | "/" => Some(("text/plain; version=0.0.4", m.render() + &stats.render("proxy"))),
                    "/stats.json" => Some(("application/json", m.json())),
                    _ => None,
                })));
            }
            None => tasks.push(tokio::spawn(farm_metrics::serve(l, metrics.clone(), shutdown_rx))),
        }
    }
    tracing::info!(
        "proxy listening on {addr} (authority key {}), {:?}, pools {}",
        identity.authority,
        shared.config.layout,
        shared.config.upstream.pools.iter().map(|p| p.address.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(ProxyHandle {
        addr,
        metrics_addr,
        authority: identity.authority,
        metrics,
        upstream_metrics,
        jd,
        shutdown,
        tasks,
    })
}

impl ProxyHandle {
    /// The address devices connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The proxy's authority key (devices pin it).
    pub fn authority(&self) -> AuthorityPublicKey {
        self.authority
    }

    /// Per-device and total counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The upstream's counters (active pool, failovers, unacknowledged shares).
    pub fn upstream_metrics(&self) -> &UpstreamMetrics {
        &self.upstream_metrics
    }

    /// The Job Declarator Client's counters (with [`ProxyConfig::jd`]).
    pub fn jd_stats(&self) -> Option<&JdcStats> {
        self.jd.as_ref().map(|r| &*r.stats)
    }

    /// Every block the farm finds from now on, serialized (with [`ProxyConfig::jd`]).
    pub fn jd_blocks(&self) -> Option<broadcast::Receiver<FoundBlock>> {
        self.jd.as_ref().map(|r| r.blocks.subscribe())
    }

    /// Stops accepting, closes every connection and waits for the tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

/// The accept loop of the device port, counting in the proxy's metrics.
pub(crate) async fn accept_devices<F, Fut>(
    listener: TcpListener,
    shared: &Shared,
    shutdown: watch::Receiver<bool>,
    handle: F,
) where
    F: FnMut(tokio::net::TcpStream, SocketAddr, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let m = &shared.metrics;
    let counters = AcceptCounters { total: &m.connections_total, refused: &m.connections_refused };
    crate::net::accept_loop(listener, shared.config.max_connections, shutdown, counters, handle).await;
}

/// A device's Noise handshake, then its counters: the connection, or None (counted as bad
/// input) when the handshake fails.
pub(crate) async fn admit_device(
    stream: tokio::net::TcpStream,
    id: u64,
    shared: &Shared,
) -> Option<crate::net::Connection> {
    let m = &shared.metrics;
    let conn = match crate::net::Connection::accept(stream, &shared.credentials, shared.config.limits).await {
        Ok(c) => c,
        Err(e) => {
            m.connections_bad_input.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("device {id}: handshake: {e}");
            return None;
        }
    };
    m.connections_open.fetch_add(1, Ordering::Relaxed);
    let peer = conn.peer().to_string();
    let stats = DeviceStats { id, peer, connected_at: crate::keygen::unix_now(), ..Default::default() };
    farm_metrics::lock(&m.devices).insert(id, stats);
    Some(conn)
}

/// A device connection ended: its counters join the closed devices' sums.
pub(crate) fn release_device(id: u64, shared: &Shared) {
    shared.metrics.remove(id);
    shared.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
}
