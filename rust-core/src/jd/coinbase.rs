//! The coinbase of a custom job, in the forms the messages carry it: DeclareMiningJob's
//! full (witness) prefix and suffix around the extranonce, SetCustomMiningJob's fields, and
//! the witness-stripped [`CoinbaseParts`] a channel mines with. And the pool's outputs a
//! custom coinbase must pay.

use bitcoin::consensus::{deserialize, Decodable};
use bitcoin::{Script, TxOut, VarInt};

use super::codes;
use crate::channels::coinbase::{push_compact_size, serialize_output, CoinbaseParts, MAX_SCRIPT_SIG};
use crate::messages::{CoinbaseOutputConstraints, SetCustomMiningJob};

/// Script prefix of a witness commitment output (OP_RETURN, push 36, 0xaa21a9ed).
const WITNESS_COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
/// version, input count, null prevout: the stripped coinbase bytes before the scriptSig length.
const BEFORE_SCRIPT_LEN: usize = 4 + 1 + 36;
/// The longest extranonce a PushSolution can carry (B0_32).
pub const MAX_EXTRANONCE: usize = 32;

/// A coinbase with an extranonce hole at the end of its scriptSig (where the reference
/// implementation puts it: `scriptSig = coinbase_prefix ‖ extranonce`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomCoinbase {
    /// Transaction version.
    pub version: u32,
    /// The scriptSig bytes before the extranonce (SetCustomMiningJob.coinbase_prefix).
    pub script_prefix: Vec<u8>,
    /// Length of the extranonce in the hole.
    pub extranonce_len: usize,
    /// Input nSequence.
    pub sequence: u32,
    /// CompactSize count and serialized outputs (SetCustomMiningJob.coinbase_tx_outputs).
    pub outputs: Vec<u8>,
    /// Lock time.
    pub locktime: u32,
}

/// Reads `n` bytes off the front of `cursor`.
fn take<'a>(cursor: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if cursor.len() < n {
        return None;
    }
    let (head, rest) = cursor.split_at(n);
    *cursor = rest;
    Some(head)
}

fn take_u32(cursor: &mut &[u8]) -> Option<u32> {
    take(cursor, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses CompactSize-counted outputs filling `bytes` exactly.
pub fn parse_counted_outputs(bytes: &[u8]) -> Option<Vec<TxOut>> {
    let mut cursor = bytes;
    let count = VarInt::consensus_decode(&mut cursor).ok()?.0;
    // Each output takes at least 9 bytes: no count can make this loop outrun the input.
    if count > (cursor.len() / 9) as u64 {
        return None;
    }
    let outs = (0..count).map(|_| TxOut::consensus_decode(&mut cursor).ok()).collect::<Option<Vec<_>>>()?;
    cursor.is_empty().then_some(outs)
}

fn has_witness_commitment(outs: &[TxOut]) -> bool {
    outs.iter().any(|o| o.script_pubkey.as_bytes().starts_with(&WITNESS_COMMITMENT_PREFIX))
}

impl CustomCoinbase {
    /// Parses DeclareMiningJob's coinbase prefix and suffix (full serialization, split at the
    /// extranonce). Fails with the DeclareMiningJob.Error code.
    pub fn parse_declared(prefix: &[u8], suffix: &[u8]) -> Result<Self, &'static str> {
        let mut p = prefix;
        let version = take_u32(&mut p).ok_or(codes::INVALID_COINBASE_TX)?;
        let marker = p.starts_with(&[0x00, 0x01]);
        if marker {
            p = &p[2..];
        }
        let input = take(&mut p, 1 + 36 + 1).ok_or(codes::INVALID_COINBASE_TX_INPUT)?;
        if input[0] != 1 || input[1..33] != [0; 32] || input[33..37] != [0xff; 4] {
            return Err(codes::INVALID_COINBASE_TX_INPUT);
        }
        let script_len = usize::from(input[37]);
        if !(2..=MAX_SCRIPT_SIG).contains(&script_len) || p.len() > script_len {
            return Err(codes::INVALID_COINBASE_TX_INPUT);
        }
        let extranonce_len = script_len - p.len();
        if extranonce_len > MAX_EXTRANONCE {
            return Err(codes::INVALID_COINBASE_TX_INPUT);
        }
        let script_prefix = p.to_vec();

        let mut s = suffix;
        let sequence = take_u32(&mut s).ok_or(codes::INVALID_COINBASE_TX)?;
        let body_len = s.len().checked_sub(4 + if marker { 34 } else { 0 }).ok_or(codes::INVALID_COINBASE_TX)?;
        let outputs = take(&mut s, body_len).ok_or(codes::INVALID_COINBASE_TX)?;
        let outs = parse_counted_outputs(outputs).ok_or(codes::INVALID_COINBASE_TX)?;
        // The witness is the 32-byte zero reserved value and nothing else, and is there
        // exactly when an output commits to witnesses.
        if marker && take(&mut s, 34) != Some(&[[0x01, 0x20].as_slice(), &[0; 32]].concat()[..]) {
            return Err(codes::INVALID_COINBASE_TX);
        }
        if marker != has_witness_commitment(&outs) {
            return Err(codes::INVALID_COINBASE_TX);
        }
        let locktime = take_u32(&mut s).ok_or(codes::INVALID_COINBASE_TX)?;
        Ok(CustomCoinbase { version, script_prefix, extranonce_len, sequence, outputs: outputs.to_vec(), locktime })
    }

    /// The coinbase a SetCustomMiningJob describes, with a hole of `extranonce_len` bytes (the
    /// channel's full extranonce). Fails with the SetCustomMiningJob.Error code.
    pub fn from_set_custom(m: &SetCustomMiningJob<'_>, extranonce_len: usize) -> Result<Self, &'static str> {
        let script_len = m.coinbase_prefix.len() + extranonce_len;
        if !(2..=MAX_SCRIPT_SIG).contains(&script_len) || extranonce_len > MAX_EXTRANONCE {
            return Err(codes::INVALID_COINBASE_PREFIX);
        }
        parse_counted_outputs(m.coinbase_tx_outputs.as_bytes()).ok_or(codes::INVALID_COINBASE_TX_OUTPUTS)?;
        Ok(CustomCoinbase {
            version: m.coinbase_tx_version,
            script_prefix: m.coinbase_prefix.as_bytes().to_vec(),
            extranonce_len,
            sequence: m.coinbase_tx_input_nsequence,
            outputs: m.coinbase_tx_outputs.as_bytes().to_vec(),
            locktime: m.coinbase_tx_locktime,
        })
    }

    /// The same coinbase from the parts a [`crate::channels::coinbase::CoinbaseSpec`] built
    /// (None if they are not a one-input coinbase with the hole at the end of the scriptSig).
    pub fn from_parts(parts: &CoinbaseParts) -> Option<Self> {
        let (head, script_prefix) = parts.prefix.split_at_checked(BEFORE_SCRIPT_LEN + 1)?;
        let body = parts.suffix.get(4..parts.suffix.len().checked_sub(4)?)?;
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let cb = CustomCoinbase {
            version: word(head),
            script_prefix: script_prefix.to_vec(),
            extranonce_len: parts.extranonce_len,
            sequence: word(&parts.suffix),
            outputs: body.to_vec(),
            locktime: word(&parts.suffix[parts.suffix.len() - 4..]),
        };
        (cb.parts().as_ref() == Some(parts)).then_some(cb)
    }

    /// The outputs (None if they do not parse).
    pub fn tx_outs(&self) -> Option<Vec<TxOut>> {
        parse_counted_outputs(&self.outputs)
    }

    /// The witness-stripped parts a channel mines with (None if the outputs do not parse).
    pub fn parts(&self) -> Option<CoinbaseParts> {
        let segwit = has_witness_commitment(&self.tx_outs()?);
        let mut prefix = self.version.to_le_bytes().to_vec();
        prefix.push(1);
        prefix.extend_from_slice(&[0; 32]);
        prefix.extend_from_slice(&[0xff; 4]);
        push_compact_size(&mut prefix, (self.script_prefix.len() + self.extranonce_len) as u64);
        prefix.extend_from_slice(&self.script_prefix);
        let mut suffix = self.sequence.to_le_bytes().to_vec();
        suffix.extend_from_slice(&self.outputs);
        suffix.extend_from_slice(&self.locktime.to_le_bytes());
        Some(CoinbaseParts { prefix, suffix, segwit, extranonce_len: self.extranonce_len })
    }

    /// DeclareMiningJob's coinbase prefix and suffix: the full serialization split at the
    /// extranonce (None if the outputs do not parse).
    pub fn declared_prefix_suffix(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let parts = self.parts()?;
        let hole = vec![0; self.extranonce_len];
        let full = parts.full(&hole);
        let at = parts.prefix.len() + if parts.segwit { 2 } else { 0 };
        Some((full[..at].to_vec(), full[at + self.extranonce_len..].to_vec()))
    }
}

/// The outputs the pool requires in every custom coinbase, and how much of the coinbase value
/// its payout output must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOutputs {
    /// The pool's payout scriptPubKey (the first output of AllocateMiningJobToken.Success).
    pub payout_script: Vec<u8>,
    /// Further scriptPubKeys that must be present, as 0-value outputs.
    pub extra_scripts: Vec<Vec<u8>>,
    /// Parts per million of the coinbase's total output value the payout output must get
    /// (1 000 000: every satoshi the coinbase pays goes to the pool).
    pub min_payout_ppm: u32,
}

impl PoolOutputs {
    /// The pool paid by one script, with every satoshi.
    pub fn single(payout_script: &[u8]) -> Self {
        PoolOutputs { payout_script: payout_script.to_vec(), extra_scripts: Vec::new(), min_payout_ppm: 1_000_000 }
    }

    /// AllocateMiningJobToken.Success.coinbase_tx_outputs: a CompactSize count and the
    /// outputs, each with value 0 (the payout's value is the JDC's to fill in).
    pub fn advertised(&self) -> Vec<u8> {
        let mut out = Vec::new();
        push_compact_size(&mut out, 1 + self.extra_scripts.len() as u64);
        for script in core::iter::once(&self.payout_script).chain(&self.extra_scripts) {
            out.extend_from_slice(&serialize_output(0, script));
        }
        out
    }

    /// Checks that `outs` carries every required script and pays the payout script its share.
    /// Fails with the error code and details.
    pub fn check(&self, outs: &[TxOut]) -> Result<(), (&'static str, String)> {
        let paid_to = |script: &[u8]| -> Option<u64> {
            outs.iter()
                .filter(|o| o.script_pubkey.as_bytes() == script)
                .map(|o| o.value.to_sat())
                .reduce(u64::saturating_add)
        };
        let payout = paid_to(&self.payout_script)
            .ok_or((codes::POOL_OUTPUT_MISSING, "no output pays the pool's payout script".to_string()))?;
        if let Some(i) = self.extra_scripts.iter().position(|s| paid_to(s).is_none()) {
            return Err((codes::POOL_OUTPUT_MISSING, format!("no output pays the pool's required script {i}")));
        }
        let total = outs.iter().map(|o| o.value.to_sat()).fold(0u64, u64::saturating_add);
        let due = (u128::from(total) * u128::from(self.min_payout_ppm.min(1_000_000))).div_ceil(1_000_000) as u64;
        if payout == 0 || payout < due {
            return Err((codes::POOL_OUTPUT_UNDERPAID, format!("the pool's output gets {payout} of {total} sats")));
        }
        Ok(())
    }
}

/// What a JDC tells its template provider, for the pool's outputs a token came with (None if
/// they do not parse): their size and legacy sigops ×4.
pub fn constraints_for(advertised: &[u8]) -> Option<CoinbaseOutputConstraints> {
    let outs = parse_counted_outputs(advertised)?;
    let size = advertised.len().saturating_sub(VarInt(outs.len() as u64).size());
    let sigops: usize = outs.iter().map(|o| Script::count_sigops_legacy(&o.script_pubkey)).sum();
    Some(CoinbaseOutputConstraints {
        coinbase_output_max_additional_size: u32::try_from(size).ok()?,
        coinbase_output_max_additional_sigops: u16::try_from(sigops.saturating_mul(4)).unwrap_or(u16::MAX),
    })
}

/// A transaction's txid and wtxid (internal byte order), if `bytes` is exactly one
/// transaction.
pub fn tx_ids(bytes: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    use bitcoin::hashes::Hash as _;
    let tx: bitcoin::Transaction = deserialize(bytes).ok()?;
    Some((tx.compute_txid().to_byte_array(), tx.compute_wtxid().to_byte_array()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_outputs_give_the_template_provider_their_size_and_sigops() {
        let p2pkh = [[0x76, 0xa9, 0x14].as_slice(), &[0; 20], &[0x88, 0xac]].concat();
        let pool = PoolOutputs { extra_scripts: vec![vec![0x6a, 0x01, 0x07]], ..PoolOutputs::single(&p2pkh) };
        let adv = pool.advertised();
        let outs = parse_counted_outputs(&adv).unwrap();
        assert_eq!(outs.len(), 2);
        assert!(outs.iter().all(|o| o.value.to_sat() == 0));
        let c = constraints_for(&adv).unwrap();
        assert_eq!(c.coinbase_output_max_additional_size, (8 + 1 + 25) + (8 + 1 + 3));
        assert_eq!(c.coinbase_output_max_additional_sigops, 4);
        assert!(constraints_for(&[2, 0]).is_none());
    }

    #[test]
    fn the_payout_share_is_rounded_up() {
        let pool = PoolOutputs { min_payout_ppm: 500_000, ..PoolOutputs::single(&[0x51]) };
        let outs = |pool_sats, other_sats| {
            parse_counted_outputs(
                &[[2u8].as_slice(), &serialize_output(pool_sats, &[0x51]), &serialize_output(other_sats, &[0x52])]
                    .concat(),
            )
            .unwrap()
        };
        assert!(pool.check(&outs(5, 5)).is_ok());
        assert_eq!(pool.check(&outs(5, 6)).unwrap_err().0, codes::POOL_OUTPUT_UNDERPAID);
        assert_eq!(pool.check(&outs(0, 0)).unwrap_err().0, codes::POOL_OUTPUT_UNDERPAID);
    }
}
