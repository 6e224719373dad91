//! Block templates: what a source delivers (every candidate transaction on a tip, in an order
//! where parents come before children) and what one client is served (the longest prefix of
//! those transactions that fits the room its CoinbaseOutputConstraints ask for, with the
//! coinbase outputs, merkle path and witness commitment of exactly that set).

use std::sync::Arc;

use bitcoin::consensus::{deserialize_partial, serialize};
use bitcoin::hashes::{sha256d, Hash as _};
use bitcoin::script::Builder;
use bitcoin::{ScriptBuf, TxOut};
use sv2::channels::coinbase::serialize_output;
use sv2::channels::hash::{coinbase_merkle_path, sha256d as sha256d_bytes};
use sv2::channels::target::target_from_nbits;
use sv2::codec::{Bytes, Seq};
use sv2::jd::coinbase::tx_ids;
use sv2::messages::{NewTemplate, OwnedTemplate, SetNewPrevHashTdp};

/// Consensus limit on block weight.
pub const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Consensus limit on a block's sigop cost.
pub const MAX_BLOCK_SIGOPS_COST: u64 = 80_000;
/// The coinbase witness reserved value the commitment is computed with (BIP141).
pub const WITNESS_RESERVED_VALUE: [u8; 32] = [0; 32];
/// Script prefix of the witness commitment output: OP_RETURN, push 36, 0xaa21a9ed.
const WITNESS_COMMITMENT_HEADER: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
/// Coinbase transaction version, input sequence and lock time of every served template.
pub const COINBASE_TX_VERSION: u32 = 2;
/// See [`COINBASE_TX_VERSION`].
pub const COINBASE_SEQUENCE: u32 = 0xffff_ffff;
/// See [`COINBASE_TX_VERSION`].
pub const COINBASE_LOCKTIME: u32 = 0;

/// One transaction a template may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateTx {
    /// Consensus serialization, with witness when it has one.
    pub data: Vec<u8>,
    /// Txid, internal byte order.
    pub txid: [u8; 32],
    /// Wtxid, internal byte order.
    pub wtxid: [u8; 32],
    /// Fee in satoshis.
    pub fee: u64,
    /// BIP141 weight.
    pub weight: u64,
    /// Sigop cost (legacy sigops count four).
    pub sigops_cost: u64,
}

/// A template as the node gives it: the next block on `prev_hash`, before any client's
/// constraints are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTemplate {
    /// Height of the block this template builds.
    pub height: u32,
    /// Hash of the tip it builds on, internal byte order.
    pub prev_hash: [u8; 32],
    /// Header version.
    pub version: u32,
    /// Compact network target.
    pub bits: u32,
    /// Suggested header time (at least the median time past plus one).
    pub time: u32,
    /// Block subsidy in satoshis (coinbase value without fees).
    pub subsidy: u64,
    /// Candidate transactions, parents before children.
    pub txs: Vec<TemplateTx>,
}

/// A client's CoinbaseOutputConstraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Constraints {
    /// Serialized bytes of the outputs the client adds.
    pub max_additional_size: u32,
    /// Sigops of the outputs the client adds.
    pub max_additional_sigops: u16,
}

impl Constraints {
    /// Block weight kept free for the coinbase: header, transaction count, a coinbase with a
    /// 100-byte scriptSig and the witness commitment, and the client's outputs (the table in
    /// the spec's §7), never less than Bitcoin Core's floor of 2000.
    pub fn reserved_weight(&self) -> u64 {
        (1168 + 4 * u64::from(self.max_additional_size)).max(2000)
    }

    /// Sigop cost kept free for the client's outputs (counted as legacy sigops, the worst case).
    pub fn reserved_sigops_cost(&self) -> u64 {
        4 * u64::from(self.max_additional_sigops)
    }
}

/// Why no template can be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The client's outputs alone would not fit in a block.
    ConstraintsTooLarge(Constraints),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::ConstraintsTooLarge(c) => write!(
                f,
                "coinbase outputs of {} bytes and {} sigops leave no room for a block",
                c.max_additional_size, c.max_additional_sigops
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Block subsidy at `height` with `halving_interval` (210 000 on main networks, 150 on regtest).
pub fn block_subsidy(height: u32, halving_interval: u32) -> u64 {
    let halvings = height / halving_interval;
    if halvings >= 64 {
        return 0;
    }
    (50 * 100_000_000u64) >> halvings
}

/// `template` as declared for the current tip with `txs` (serialized, in block order) in place
/// of its own transactions: its witness commitment output and coinbase merkle path recomputed
/// over `txs`. Fails when a transaction or the template's outputs do not parse, or when the
/// template has no witness commitment output.
pub fn with_transactions(template: &OwnedTemplate, txs: &[Vec<u8>]) -> Result<OwnedTemplate, String> {
    let ids = txs
        .iter()
        .enumerate()
        .map(|(i, t)| tx_ids(t).ok_or_else(|| format!("transaction {i} does not parse")))
        .collect::<Result<Vec<_>, _>>()?;
    let leaves: Vec<[u8; 32]> = std::iter::once([0; 32]).chain(ids.iter().map(|i| i.0)).collect();
    let mut rest = &template.outputs[..];
    let mut outputs = Vec::with_capacity(template.outputs.len());
    let mut committed = false;
    for _ in 0..template.outputs_count {
        let (mut o, n): (TxOut, usize) = deserialize_partial(rest).map_err(|e| format!("template outputs: {e}"))?;
        rest = &rest[n..];
        if o.script_pubkey.as_bytes().starts_with(&WITNESS_COMMITMENT_HEADER) {
            o.script_pubkey = ScriptBuf::from_bytes(witness_commitment_script(ids.iter().map(|i| &i.1)));
            committed = true;
        }
        outputs.extend(serialize(&o));
    }
    if !committed {
        return Err("the template has no witness commitment output".into());
    }
    Ok(OwnedTemplate { future: false, outputs, path: coinbase_merkle_path(&leaves), ..template.clone() })
}

/// The BIP34 height push that opens the coinbase scriptSig (OP_1..OP_16 for small heights,
/// as Bitcoin Core writes it).
pub fn bip34_prefix(height: u32) -> Vec<u8> {
    Builder::new().push_int(i64::from(height)).into_script().into_bytes()
}

/// The witness commitment script over a coinbase (wtxid zero) and `wtxids`.
pub fn witness_commitment_script<'a>(wtxids: impl Iterator<Item = &'a [u8; 32]>) -> Vec<u8> {
    let leaves = std::iter::once(sha256d::Hash::all_zeros())
        .chain(wtxids.map(|w| sha256d::Hash::from_byte_array(*w)))
        .collect::<Vec<_>>();
    let root = bitcoin::merkle_tree::calculate_root(leaves.into_iter()).unwrap_or_else(sha256d::Hash::all_zeros);
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(root.as_byte_array());
    buf[32..].copy_from_slice(&WITNESS_RESERVED_VALUE);
    let mut script = WITNESS_COMMITMENT_HEADER.to_vec();
    script.extend_from_slice(&sha256d_bytes(&buf));
    script
}

impl BlockTemplate {
    /// Sum of all candidate fees.
    pub fn total_fees(&self) -> u64 {
        self.txs.iter().map(|t| t.fee).sum()
    }

    /// How many leading transactions fit next to a coinbase made under `c`. A prefix keeps
    /// every parent before its children.
    pub fn fitting_prefix(&self, c: Constraints) -> Result<usize, TemplateError> {
        let reserved = c.reserved_weight();
        let reserved_sigops = c.reserved_sigops_cost();
        if reserved > MAX_BLOCK_WEIGHT || reserved_sigops > MAX_BLOCK_SIGOPS_COST {
            return Err(TemplateError::ConstraintsTooLarge(c));
        }
        let (mut weight, mut sigops) = (reserved, reserved_sigops);
        for (i, tx) in self.txs.iter().enumerate() {
            weight += tx.weight;
            sigops += tx.sigops_cost;
            if weight > MAX_BLOCK_WEIGHT || sigops > MAX_BLOCK_SIGOPS_COST {
                return Ok(i);
            }
        }
        Ok(self.txs.len())
    }
}

/// A template as served to clients: an id, and the first `tx_count` transactions of its
/// source template.
#[derive(Debug, Clone)]
pub struct ServedTemplate {
    /// The template id (strictly increasing over the server's life).
    pub id: u64,
    /// The source template.
    pub base: Arc<BlockTemplate>,
    /// How many of the base's transactions this template carries.
    pub tx_count: usize,
    /// Subsidy plus the fees of the carried transactions.
    pub coinbase_value: u64,
    /// BIP34 scriptSig start.
    pub coinbase_prefix: Vec<u8>,
    /// The witness commitment output, serialized.
    pub coinbase_outputs: Vec<u8>,
    /// Merkle path of the coinbase, leaf level first.
    pub merkle_path: Vec<[u8; 32]>,
}

impl ServedTemplate {
    /// Builds the served form of the first `tx_count` transactions of `base`.
    pub fn build(id: u64, base: Arc<BlockTemplate>, tx_count: usize) -> Self {
        let txs = &base.txs[..tx_count];
        let mut txids = Vec::with_capacity(tx_count + 1);
        txids.push([0u8; 32]); // the coinbase leaf; the path never contains it
        txids.extend(txs.iter().map(|t| t.txid));
        let merkle_path = coinbase_merkle_path(&txids);
        let commitment = witness_commitment_script(txs.iter().map(|t| &t.wtxid));
        ServedTemplate {
            id,
            coinbase_value: base.subsidy + txs.iter().map(|t| t.fee).sum::<u64>(),
            coinbase_prefix: bip34_prefix(base.height),
            coinbase_outputs: serialize_output(0, &commitment),
            merkle_path,
            tx_count,
            base,
        }
    }

    /// The carried transactions, in block order.
    pub fn txs(&self) -> &[TemplateTx] {
        &self.base.txs[..self.tx_count]
    }

    /// The NewTemplate message.
    pub fn new_template(&self, future: bool) -> NewTemplate<'_> {
        NewTemplate {
            template_id: self.id,
            future_template: future,
            version: self.base.version,
            coinbase_tx_version: COINBASE_TX_VERSION,
            // Bounded by construction: a height push is at most 5 bytes, one output is 47,
            // and a merkle path of a 4 MWU block has at most 15 levels.
            coinbase_prefix: Bytes::new(&self.coinbase_prefix).unwrap_or(Bytes::EMPTY),
            coinbase_tx_input_sequence: COINBASE_SEQUENCE,
            coinbase_tx_value_remaining: self.coinbase_value,
            coinbase_tx_outputs_count: 1,
            coinbase_tx_outputs: Bytes::new(&self.coinbase_outputs).unwrap_or(Bytes::EMPTY),
            coinbase_tx_locktime: COINBASE_LOCKTIME,
            merkle_path: Seq::new(&self.merkle_path).unwrap_or(Seq::EMPTY),
        }
    }

    /// The SetNewPrevHash that activates this template.
    pub fn set_new_prev_hash(&self) -> SetNewPrevHashTdp {
        SetNewPrevHashTdp {
            template_id: self.id,
            prev_hash: self.base.prev_hash,
            header_timestamp: self.base.time,
            nbits: self.base.bits,
            target: target_from_nbits(self.base.bits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::deserialize;
    use bitcoin::Transaction;
    use sv2::channels::coinbase::CoinbaseSpec;
    use sv2::channels::hash::merkle_root;

    fn tx(i: u8, weight: u64, fee: u64) -> TemplateTx {
        TemplateTx {
            data: vec![i],
            txid: sha256d_bytes(&[i]),
            wtxid: sha256d_bytes(&[i, i]),
            fee,
            weight,
            sigops_cost: 4,
        }
    }

    fn base(txs: Vec<TemplateTx>) -> Arc<BlockTemplate> {
        Arc::new(BlockTemplate {
            height: 300,
            prev_hash: [7; 32],
            version: 0x2000_0000,
            bits: 0x207f_ffff,
            time: 1_700_000_000,
            subsidy: block_subsidy(300, 150),
            txs,
        })
    }

    #[test]
    fn subsidy_halves() {
        assert_eq!(block_subsidy(0, 150), 5_000_000_000);
        assert_eq!(block_subsidy(150, 150), 2_500_000_000);
        assert_eq!(block_subsidy(840_000, 210_000), 312_500_000);
        assert_eq!(block_subsidy(64 * 150, 150), 0);
    }

    #[test]
    fn bip34_prefix_matches_core() {
        assert_eq!(bip34_prefix(1), vec![0x51]);
        assert_eq!(bip34_prefix(16), vec![0x60]);
        assert_eq!(bip34_prefix(17), vec![0x01, 0x11]);
        assert_eq!(bip34_prefix(128), vec![0x02, 0x80, 0x00]);
        assert_eq!(bip34_prefix(840_000), vec![0x03, 0x40, 0xd1, 0x0c]);
    }

    /// A real (parseable) transaction with its ids, spending a made-up coin `i`.
    fn real_tx(i: u8) -> TemplateTx {
        let t = Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![bitcoin::TxIn {
                previous_output: bitcoin::OutPoint { txid: bitcoin::Txid::from_byte_array([i; 32]), vout: 0 },
                witness: bitcoin::Witness::from_slice(&[[i; 8]]),
                ..Default::default()
            }],
            output: vec![TxOut { value: bitcoin::Amount::from_sat(1_000), script_pubkey: ScriptBuf::new() }],
        };
        TemplateTx {
            data: serialize(&t),
            txid: t.compute_txid().to_byte_array(),
            wtxid: t.compute_wtxid().to_byte_array(),
            fee: 0,
            weight: t.weight().to_wu(),
            sigops_cost: 0,
        }
    }

    #[test]
    fn a_template_redeclared_with_transactions_is_the_one_served_with_them() {
        let b = base(vec![real_tx(1), real_tx(2)]);
        let empty = ServedTemplate::build(4, b.clone(), 0);
        let full = ServedTemplate::build(4, b.clone(), 2);
        let txs: Vec<Vec<u8>> = b.txs.iter().map(|t| t.data.clone()).collect();
        let declared = with_transactions(&OwnedTemplate::from(&empty.new_template(true)), &txs).unwrap();
        assert_eq!(declared, OwnedTemplate::from(&full.new_template(false)));
        // And back: no transactions gives the empty template's commitment and path.
        let none = with_transactions(&declared, &[]).unwrap();
        assert_eq!(none, OwnedTemplate::from(&empty.new_template(false)));

        assert!(with_transactions(&declared, &[vec![0xff; 10]]).unwrap_err().contains("transaction 0"));
        let uncommitted = OwnedTemplate { outputs_count: 0, outputs: Vec::new(), ..declared.clone() };
        assert!(with_transactions(&uncommitted, &txs).unwrap_err().contains("no witness commitment"));
        let cut = OwnedTemplate { outputs: declared.outputs[..5].to_vec(), ..declared };
        assert!(with_transactions(&cut, &txs).unwrap_err().contains("template outputs"));
    }

    #[test]
    fn constraints_cut_the_transaction_list() {
        let b = base((0..10).map(|i| tx(i, 400_000, 100)).collect());
        let small = Constraints { max_additional_size: 100, max_additional_sigops: 4 };
        // 10 × 400 000 WU plus the reservation exceeds 4 MWU: nine fit.
        assert_eq!(b.fitting_prefix(small), Ok(9));
        let big = Constraints { max_additional_size: 900_000, max_additional_sigops: 4 };
        assert_eq!(b.fitting_prefix(big), Ok(0));
        let huge = Constraints { max_additional_size: 1_000_000, max_additional_sigops: 4 };
        assert_eq!(b.fitting_prefix(huge), Err(TemplateError::ConstraintsTooLarge(huge)));
        let sigops = Constraints { max_additional_size: 0, max_additional_sigops: 19_999 };
        assert_eq!(b.fitting_prefix(sigops), Ok(1));
    }

    #[test]
    fn served_template_builds_a_consistent_coinbase() {
        let b = base((0..5).map(|i| tx(i, 1000, 10 + u64::from(i))).collect());
        let t = ServedTemplate::build(9, b.clone(), 3);
        assert_eq!(t.coinbase_value, b.subsidy + 10 + 11 + 12);
        let nt = t.new_template(true);
        let parts = CoinbaseSpec {
            version: nt.coinbase_tx_version,
            script_prefix: nt.coinbase_prefix.as_bytes(),
            tag: b"",
            sequence: nt.coinbase_tx_input_sequence,
            pool_outputs: &serialize_output(nt.coinbase_tx_value_remaining, &[0x51]),
            pool_outputs_count: 1,
            template_outputs: nt.coinbase_tx_outputs.as_bytes(),
            template_outputs_count: nt.coinbase_tx_outputs_count,
            locktime: nt.coinbase_tx_locktime,
            extranonce_len: 8,
        }
        .build()
        .unwrap();
        assert!(parts.segwit);
        let full: Transaction = deserialize(&parts.full(&[1; 8])).unwrap();
        let commitment = &full.output[1].script_pubkey;
        assert_eq!(commitment.as_bytes(), witness_commitment_script(t.txs().iter().map(|x| &x.wtxid)).as_slice());
        // The root from the path equals the root over every txid.
        let path: Vec<[u8; 32]> = nt.merkle_path.iter().collect();
        let root = merkle_root(&parts.stripped(&[1; 8]), &path);
        let all = std::iter::once(full.compute_txid().to_byte_array())
            .chain(t.txs().iter().map(|x| x.txid))
            .map(sha256d::Hash::from_byte_array);
        assert_eq!(Some(root), bitcoin::merkle_tree::calculate_root(all).map(|h| h.to_byte_array()));
        let snph = t.set_new_prev_hash();
        assert_eq!((snph.template_id, snph.prev_hash, snph.nbits), (9, [7; 32], 0x207f_ffff));
    }
}
