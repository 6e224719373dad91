//! The embedded regtest node as a template source: [`node::KernelNode`] on tokio's blocking
//! pool, one call at a time.

mod log;
pub mod node;
mod utxo;
pub mod wallet;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use self::node::KernelNode;
use super::source::{BlockVerdict, SourceError, TemplateSource, TipInfo};
use super::template::BlockTemplate;

/// The embedded node, shared by the server and the handle.
pub struct KernelSource {
    node: Arc<Mutex<Option<KernelNode>>>,
    tips: Arc<watch::Sender<TipInfo>>,
    dir: PathBuf,
}

impl KernelSource {
    /// Opens the chain in `dir` (made on first start, mined to maturity) and keeps `own_txs`
    /// transactions of the node's own in its mempool.
    pub async fn open(dir: PathBuf, own_txs: usize) -> Result<Self, String> {
        let d = dir.clone();
        let node = tokio::task::spawn_blocking(move || KernelNode::open(&d, own_txs))
            .await
            .map_err(|e| format!("embedded node: {e}"))??;
        let tip = node.tip();
        tracing::info!("embedded regtest node in {}: tip {} at height {}", dir.display(), tip.hash_hex(), tip.height);
        Ok(KernelSource { node: Arc::new(Mutex::new(Some(node))), tips: Arc::new(watch::channel(tip).0), dir })
    }

    /// Runs `f` on the node on tokio's blocking pool. A new tip is published from the
    /// blocking thread itself once the node is unlocked, so that the template provider wakes
    /// without a detour through the task waiting here and finds the node free.
    async fn with_node<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut KernelNode) -> T + Send + 'static,
    ) -> Result<T, SourceError> {
        let node = self.node.clone();
        let tips = self.tips.clone();
        tokio::task::spawn_blocking(move || {
            let (out, tip) = {
                let mut guard =
                    node.lock().map_err(|_| SourceError("embedded node: a previous call panicked".into()))?;
                let n = guard.as_mut().ok_or_else(|| SourceError("embedded node is closed".into()))?;
                (f(n), n.tip())
            };
            publish_tip(&tips, tip);
            Ok(out)
        })
        .await
        .map_err(|e| SourceError(format!("embedded node: {e}")))?
    }

    /// Adds `n` transactions of the node's own (spends of its matured coins, segwit and
    /// legacy, with fees); returns their txids (internal byte order). Fewer when it runs out
    /// of coins.
    pub async fn add_transactions(&self, n: usize) -> Result<Vec<[u8; 32]>, String> {
        self.with_node(move |node| node.add_transactions(n)).await.map_err(|e| e.0)
    }

    /// Whether a serialized block would be valid on the tip apart from its proof of work,
    /// with Bitcoin Core's reject reason when not (for a Job Declaration Server's verdicts).
    pub async fn check_proposal(&self, block: Vec<u8>) -> Result<Result<(), String>, SourceError> {
        self.with_node(move |node| node.check_proposal(&block)).await
    }

    /// Mines one block on the tip itself, as another miner would, with every mempool
    /// transaction; returns the new tip.
    pub async fn mine_block(&self) -> Result<TipInfo, String> {
        self.with_node(KernelNode::mine_block).await.map_err(|e| e.0)?
    }
}

/// Tells the template provider of a new tip.
fn publish_tip(tips: &watch::Sender<TipInfo>, tip: TipInfo) {
    let changed = tips.send_if_modified(|t| {
        let changed = t.hash != tip.hash;
        if changed {
            *t = tip;
        }
        changed
    });
    if changed {
        tracing::debug!(target: crate::tp::TIP_TRACE, stage = "node.watch");
    }
}

impl TemplateSource for KernelSource {
    fn describe(&self) -> String {
        format!("embedded regtest node (libbitcoinkernel) in {}", self.dir.display())
    }

    fn tips(&self) -> watch::Receiver<TipInfo> {
        self.tips.subscribe()
    }

    async fn template(&self) -> Result<BlockTemplate, SourceError> {
        // A template takes microseconds to make: made here when the node is free, a new tip
        // is spared two hand-offs between threads (to the blocking pool and back), each a
        // wake-up that a busy machine may delay. Refilling the mempool (signing) and waiting
        // for a busy node go to the blocking pool.
        if let Ok(mut guard) = self.node.try_lock() {
            if let Some(node) = guard.as_mut().filter(|n| !n.refill_due()) {
                return Ok(node.template());
            }
        }
        self.with_node(|node| {
            if node.refill_due() {
                node.top_up();
            }
            node.template()
        })
        .await
    }

    async fn submit_block(&self, block: Vec<u8>) -> Result<BlockVerdict, SourceError> {
        self.with_node(move |node| node.submit(&block)).await
    }

    async fn close(&self) {
        let node = self.node.clone();
        // Dropping the chainstate manager flushes the chain state to disk.
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(mut guard) = node.lock() {
                guard.take();
            }
        })
        .await;
    }
}
