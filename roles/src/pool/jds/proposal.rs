//! A declared job as a block proposal: the block it would make on the pool's tip, with a zero
//! extranonce and no proof of work, for the node to check (`getblocktemplate` proposal mode
//! and the embedded node's check both skip the proof of work).

use sv2::channels::hash::{header_bytes, merkle_root};
use sv2::channels::server::PrevHash;
use sv2::jd::server::{DeclaredJob, JdBlock};

/// The proposal block of `job` on `tip` at `ntime` (at least the tip's min_ntime); None when
/// the declared coinbase is unusable (the core has already parsed it, so this is not expected).
pub fn block(job: &DeclaredJob, tip: &PrevHash, ntime: u32) -> Option<JdBlock> {
    let parts = job.coinbase.parts()?;
    let extranonce = vec![0u8; job.coinbase.extranonce_len];
    let root = merkle_root(&parts.stripped(&extranonce), &job.merkle_path);
    let header = header_bytes(job.version, &tip.prev_hash, &root, ntime.max(tip.min_ntime), tip.nbits, 0);
    Some(JdBlock { header, coinbase: parts.full(&extranonce), transactions: job.transactions.clone() })
}
