//! A SubmitSolution turned into the full block: the header from the solution and the
//! template, the client's coinbase, then the template's transactions.

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash as _;
use bitcoin::Transaction;
use sv2::channels::coinbase::push_compact_size;
use sv2::channels::hash::{header_bytes, merkle_root_from_path, sha256d};
use sv2::channels::target::{hash_meets_target, target_from_nbits};
use sv2::messages::SubmitSolution;

use super::template::ServedTemplate;

/// A serialized block and its hash (internal byte order).
pub struct AssembledBlock {
    /// Consensus serialization.
    pub bytes: Vec<u8>,
    /// Block hash.
    pub hash: [u8; 32],
}

/// Why no block was built from a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotABlock {
    /// The coinbase is not a coinbase transaction.
    BadCoinbase(String),
    /// The header hash (internal byte order) is above the template's target.
    AboveTarget([u8; 32]),
}

/// Builds the block a solution completes. The header is hashed and checked against the
/// template's nbits first, so a solution that is no block costs a coinbase parse and a few
/// hashes, not a copy of the whole block and a round trip to the node.
pub fn assemble(t: &ServedTemplate, s: &SubmitSolution<'_>) -> Result<AssembledBlock, NotABlock> {
    let coinbase = s.coinbase_tx.as_bytes();
    let tx: Transaction =
        deserialize(coinbase).map_err(|e| NotABlock::BadCoinbase(format!("coinbase_tx is not a transaction: {e}")))?;
    if !tx.is_coinbase() {
        return Err(NotABlock::BadCoinbase("coinbase_tx does not spend the null outpoint".into()));
    }
    let root = merkle_root_from_path(tx.compute_txid().to_byte_array(), &t.merkle_path);
    let header = header_bytes(s.version, &t.base.prev_hash, &root, s.header_timestamp, t.base.bits, s.header_nonce);
    let hash = sha256d(&header);
    if !hash_meets_target(&hash, &target_from_nbits(t.base.bits)) {
        return Err(NotABlock::AboveTarget(hash));
    }
    let txs = t.txs();
    let mut bytes = Vec::with_capacity(89 + coinbase.len() + txs.iter().map(|x| x.data.len()).sum::<usize>());
    bytes.extend_from_slice(&header);
    push_compact_size(&mut bytes, txs.len() as u64 + 1);
    bytes.extend_from_slice(coinbase);
    for x in txs {
        bytes.extend_from_slice(&x.data);
    }
    Ok(AssembledBlock { bytes, hash })
}
