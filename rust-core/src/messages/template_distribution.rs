//! Template Distribution Protocol messages (extension_type 0x0000, ids 0x70–0x76, never
//! channel messages).

use alloc::vec::Vec;

use crate::codec::{CodecError, Seq0_255, Seq0_64K, Str0_255, B0_16M, B0_255, B0_64K, U256};

sv2_struct! {
    /// How much room the client needs in the coinbase for its own outputs.
    CoinbaseOutputConstraints {
        /// Serialized bytes of outputs the client adds.
        coinbase_output_max_additional_size: u32,
        /// Sigops of outputs the client adds.
        coinbase_output_max_additional_sigops: u16,
    }
}

sv2_struct! {
    /// A block template.
    NewTemplate<'a> {
        /// Strictly increasing id.
        template_id: u64,
        /// True: for the next block, activated by a later SetNewPrevHash.
        future_template: bool,
        /// Block header version.
        version: u32,
        /// Coinbase transaction version.
        coinbase_tx_version: u32,
        /// Start of the coinbase scriptSig (BIP34 height).
        coinbase_prefix: B0_255<'a>,
        /// Coinbase input nSequence.
        coinbase_tx_input_sequence: u32,
        /// Satoshis available to the outputs the client adds.
        coinbase_tx_value_remaining: u64,
        /// Number of outputs in coinbase_tx_outputs.
        coinbase_tx_outputs_count: u32,
        /// Serialized outputs that must end the coinbase (no count prefix).
        coinbase_tx_outputs: B0_64K<'a>,
        /// Coinbase lock time.
        coinbase_tx_locktime: u32,
        /// Merkle path, leaf level first.
        merkle_path: Seq0_255<'a, U256>,
    }
}

/// A [`NewTemplate`] that owns its bytes, to keep past the frame it arrived in (a Job
/// Declaration client's templates, a test's); [`OwnedTemplate::message`] lends it back as the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedTemplate {
    /// `template_id`.
    pub id: u64,
    /// `future_template`.
    pub future: bool,
    /// `version`.
    pub version: u32,
    /// `coinbase_tx_version`.
    pub coinbase_version: u32,
    /// `coinbase_prefix`.
    pub prefix: Vec<u8>,
    /// `coinbase_tx_input_sequence`.
    pub sequence: u32,
    /// `coinbase_tx_value_remaining`.
    pub value: u64,
    /// `coinbase_tx_outputs_count`.
    pub outputs_count: u32,
    /// `coinbase_tx_outputs`.
    pub outputs: Vec<u8>,
    /// `coinbase_tx_locktime`.
    pub locktime: u32,
    /// `merkle_path`.
    pub path: Vec<U256>,
}

impl From<&NewTemplate<'_>> for OwnedTemplate {
    fn from(t: &NewTemplate<'_>) -> Self {
        OwnedTemplate {
            id: t.template_id,
            future: t.future_template,
            version: t.version,
            coinbase_version: t.coinbase_tx_version,
            prefix: t.coinbase_prefix.as_bytes().to_vec(),
            sequence: t.coinbase_tx_input_sequence,
            value: t.coinbase_tx_value_remaining,
            outputs_count: t.coinbase_tx_outputs_count,
            outputs: t.coinbase_tx_outputs.as_bytes().to_vec(),
            locktime: t.coinbase_tx_locktime,
            path: t.merkle_path.to_vec(),
        }
    }
}

impl OwnedTemplate {
    /// The message over these bytes; fails when a field was made longer than NewTemplate
    /// allows (one taken from a message always fits).
    pub fn message(&self) -> Result<NewTemplate<'_>, CodecError> {
        Ok(NewTemplate {
            template_id: self.id,
            future_template: self.future,
            version: self.version,
            coinbase_tx_version: self.coinbase_version,
            coinbase_prefix: B0_255::new(&self.prefix)?,
            coinbase_tx_input_sequence: self.sequence,
            coinbase_tx_value_remaining: self.value,
            coinbase_tx_outputs_count: self.outputs_count,
            coinbase_tx_outputs: B0_64K::new(&self.outputs)?,
            coinbase_tx_locktime: self.locktime,
            merkle_path: Seq0_255::new(&self.path)?,
        })
    }
}

sv2_struct! {
    /// The Template Distribution SetNewPrevHash: a new tip and the template to mine on it.
    SetNewPrevHashTdp {
        /// A future template built for this tip.
        template_id: u64,
        /// New previous block hash.
        prev_hash: U256,
        /// Suggested nTime.
        header_timestamp: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Solution target (may be harder than nbits).
        target: U256,
    }
}

sv2_struct! {
    /// Asks for the template's transactions.
    RequestTransactionData {
        /// The template.
        template_id: u64,
    }
}

sv2_struct! {
    /// The template's transactions.
    RequestTransactionDataSuccess<'a> {
        /// The template.
        template_id: u64,
        /// Opaque extra data (usually the witness commitment data).
        excess_data: B0_64K<'a>,
        /// Every non-coinbase transaction, serialized with witness.
        transaction_list: Seq0_64K<'a, B0_16M<'a>>,
    }
}

sv2_struct! {
    /// Transactions are not available for the template.
    RequestTransactionDataError<'a> {
        /// The template.
        template_id: u64,
        /// `template-id-not-found` or `stale-template-id`.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// A block solution on a template.
    SubmitSolution<'a> {
        /// The template.
        template_id: u64,
        /// Header version.
        version: u32,
        /// Header nTime.
        header_timestamp: u32,
        /// Header nonce.
        header_nonce: u32,
        /// Full serialized coinbase, witness included.
        coinbase_tx: B0_64K<'a>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_template_lends_back_the_message_it_came_from() {
        let path = [[7u8; 32], [8; 32]];
        let m = NewTemplate {
            template_id: 9,
            future_template: true,
            version: 0x2000_0000,
            coinbase_tx_version: 2,
            coinbase_prefix: B0_255::new(&[0x01, 0x65]).unwrap(),
            coinbase_tx_input_sequence: u32::MAX,
            coinbase_tx_value_remaining: 5_000_000_000,
            coinbase_tx_outputs_count: 1,
            coinbase_tx_outputs: B0_64K::new(&[0; 43]).unwrap(),
            coinbase_tx_locktime: 7,
            merkle_path: Seq0_255::new(&path).unwrap(),
        };
        let owned = OwnedTemplate::from(&m);
        assert_eq!(owned.message().unwrap(), m);
        // Fields set by hand past the message's bounds are refused, not cut.
        let long = OwnedTemplate { prefix: vec![0; 256], ..owned };
        assert!(long.message().is_err());
    }
}
