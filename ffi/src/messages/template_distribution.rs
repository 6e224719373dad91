//! Template Distribution Protocol messages (ids 0x70–0x76).

use super::{sv2_bool, sv2_bytes, sv2_bytes_list, sv2_u256_list};

/// Message id of CoinbaseOutputConstraints.
pub const SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS: u8 = 0x70;
/// Message id of NewTemplate.
pub const SV2_MSG_NEW_TEMPLATE: u8 = 0x71;
/// Message id of the Template Distribution Protocol's SetNewPrevHash.
pub const SV2_MSG_SET_NEW_PREV_HASH_TDP: u8 = 0x72;
/// Message id of RequestTransactionData.
pub const SV2_MSG_REQUEST_TRANSACTION_DATA: u8 = 0x73;
/// Message id of RequestTransactionData.Success.
pub const SV2_MSG_REQUEST_TRANSACTION_DATA_SUCCESS: u8 = 0x74;
/// Message id of RequestTransactionData.Error.
pub const SV2_MSG_REQUEST_TRANSACTION_DATA_ERROR: u8 = 0x75;
/// Message id of SubmitSolution.
pub const SV2_MSG_SUBMIT_SOLUTION: u8 = 0x76;

/// CoinbaseOutputConstraints: how much room the client needs in the coinbase.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_coinbase_output_constraints {
    /// Serialized bytes of the outputs the client adds.
    pub coinbase_output_max_additional_size: u32,
    /// Sigops of the outputs the client adds.
    pub coinbase_output_max_additional_sigops: u16,
}
convert!(
    sv2_coinbase_output_constraints,
    CoinbaseOutputConstraints { coinbase_output_max_additional_size, coinbase_output_max_additional_sigops }
);

/// NewTemplate: a block template.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_new_template {
    /// Strictly increasing id.
    pub template_id: u64,
    /// Set (not 0): for the next block, activated by a later SetNewPrevHash.
    pub future_template: sv2_bool,
    /// Block header version.
    pub version: u32,
    /// Coinbase transaction version.
    pub coinbase_tx_version: u32,
    /// Start of the coinbase scriptSig, the BIP34 height (B0_255).
    pub coinbase_prefix: sv2_bytes,
    /// Coinbase input nSequence.
    pub coinbase_tx_input_sequence: u32,
    /// Satoshis available to the outputs the client adds.
    pub coinbase_tx_value_remaining: u64,
    /// Number of outputs in coinbase_tx_outputs.
    pub coinbase_tx_outputs_count: u32,
    /// Serialized outputs that must end the coinbase, without a count (B0_64K).
    pub coinbase_tx_outputs: sv2_bytes,
    /// Coinbase lock time.
    pub coinbase_tx_locktime: u32,
    /// Merkle path, leaf level first (`SEQ0_255[U256]`).
    pub merkle_path: sv2_u256_list,
}
convert!(sv2_new_template, NewTemplate<'a> {
    template_id, future_template, version, coinbase_tx_version, coinbase_prefix, coinbase_tx_input_sequence,
    coinbase_tx_value_remaining, coinbase_tx_outputs_count, coinbase_tx_outputs, coinbase_tx_locktime, merkle_path
});

/// SetNewPrevHash (Template Distribution Protocol): a new tip and the template to mine on it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_new_prev_hash_tdp {
    /// A future template built for this tip.
    pub template_id: u64,
    /// New previous block hash.
    pub prev_hash: [u8; 32],
    /// Suggested nTime.
    pub header_timestamp: u32,
    /// Network target, compact form.
    pub nbits: u32,
    /// Solution target (little-endian 256-bit; may be harder than nbits).
    pub target: [u8; 32],
}
convert!(sv2_set_new_prev_hash_tdp, SetNewPrevHashTdp { template_id, prev_hash, header_timestamp, nbits, target });

/// RequestTransactionData: asks for a template's transactions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_transaction_data {
    /// The template.
    pub template_id: u64,
}
convert!(sv2_request_transaction_data, RequestTransactionData { template_id });

/// RequestTransactionData.Success: the template's transactions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_transaction_data_success {
    /// The template.
    pub template_id: u64,
    /// Opaque extra data, usually the witness commitment data (B0_64K).
    pub excess_data: sv2_bytes,
    /// Every non-coinbase transaction, serialized with witness (`SEQ0_64K[B0_16M]`).
    pub transaction_list: sv2_bytes_list,
}
convert!(sv2_request_transaction_data_success, RequestTransactionDataSuccess<'a> {
    template_id, excess_data, transaction_list
});

/// RequestTransactionData.Error: the transactions are not available.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_transaction_data_error {
    /// The template.
    pub template_id: u64,
    /// `template-id-not-found` or `stale-template-id` (STR0_255).
    pub error_code: sv2_bytes,
}
convert!(sv2_request_transaction_data_error, RequestTransactionDataError<'a> { template_id, error_code });

/// SubmitSolution: a block solution on a template.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_submit_solution {
    /// The template.
    pub template_id: u64,
    /// Header version.
    pub version: u32,
    /// Header nTime.
    pub header_timestamp: u32,
    /// Header nonce.
    pub header_nonce: u32,
    /// Full serialized coinbase, witness included (B0_64K).
    pub coinbase_tx: sv2_bytes,
}
convert!(sv2_submit_solution, SubmitSolution<'a> {
    template_id, version, header_timestamp, header_nonce, coinbase_tx
});
