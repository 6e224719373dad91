//! Job Declaration Protocol messages (ids 0x50–0x60).

use super::{sv2_bytes, sv2_bytes_list, sv2_u16_list, sv2_u256_list};

/// Message id of AllocateMiningJobToken.
pub const SV2_MSG_ALLOCATE_MINING_JOB_TOKEN: u8 = 0x50;
/// Message id of AllocateMiningJobToken.Success.
pub const SV2_MSG_ALLOCATE_MINING_JOB_TOKEN_SUCCESS: u8 = 0x51;
/// Message id of ProvideMissingTransactions.
pub const SV2_MSG_PROVIDE_MISSING_TRANSACTIONS: u8 = 0x55;
/// Message id of ProvideMissingTransactions.Success.
pub const SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS: u8 = 0x56;
/// Message id of DeclareMiningJob.
pub const SV2_MSG_DECLARE_MINING_JOB: u8 = 0x57;
/// Message id of DeclareMiningJob.Success.
pub const SV2_MSG_DECLARE_MINING_JOB_SUCCESS: u8 = 0x58;
/// Message id of DeclareMiningJob.Error.
pub const SV2_MSG_DECLARE_MINING_JOB_ERROR: u8 = 0x59;
/// Message id of PushSolution.
pub const SV2_MSG_PUSH_SOLUTION: u8 = 0x60;

/// AllocateMiningJobToken: the job declarator client asks for a token.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_allocate_mining_job_token {
    /// User the job is for (STR0_255).
    pub user_identifier: sv2_bytes,
    /// Client-chosen id, echoed in the reply.
    pub request_id: u32,
}
convert!(sv2_allocate_mining_job_token, AllocateMiningJobToken<'a> { user_identifier, request_id });

/// AllocateMiningJobToken.Success: a token and the pool's coinbase outputs.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_allocate_mining_job_token_success {
    /// Echoed request id.
    pub request_id: u32,
    /// The token (B0_255).
    pub mining_job_token: sv2_bytes,
    /// CompactSize count followed by the pool's outputs (B0_64K).
    pub coinbase_tx_outputs: sv2_bytes,
}
convert!(sv2_allocate_mining_job_token_success, AllocateMiningJobTokenSuccess<'a> {
    request_id, mining_job_token, coinbase_tx_outputs
});

/// ProvideMissingTransactions: the server needs the full transactions at these positions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_provide_missing_transactions {
    /// The DeclareMiningJob's request id.
    pub request_id: u32,
    /// 0-based positions in its wtxid_list (`SEQ0_64K[U16]`).
    pub unknown_tx_position_list: sv2_u16_list,
}
convert!(sv2_provide_missing_transactions, ProvideMissingTransactions<'a> { request_id, unknown_tx_position_list });

/// ProvideMissingTransactions.Success: the requested transactions, in the requested order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_provide_missing_transactions_success {
    /// The DeclareMiningJob's request id.
    pub request_id: u32,
    /// Serialized transactions (`SEQ0_64K[B0_16M]`).
    pub transaction_list: sv2_bytes_list,
}
convert!(sv2_provide_missing_transactions_success, ProvideMissingTransactionsSuccess<'a> {
    request_id, transaction_list
});

/// DeclareMiningJob: the client declares the job it wants to mine.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_declare_mining_job {
    /// Client-chosen id, echoed in the reply.
    pub request_id: u32,
    /// Token from AllocateMiningJobToken.Success (B0_255).
    pub mining_job_token: sv2_bytes,
    /// Block header version.
    pub version: u32,
    /// Coinbase bytes before the extranonce, witness data kept (B0_64K).
    pub coinbase_tx_prefix: sv2_bytes,
    /// Coinbase bytes after the extranonce, witness data kept (B0_64K).
    pub coinbase_tx_suffix: sv2_bytes,
    /// wtxids of every non-coinbase transaction in block order (`SEQ0_64K[U256]`).
    pub wtxid_list: sv2_u256_list,
    /// Opaque data from the template provider (B0_64K).
    pub excess_data: sv2_bytes,
}
convert!(sv2_declare_mining_job, DeclareMiningJob<'a> {
    request_id, mining_job_token, version, coinbase_tx_prefix, coinbase_tx_suffix, wtxid_list, excess_data
});

/// DeclareMiningJob.Success: the job is accepted.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_declare_mining_job_success {
    /// Echoed request id.
    pub request_id: u32,
    /// Token proving the declaration, for SetCustomMiningJob (B0_255).
    pub new_mining_job_token: sv2_bytes,
}
convert!(sv2_declare_mining_job_success, DeclareMiningJobSuccess<'a> { request_id, new_mining_job_token });

/// DeclareMiningJob.Error: the job is rejected.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_declare_mining_job_error {
    /// Echoed request id.
    pub request_id: u32,
    /// Error code (STR0_255).
    pub error_code: sv2_bytes,
    /// Details (B0_64K).
    pub error_details: sv2_bytes,
}
convert!(sv2_declare_mining_job_error, DeclareMiningJobError<'a> { request_id, error_code, error_details });

/// PushSolution: a block was found on the declared job.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_push_solution {
    /// Full extranonce, prefix and rolled part (B0_32).
    pub extranonce: sv2_bytes,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Network target, compact form.
    pub nbits: u32,
    /// Header version.
    pub version: u32,
}
convert!(sv2_push_solution, PushSolution<'a> { extranonce, prev_hash, nonce, ntime, nbits, version });
