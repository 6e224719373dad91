//! Template Distribution Protocol messages (extension_type 0x0000, ids 0x70–0x76, never
//! channel messages).

use crate::codec::{Seq0_255, Seq0_64K, Str0_255, B0_16M, B0_255, B0_64K, U256};

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
