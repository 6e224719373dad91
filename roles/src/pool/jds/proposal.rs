//! A declared job as a block proposal: the block it would make on the pool's tip, with a zero
//! extranonce and no proof of work, for the node to check (`getblocktemplate` proposal mode
//! and the embedded node's check both skip the proof of work). And which refusals are chain-tip
//! races rather than bad jobs.

use sv2::channels::coinbase::CoinbaseParts;
use sv2::channels::hash::{header_bytes, merkle_root};
use sv2::channels::server::PrevHash;
use sv2::jd::codes::STALE_CHAIN_TIP;
use sv2::jd::coinbase::CustomCoinbase;
use sv2::jd::server::{DeclaredJob, JdBlock};

/// The node's reason when a proposal's previous block is not its tip (Bitcoin Core's
/// `getblocktemplate` proposal mode and the embedded node's check alike): the pool's tip lags
/// the node's.
const NOT_BEST_PREVBLK: &str = "inconclusive-not-best-prevblk";

/// The proposal block of `job` on `tip` at `ntime` (at least the tip's min_ntime); None when
/// the declared coinbase is unusable (the core has already parsed it, so this is not expected).
pub fn block(job: &DeclaredJob, tip: &PrevHash, ntime: u32) -> Option<JdBlock> {
    let parts = job.coinbase.parts()?;
    let extranonce = vec![0u8; job.coinbase.extranonce_len];
    let root = merkle_root(&parts.stripped(&extranonce), &job.merkle_path);
    let header = header_bytes(job.version, &tip.prev_hash, &root, ntime.max(tip.min_ntime), tip.nbits, 0);
    Some(JdBlock { header, coinbase: parts.full(&extranonce), transactions: job.transactions.clone() })
}

/// The BIP34 height push a coinbase scriptSig starts with (its opcode and bytes); None if it
/// starts with something else.
fn height_push(script_sig: &[u8]) -> Option<&[u8]> {
    let len = match *script_sig.first()? {
        // OP_0 and OP_1..OP_16: heights 0 to 16.
        0x00 | 0x51..=0x60 => 1,
        n @ 0x01..=0x08 => 1 + usize::from(n),
        _ => return None,
    };
    script_sig.get(..len)
}

/// Whether `job` was declared for another block height than the pool's own job on its tip
/// (`tip_coinbase`): the JDC's template is on another tip than the pool's, before or after it.
/// False when either coinbase has no height push to compare (the node decides then).
pub fn other_height(job: &DeclaredJob, tip_coinbase: &CoinbaseParts) -> bool {
    let Some(pool) = CustomCoinbase::from_parts(tip_coinbase) else { return false };
    match (height_push(&job.coinbase.script_prefix), height_push(&pool.script_prefix)) {
        (Some(declared), Some(pool)) => declared != pool,
        _ => false,
    }
}

/// The DeclareMiningJob.Error code for the node's reject `reason`. A proposal refused because
/// the pool's tip is not the node's is a race, answered `stale-chain-tip` as when the heights
/// differ: a JDC (the reference one included) waits for the next tip on that code, where any
/// other code makes it leave the pool.
pub fn refusal_code(reason: String) -> String {
    if reason == NOT_BEST_PREVBLK {
        STALE_CHAIN_TIP.to_string()
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coinbase(script_prefix: &[u8]) -> CustomCoinbase {
        let mut outputs = vec![1];
        outputs.extend_from_slice(&sv2::channels::coinbase::serialize_output(50, &[0x51]));
        CustomCoinbase {
            version: 2,
            script_prefix: script_prefix.to_vec(),
            extranonce_len: 8,
            sequence: u32::MAX,
            outputs,
            locktime: 0,
        }
    }

    fn job(script_prefix: &[u8]) -> DeclaredJob {
        DeclaredJob {
            request_id: 1,
            user: "farm".into(),
            version: 0x2000_0000,
            coinbase: coinbase(script_prefix),
            transactions: Vec::new(),
            txids: Vec::new(),
            merkle_path: Vec::new(),
            excess_data: Vec::new(),
        }
    }

    #[test]
    fn height_pushes_are_read_from_the_script_start() {
        assert_eq!(height_push(&[0x01, 0x6f, 0x06, b'x']), Some(&[0x01, 0x6f][..]));
        assert_eq!(height_push(&[0x03, 0x40, 0x0d, 0x03, 0xff]), Some(&[0x03, 0x40, 0x0d, 0x03][..]));
        assert_eq!(height_push(&[0x00, 0x01]), Some(&[0x00][..]));
        assert_eq!(height_push(&[0x60]), Some(&[0x60][..]));
        // A push longer than the script, no script, and an opcode that is no height.
        assert_eq!(height_push(&[0x04, 0x01, 0x02]), None);
        assert_eq!(height_push(&[]), None);
        assert_eq!(height_push(&[0x4c, 0x01, 0x01]), None);
        assert_eq!(height_push(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn a_job_for_another_height_is_a_tip_race() {
        let pool = coinbase(&[0x01, 0x70, 0x06, b'l', b'i', b'b', b's', b'v', b'2']).parts().unwrap();
        // The JDC's own tag after the same height push: the same tip.
        assert!(!other_height(&job(&[0x01, 0x70, 0x03, b'j', b'd', b'c']), &pool));
        // One block behind or ahead of the pool.
        assert!(other_height(&job(&[0x01, 0x6f, 0x03, b'j', b'd', b'c']), &pool));
        assert!(other_height(&job(&[0x01, 0x71]), &pool));
        assert!(other_height(&job(&[0x02, 0x70, 0x00]), &pool));
        // No height to compare: the node decides.
        assert!(!other_height(&job(&[0x4c, 0x01, 0x70]), &pool));
        let no_height = coinbase(&[0x6a, 0x01]).parts().unwrap();
        assert!(!other_height(&job(&[0x01, 0x71]), &no_height));
    }

    #[test]
    fn only_the_not_best_prevblk_reason_becomes_stale_chain_tip() {
        assert_eq!(refusal_code("inconclusive-not-best-prevblk".into()), "stale-chain-tip");
        assert_eq!(refusal_code("bad-txns-inputs-missingorspent".into()), "bad-txns-inputs-missingorspent");
        assert_eq!(refusal_code("bad-cb-amount".into()), "bad-cb-amount");
    }
}
