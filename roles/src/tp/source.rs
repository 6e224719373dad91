//! Where templates come from: one trait for the embedded regtest node and for Bitcoin Core
//! over JSON-RPC.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use tokio::sync::watch;

use super::template::BlockTemplate;

/// The node's best block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipInfo {
    /// Height of the tip.
    pub height: u32,
    /// Hash of the tip, internal byte order.
    pub hash: [u8; 32],
    /// When this process learned of the tip (for latency measurements).
    pub seen: Instant,
}

impl TipInfo {
    /// The hash as block explorers print it (byte-reversed hex).
    pub fn hash_hex(&self) -> String {
        display_hash(&self.hash)
    }
}

/// A hash in internal byte order, printed byte-reversed as Bitcoin tools do.
pub fn display_hash(hash: &[u8; 32]) -> String {
    let mut h = *hash;
    h.reverse();
    hex::encode(h)
}

/// What the node made of a submitted block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockVerdict {
    /// Valid and now the node's tip.
    NewTip,
    /// Valid, but the node's tip is another block (a stale or competing block).
    AcceptedNotTip,
    /// The node already had this block.
    Duplicate,
    /// Invalid: the node's reason.
    Rejected(String),
}

impl fmt::Display for BlockVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockVerdict::NewTip => f.write_str("accepted, new tip"),
            BlockVerdict::AcceptedNotTip => f.write_str("accepted, but not the best chain"),
            BlockVerdict::Duplicate => f.write_str("duplicate (already known)"),
            BlockVerdict::Rejected(reason) => write!(f, "rejected: {reason}"),
        }
    }
}

/// What became of a SubmitSolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SolutionOutcome {
    /// The block went to the node; its verdict.
    Node(BlockVerdict),
    /// No template with this id is kept (never issued, or too old).
    UnknownTemplate,
    /// The coinbase is not a coinbase transaction; no block was built.
    BadCoinbase(String),
    /// The header's hash is above the target its nbits encode; no block was built and the node
    /// was not asked.
    AboveTarget,
    /// The node could not be asked.
    NodeError(String),
}

/// A SubmitSolution and its outcome, as [`super::TpHandle::solutions`] reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolutionReport {
    /// The template the solution named.
    pub template_id: u64,
    /// The block's hash (internal byte order) when one was built.
    pub block_hash: Option<[u8; 32]>,
    /// What became of it.
    pub outcome: SolutionOutcome,
}

/// A source failed to answer (the node is unreachable, syncing, misconfigured, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError(pub String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

/// A Bitcoin node that gives block templates and takes solved blocks.
pub trait TemplateSource: Send + Sync + 'static {
    /// One line naming the node, for logs.
    fn describe(&self) -> String;

    /// The node's best block, updated as it changes.
    fn tips(&self) -> watch::Receiver<TipInfo>;

    /// A fresh template on the node's current tip with its current transactions.
    fn template(&self) -> impl Future<Output = Result<BlockTemplate, SourceError>> + Send;

    /// Hands a serialized block to the node and reports its verdict.
    fn submit_block(&self, block: Vec<u8>) -> impl Future<Output = Result<BlockVerdict, SourceError>> + Send;

    /// Stops background work and lets the node persist its state.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
