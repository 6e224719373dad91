//! The coinbase a pool builds from a template: its outputs after the template's, an
//! extranonce hole at the end of the scriptSig, and both serializations — witness-stripped
//! (what jobs carry and the txid hashes) and full (what the block and SubmitSolution carry).

use bitcoin::consensus::Decodable;
use bitcoin::TxOut;

use super::ChannelError;

/// Script prefix of a witness commitment output (OP_RETURN, push 36, 0xaa21a9ed).
const WITNESS_COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
/// Consensus limit on the coinbase scriptSig.
pub const MAX_SCRIPT_SIG: usize = 100;

/// What goes into a coinbase, taken from a NewTemplate and the pool's configuration.
#[derive(Debug, Clone)]
pub struct CoinbaseSpec<'a> {
    /// NewTemplate.coinbase_tx_version.
    pub version: u32,
    /// NewTemplate.coinbase_prefix: opens the scriptSig (BIP34 height).
    pub script_prefix: &'a [u8],
    /// Pool tag pushed after the template prefix (empty: none).
    pub tag: &'a [u8],
    /// NewTemplate.coinbase_tx_input_sequence.
    pub sequence: u32,
    /// The pool's outputs, consensus-serialized back to back (no count).
    pub pool_outputs: &'a [u8],
    /// How many outputs `pool_outputs` holds.
    pub pool_outputs_count: u32,
    /// NewTemplate.coinbase_tx_outputs (no count; they go last, unchanged).
    pub template_outputs: &'a [u8],
    /// NewTemplate.coinbase_tx_outputs_count.
    pub template_outputs_count: u32,
    /// NewTemplate.coinbase_tx_locktime.
    pub locktime: u32,
    /// Length of the full extranonce (channel prefix and rolled part) in the hole.
    pub extranonce_len: usize,
}

/// A coinbase split around its extranonce hole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseParts {
    /// Witness-stripped bytes before the extranonce.
    pub prefix: Vec<u8>,
    /// Witness-stripped bytes after it.
    pub suffix: Vec<u8>,
    /// Whether the full serialization carries a witness (the template has a witness commitment).
    pub segwit: bool,
    /// Length of the extranonce the hole takes.
    pub extranonce_len: usize,
}

/// Appends Bitcoin's CompactSize encoding of `n`.
pub fn push_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Parses `count` consensus-serialized outputs that must fill `bytes` exactly.
pub fn parse_outputs(bytes: &[u8], count: u32) -> Result<Vec<TxOut>, ChannelError> {
    let mut cursor = bytes;
    let outs = (0..count)
        .map(|_| TxOut::consensus_decode(&mut cursor).map_err(|_| ChannelError::InvalidCoinbaseOutputs))
        .collect::<Result<Vec<_>, _>>()?;
    if !cursor.is_empty() {
        return Err(ChannelError::InvalidCoinbaseOutputs);
    }
    Ok(outs)
}

/// Serializes one output.
pub fn serialize_output(value_sats: u64, script_pubkey: &[u8]) -> Vec<u8> {
    let mut out = value_sats.to_le_bytes().to_vec();
    push_compact_size(&mut out, script_pubkey.len() as u64);
    out.extend_from_slice(script_pubkey);
    out
}

impl CoinbaseSpec<'_> {
    /// Builds the parts; fails when the outputs do not parse or the scriptSig would exceed
    /// 100 bytes.
    pub fn build(&self) -> Result<CoinbaseParts, ChannelError> {
        parse_outputs(self.pool_outputs, self.pool_outputs_count)?;
        let template_outs = parse_outputs(self.template_outputs, self.template_outputs_count)?;
        let segwit = template_outs.iter().any(|o| o.script_pubkey.as_bytes().starts_with(&WITNESS_COMMITMENT_PREFIX));
        if self.extranonce_len > 75 || self.tag.len() > 75 {
            return Err(ChannelError::ScriptSigTooLong);
        }
        let tag_push = if self.tag.is_empty() { 0 } else { 1 + self.tag.len() };
        let script_len = self.script_prefix.len() + tag_push + 1 + self.extranonce_len;
        if script_len > MAX_SCRIPT_SIG {
            return Err(ChannelError::ScriptSigTooLong);
        }
        let mut prefix = self.version.to_le_bytes().to_vec();
        prefix.push(1); // one input
        prefix.extend_from_slice(&[0; 32]);
        prefix.extend_from_slice(&[0xff; 4]);
        push_compact_size(&mut prefix, script_len as u64);
        prefix.extend_from_slice(self.script_prefix);
        if !self.tag.is_empty() {
            prefix.push(self.tag.len() as u8);
            prefix.extend_from_slice(self.tag);
        }
        prefix.push(self.extranonce_len as u8); // OP_PUSHBYTES_n of the extranonce

        let mut suffix = self.sequence.to_le_bytes().to_vec();
        push_compact_size(&mut suffix, u64::from(self.pool_outputs_count) + u64::from(self.template_outputs_count));
        suffix.extend_from_slice(self.pool_outputs);
        suffix.extend_from_slice(self.template_outputs);
        suffix.extend_from_slice(&self.locktime.to_le_bytes());
        Ok(CoinbaseParts { prefix, suffix, segwit, extranonce_len: self.extranonce_len })
    }
}

impl CoinbaseParts {
    /// The witness-stripped coinbase with `extranonce` in the hole (what the txid hashes).
    pub fn stripped(&self, extranonce: &[u8]) -> Vec<u8> {
        [&self.prefix[..], extranonce, &self.suffix[..]].concat()
    }

    /// The full coinbase as the block carries it: with the segwit marker and the 32-byte zero
    /// witness reserved value when the template commits to witnesses.
    pub fn full(&self, extranonce: &[u8]) -> Vec<u8> {
        if !self.segwit {
            return self.stripped(extranonce);
        }
        let (version, rest) = self.prefix.split_at(4);
        let (body, locktime) = self.suffix.split_at(self.suffix.len() - 4);
        let mut out = Vec::with_capacity(self.prefix.len() + extranonce.len() + self.suffix.len() + 36);
        out.extend_from_slice(version);
        out.extend_from_slice(&[0x00, 0x01]);
        out.extend_from_slice(rest);
        out.extend_from_slice(extranonce);
        out.extend_from_slice(body);
        out.extend_from_slice(&[0x01, 0x20]);
        out.extend_from_slice(&[0; 32]);
        out.extend_from_slice(locktime);
        out
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::consensus::deserialize;
    use bitcoin::hashes::Hash as _;
    use bitcoin::Transaction;

    use super::*;

    fn spec<'a>(template_outputs: &'a [u8], count: u32, pool: &'a [u8]) -> CoinbaseSpec<'a> {
        CoinbaseSpec {
            version: 2,
            script_prefix: &[0x02, 0x65, 0x00],
            tag: b"libsv2",
            sequence: 0xffff_ffff,
            pool_outputs: pool,
            pool_outputs_count: 1,
            template_outputs,
            template_outputs_count: count,
            locktime: 0,
            extranonce_len: 16,
        }
    }

    #[test]
    fn both_serializations_parse_and_share_a_txid() {
        let mut commitment_script = WITNESS_COMMITMENT_PREFIX.to_vec();
        commitment_script.extend_from_slice(&[7; 32]);
        let template = serialize_output(0, &commitment_script);
        let pool = serialize_output(50_0000_0000, &[0x51]);
        let parts = spec(&template, 1, &pool).build().unwrap();
        assert!(parts.segwit);
        let extranonce = [9u8; 16];
        let full: Transaction = deserialize(&parts.full(&extranonce)).unwrap();
        let stripped: Transaction = deserialize(&parts.stripped(&extranonce)).unwrap();
        assert!(full.is_coinbase());
        assert_eq!(full.compute_txid(), stripped.compute_txid());
        assert_eq!(full.input[0].witness.len(), 1);
        assert_eq!(full.output.len(), 2);
        assert!(full.input[0].script_sig.as_bytes().ends_with(&extranonce));
        assert_eq!(super::super::hash::sha256d(&parts.stripped(&extranonce)), full.compute_txid().to_byte_array());
    }

    #[test]
    fn legacy_template_has_no_witness() {
        let pool = serialize_output(1, &[0x51]);
        let parts = spec(&[], 0, &pool).build().unwrap();
        assert!(!parts.segwit);
        assert_eq!(parts.full(&[0; 16]), parts.stripped(&[0; 16]));
    }

    #[test]
    fn bad_outputs_and_long_scripts_are_refused() {
        let pool = serialize_output(1, &[0x51]);
        assert_eq!(spec(&[1, 2, 3], 1, &pool).build(), Err(ChannelError::InvalidCoinbaseOutputs));
        let mut s = spec(&[], 0, &pool);
        s.extranonce_len = 90;
        assert_eq!(s.build(), Err(ChannelError::ScriptSigTooLong));
    }
}
