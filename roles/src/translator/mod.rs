//! `sv2 translator`: Stratum V1 devices (ASIC firmware, cpuminer) mining through a Stratum V2
//! pool. Each device connection is a [`sv2::sv1::session::Session`] (the SV1 protocol as
//! firmware speaks it) and a [`sv2::channels::server::ServerChannel`] that validates its
//! shares at the device's own difficulty; shares that also meet the pool's target go upstream
//! as SubmitSharesExtended through [`crate::upstream`] (an ordered list of pools with
//! failover).
//!
//! Two layouts:
//! - **one extended channel per device** (default): the pool sees every device under its own
//!   user identity (the worker a pipelining device authorizes, else the configured user); the
//!   device's extranonce1 is the channel's prefix padded to leave it an extranonce2 of at most
//!   8 bytes.
//! - **aggregated** (`aggregate`): one extended channel for all devices; each device's
//!   extranonce1 is the channel's prefix and a per-device counter
//!   ([`sv2::channels::extranonce::ExtranonceAllocator`]).
//!
//! On failover the devices keep their SV1 connections: they get the new pool's jobs, and
//! their new extranonce with `mining.set_extranonce` when they subscribed to it, else
//! `client.reconnect`.
//!
//! With Job Declaration ([`TranslatorConfig::jd`], aggregated only) the devices mine the
//! farm's own templates: a [`crate::jdc`] Job Declarator Client declares them to the pool's
//! Job Declaration Server and sets them as custom jobs on the aggregated channel; its jobs
//! take the pool's place in every device's `mining.notify`, and blocks and shares for the
//! pool go to it (docs/TRANSLATOR.md).
//!
//! ```no_run
//! # async fn f(pool_authority: sv2::noise::AuthorityPublicKey) -> Result<(), String> {
//! use sv2_roles::translator::TranslatorConfig;
//! use sv2_roles::upstream::PoolEndpoint;
//! let pools = vec![PoolEndpoint::new("127.0.0.1:34254", pool_authority)];
//! let t = sv2_roles::translator::start(TranslatorConfig::new("127.0.0.1:34255".parse().unwrap(), pools)).await?;
//! println!("translator on {}", t.addr());
//! t.shutdown().await;
//! # Ok(()) }
//! ```

pub mod cli;
mod device;
mod hub;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sv2::sv1::session::SessionConfig;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

pub use crate::farm_metrics::{DeviceStats, Metrics};
use crate::jdc::{FoundBlock, JdConfig, JdcReports, JdcStats};
use crate::net::AcceptCounters;
use crate::upstream::{self, PoolEndpoint, UpstreamConfig, UpstreamMetrics};

/// Everything a translator needs.
#[derive(Debug, Clone)]
pub struct TranslatorConfig {
    /// Address devices connect to (plain TCP, as SV1 is).
    pub listen: SocketAddr,
    /// The pools, in order of preference, and failover timings.
    pub upstream: UpstreamConfig,
    /// User identity for the pool: the aggregated channel's, and a per-device channel's when
    /// the device's worker is not known yet when it subscribes.
    pub user: String,
    /// One upstream channel for all devices instead of one per device.
    pub aggregate: bool,
    /// Hashrate announced for each device's channel (h/s); the pool's vardiff corrects it.
    pub device_hashrate: f32,
    /// Device connections open at once; more are refused.
    pub max_connections: usize,
    /// Time from the upstream being ready to the device having subscribed and authorized.
    pub setup_timeout: Duration,
    /// Time without a byte from a device before it is dropped.
    pub idle_timeout: Duration,
    /// Time for one write to a device to drain.
    pub write_timeout: Duration,
    /// How long to wait for the `mining.authorize` of a device that subscribed, before opening
    /// its per-device channel under [`Self::user`].
    pub authorize_grace: Duration,
    /// SV1 session settings: line length, queue, extranonce2 size, difficulty bounds, vardiff,
    /// keep-alive.
    pub session: SessionConfig,
    /// Prometheus `/metrics` and `/stats.json` address.
    pub metrics_listen: Option<SocketAddr>,
    /// Keep every forwarded share and the pool's answer (for tests).
    pub record_shares: bool,
    /// Job Declaration (needs [`Self::aggregate`]: SetCustomMiningJob names one extended
    /// channel): the farm's templates, declared to each pool's JDS ([`crate::jdc`]).
    pub jd: Option<JdConfig>,
}

impl TranslatorConfig {
    /// A translator on `listen` for these pools: a channel per device, 20 000 connections,
    /// 60 s setup, 600 s idle, 30 s write timeouts, firmware session defaults.
    pub fn new(listen: SocketAddr, pools: Vec<PoolEndpoint>) -> Self {
        TranslatorConfig {
            listen,
            upstream: UpstreamConfig::new(pools),
            user: "libsv2.translator".into(),
            aggregate: false,
            device_hashrate: 1e12,
            max_connections: 20_000,
            setup_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(600),
            write_timeout: Duration::from_secs(30),
            authorize_grace: Duration::from_secs(2),
            session: SessionConfig::default(),
            metrics_listen: None,
            record_shares: false,
            jd: None,
        }
    }
}

/// A share forwarded to the pool, as sent, with the pool's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedShare {
    /// The device connection it came from.
    pub device: u64,
    /// The worker that submitted it.
    pub worker: String,
    /// The pool's job id.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// The extranonce below the pool's prefix (device extranonce1 tail and extranonce2).
    pub extranonce: Vec<u8>,
    /// The pool's answer once it came: Ok, or the error code.
    pub answer: Option<Result<(), String>>,
}

/// State every task of a translator shares.
#[derive(Debug)]
struct Shared {
    config: TranslatorConfig,
    metrics: Arc<Metrics>,
    forwarded: Mutex<Vec<ForwardedShare>>,
    started: Instant,
    /// The Job Declarator Client's counters and blocks (with [`TranslatorConfig::jd`]).
    jd: Option<JdcReports>,
}

impl Shared {
    /// Monotonic seconds since the translator started (the sessions' clock).
    fn mono(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// A running translator.
pub struct TranslatorHandle {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    upstream_metrics: Arc<UpstreamMetrics>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a translator on the current tokio runtime: listens for devices and connects to the
/// first pool that answers.
pub async fn start(config: TranslatorConfig) -> Result<TranslatorHandle, String> {
    if config.upstream.pools.is_empty() {
        return Err("no pool configured".into());
    }
    if let Some(jd) = &config.jd {
        if !config.aggregate {
            // SetCustomMiningJob names an extended channel and spends one token.
            return Err("Job Declaration needs the aggregated channel (aggregate)".into());
        }
        if jd.jds.len() != config.upstream.pools.len() {
            return Err("Job Declaration: one JDS entry per upstream pool".into());
        }
    }
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(TcpListener::bind(a).await.map_err(|e| format!("metrics_listen {a}: {e}"))?),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    // Ask pools to take each share's worker (extension 0x0002) where they offer it: for the
    // aggregated channel, and for devices whose channel opened before they authorized.
    let mut up_config = config.upstream.clone();
    up_config.worker_identity = true;
    up_config.work_selection = config.jd.is_some();
    let (up, events) = upstream::start(up_config);
    let upstream_metrics = up.metrics().clone();
    let jd = config.jd.as_ref().map(|_| JdcReports::default());
    let shared = Arc::new(Shared {
        config,
        metrics: Arc::new(Metrics::new("translator")),
        forwarded: Mutex::new(Vec::new()),
        started: Instant::now(),
        jd,
    });
    shared.metrics.set_upstream(upstream_metrics.clone());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let mut tasks = vec![
        tokio::spawn(hub::run(shared.clone(), up, events, hub_rx, shutdown_rx.clone())),
        tokio::spawn(accept_loop(listener, shared.clone(), hub_tx, shutdown_rx.clone())),
    ];
    if let Some(l) = metrics_listener {
        match shared.jd.as_ref().map(|r| r.stats.clone()) {
            // With Job Declaration, /metrics carries the JDC's counters too.
            Some(stats) => {
                let m = shared.metrics.clone();
                tasks.push(tokio::spawn(crate::net::serve_pages(l, shutdown_rx, move |path| match path {
                    "/metrics" | "/" => Some(("text/plain; version=0.0.4", m.render() + &stats.render("translator"))),
                    "/stats.json" => Some(("application/json", m.json())),
                    _ => None,
                })));
            }
            None => tasks.push(tokio::spawn(crate::farm_metrics::serve(l, shared.metrics.clone(), shutdown_rx))),
        }
    }
    let c = &shared.config;
    tracing::info!(
        "translator listening on {addr} for SV1 devices, {}{} to {}{}",
        if c.aggregate { "one channel for all devices" } else { "one channel per device" },
        if c.jd.is_some() { ", the farm's templates (Job Declaration)" } else { "" },
        c.upstream.pools.iter().map(|p| p.address.as_str()).collect::<Vec<_>>().join(", then "),
        metrics_addr.map(|a| format!(", metrics on http://{a}/metrics")).unwrap_or_default()
    );
    Ok(TranslatorHandle { addr, metrics_addr, shared, upstream_metrics, shutdown, tasks })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    hub: mpsc::Sender<hub::ToHub>,
    shutdown: watch::Receiver<bool>,
) {
    let m = &shared.metrics;
    let counters = AcceptCounters { total: &m.connections_total, refused: &m.connections_refused };
    let for_devices = shutdown.clone();
    crate::net::accept_loop(listener, shared.config.max_connections, shutdown, counters, |stream, peer, id| {
        let device = device::Device::new(id, peer, shared.clone(), hub.clone(), for_devices.clone());
        device.run(stream)
    })
    .await;
}

impl TranslatorHandle {
    /// The address devices connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `/metrics` and `/stats.json` address, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The live counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The upstream's counters (active pool, failovers).
    pub fn upstream_metrics(&self) -> &UpstreamMetrics {
        &self.upstream_metrics
    }

    /// The Job Declarator Client's counters (with [`TranslatorConfig::jd`]).
    pub fn jd_stats(&self) -> Option<&JdcStats> {
        self.shared.jd.as_ref().map(|r| &*r.stats)
    }

    /// Every block the farm finds from now on, serialized (with [`TranslatorConfig::jd`]).
    pub fn jd_blocks(&self) -> Option<broadcast::Receiver<FoundBlock>> {
        self.shared.jd.as_ref().map(|r| r.blocks.subscribe())
    }

    /// Every forwarded share with its answer (empty unless `record_shares`).
    pub fn forwarded_shares(&self) -> Vec<ForwardedShare> {
        crate::farm_metrics::lock(&self.shared.forwarded).clone()
    }

    /// Closes every device connection and the upstream, and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for TranslatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
