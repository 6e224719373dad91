//! The pool's Template Distribution client: templates and tips from the template provider
//! become jobs for every connection, found blocks go back as SubmitSolution, and a lost
//! template provider is reconnected to while miners keep their last jobs.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sv2::channels::job::JobFactory;
use sv2::channels::server::FoundBlock;
use sv2::codec::Str0_255;
use sv2::endpoint::server::JobState;
use sv2::messages::{RequestTransactionData, SetupConnection};
use sv2::noise::ServerAuth;
use sv2::Message;
use tokio::sync::{mpsc, watch};

use super::jds::mempool::SharedMempool;
use super::metrics::Metrics;
use super::store::StoreWriter;
use super::PoolConfig;
use crate::net::Connection;

/// What connections mine, as the template provider last described it, and when the pool
/// learned of the tip (for the tip-to-job metric).
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// The jobs.
    pub jobs: JobState,
    /// When the pool learned of the tip.
    pub tip_at: Option<Instant>,
}

/// Largest frame taken from the template provider when the JDS asks for the templates'
/// transactions: a whole block and its length prefixes.
const MAX_TRANSACTION_DATA: usize = 8 << 20;

/// Found blocks remembered until their hash shows up as a new tip.
const RECENT_BLOCKS: usize = 64;

/// Runs the client until `shutdown`, reconnecting with back-off.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    config: Arc<PoolConfig>,
    mut factory: JobFactory,
    jobs: watch::Sender<Arc<Published>>,
    mut solutions: mpsc::Receiver<FoundBlock>,
    metrics: Arc<Metrics>,
    store: StoreWriter,
    mempool: Option<SharedMempool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut tip_seq = 0u64;
    let mut recent: VecDeque<[u8; 32]> = VecDeque::new();
    loop {
        let result = tokio::select! {
            r = session(&config, &mut factory, &jobs, &mut tip_seq, &mut solutions, &metrics, &store, &mut recent, mempool.as_ref()) => r,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        metrics.tp_connected.store(0, Ordering::Relaxed);
        let reason = result.err().unwrap_or_else(|| "closed".into());
        tracing::warn!("template provider {}: {reason}; reconnecting in {backoff:?}", config.tp_address);
        // Keep the back-off short at first: a restarted template provider is back within seconds.
        let wait = tokio::time::sleep(backoff);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                _ = shutdown.wait_for(|s| *s) => return,
                Some(b) = solutions.recv() => {
                    tracing::error!("block {} found while the template provider is away: not submitted", hex_hash(&b.hash()));
                }
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn hex_hash(h: &[u8; 32]) -> String {
    crate::tp::source::display_hash(h)
}

#[allow(clippy::too_many_arguments)]
async fn session(
    config: &PoolConfig,
    factory: &mut JobFactory,
    jobs: &watch::Sender<Arc<Published>>,
    tip_seq: &mut u64,
    solutions: &mut mpsc::Receiver<FoundBlock>,
    metrics: &Metrics,
    store: &StoreWriter,
    recent: &mut VecDeque<[u8; 32]>,
    mempool: Option<&SharedMempool>,
) -> Result<(), String> {
    let auth = match config.tp_authority {
        Some(key) => ServerAuth::Authority(key),
        None => ServerAuth::InsecureAcceptAnyServer,
    };
    // With a JDS, the templates' transactions come too (RequestTransactionData): a whole block.
    let limits = match mempool {
        Some(_) => crate::net::Limits { max_payload: MAX_TRANSACTION_DATA, ..crate::net::Limits::default() },
        None => crate::net::Limits::default(),
    };
    let mut conn = Connection::connect(&config.tp_address, auth, limits).await.map_err(|e| format!("connect: {e}"))?;
    let setup = SetupConnection {
        protocol: 2,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: Str0_255::from_str(config.tp_address.rsplit_once(':').map_or("", |h| h.0)).unwrap_or_default(),
        endpoint_port: config.tp_address.rsplit_once(':').and_then(|h| h.1.parse().ok()).unwrap_or(0),
        vendor: Str0_255::from_str("libsv2 pool").unwrap_or_default(),
        hardware_version: Str0_255::EMPTY,
        firmware: Str0_255::from_str(env!("CARGO_PKG_VERSION")).unwrap_or_default(),
        device_id: Str0_255::EMPTY,
    };
    conn.send(&setup.into()).await.map_err(|e| e.to_string())?;
    let frame = conn.read_frame().await.map_err(|e| e.to_string())?;
    match frame.message().map_err(|e| e.to_string())?.0 {
        Message::SetupConnectionSuccess(_) => {}
        Message::SetupConnectionError(e) => {
            return Err(format!("refused: {}", String::from_utf8_lossy(e.error_code.as_bytes())));
        }
        other => return Err(format!("unexpected {} before SetupConnection.Success", other.name())),
    }
    conn.send(&factory.coinbase_output_constraints().into()).await.map_err(|e| e.to_string())?;
    // A new session's template ids may repeat the last one's; miners keep their current jobs
    // (the last published state) until the new session's first tip.
    factory.reset();
    metrics.tp_connections.fetch_add(1, Ordering::Relaxed);
    metrics.tp_connected.store(1, Ordering::Relaxed);
    tracing::info!("connected to the template provider at {}", config.tp_address);
    let mut tip_at = jobs.borrow().tip_at;
    loop {
        tokio::select! {
            frame = conn.read_frame() => {
                let frame = frame.map_err(|e| e.to_string())?;
                let (msg, _) = frame.message().map_err(|e| format!("bad message: {e}"))?;
                let new_tip = matches!(msg, Message::SetNewPrevHashTdp(_));
                match msg {
                    Message::NewTemplate(t) => {
                        metrics.templates.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = factory.on_new_template(&t) {
                            tracing::warn!("template {}: {e}", t.template_id);
                            continue;
                        }
                        if mempool.is_some() && !t.future_template {
                            let ask = RequestTransactionData { template_id: t.template_id };
                            conn.send(&ask.into()).await.map_err(|e| e.to_string())?;
                        }
                    }
                    Message::SetNewPrevHashTdp(p) => {
                        let now = Instant::now();
                        tracing::debug!(target: crate::tp::TIP_TRACE, stage = "pool.received");
                        if let Err(e) = factory.on_set_new_prev_hash(&p) {
                            tracing::warn!("new tip for template {}: {e}", p.template_id);
                            continue;
                        }
                        metrics.tips.fetch_add(1, Ordering::Relaxed);
                        // The tip's template may have been a future one, whose transactions
                        // were not asked for.
                        if mempool.is_some() {
                            let ask = RequestTransactionData { template_id: p.template_id };
                            conn.send(&ask.into()).await.map_err(|e| e.to_string())?;
                        }
                        *tip_seq += 1;
                        tip_at = Some(now);
                        if let Some(i) = recent.iter().position(|h| *h == p.prev_hash) {
                            recent.remove(i);
                            metrics.blocks_accepted.fetch_add(1, Ordering::Relaxed);
                            store.block_accepted(p.prev_hash).await?;
                        }
                        tracing::debug!("new tip {}", hex_hash(&p.prev_hash));
                    }
                    Message::RequestTransactionDataSuccess(d) => {
                        if let Some(m) = mempool {
                            let txs = d.transaction_list.iter().map(|t| t.as_bytes());
                            m.write().unwrap_or_else(|e| e.into_inner()).replace(txs);
                        }
                        continue;
                    }
                    Message::RequestTransactionDataError(_) => continue,
                    other => {
                        tracing::debug!("ignoring {} from the template provider", other.name());
                        continue;
                    }
                }
                jobs.send_replace(Arc::new(Published { jobs: JobState::from_factory(factory, *tip_seq), tip_at }));
                if new_tip {
                    tracing::debug!(target: crate::tp::TIP_TRACE, stage = "pool.published");
                }
            }
            Some(block) = solutions.recv() => {
                let Some(solution) = block.submit_solution() else {
                    tracing::error!(
                        "block {} not submitted: no template or a coinbase of {} bytes (over 64 KiB)",
                        hex_hash(&block.hash()),
                        block.coinbase.len()
                    );
                    continue;
                };
                conn.send(&solution.into()).await.map_err(|e| format!("SubmitSolution: {e}"))?;
                recent.push_back(block.hash());
                if recent.len() > RECENT_BLOCKS {
                    recent.pop_front();
                }
            }
        }
    }
}
