//! Job Declaration Protocol messages (extension_type 0x0000, ids 0x50–0x60, never channel
//! messages).

use crate::codec::{Seq0_64K, Str0_255, B0_16M, B0_255, B0_32, B0_64K, U256};

sv2_struct! {
    /// The JDC asks for a token to declare a job with.
    AllocateMiningJobToken<'a> {
        /// User the job is for.
        user_identifier: Str0_255<'a>,
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
    }
}

sv2_struct! {
    /// A token and the pool's coinbase outputs.
    AllocateMiningJobTokenSuccess<'a> {
        /// Echoed request id.
        request_id: u32,
        /// The token.
        mining_job_token: B0_255<'a>,
        /// CompactSize count followed by the pool's outputs (the first pays the pool).
        coinbase_tx_outputs: B0_64K<'a>,
    }
}

sv2_struct! {
    /// The JDS needs the full transactions at these positions of the declared job.
    ProvideMissingTransactions<'a> {
        /// The DeclareMiningJob's request id.
        request_id: u32,
        /// 0-based positions in its wtxid_list.
        unknown_tx_position_list: Seq0_64K<'a, u16>,
    }
}

sv2_struct! {
    /// The requested transactions, in the requested order.
    ProvideMissingTransactionsSuccess<'a> {
        /// The DeclareMiningJob's request id.
        request_id: u32,
        /// Serialized transactions.
        transaction_list: Seq0_64K<'a, B0_16M<'a>>,
    }
}

sv2_struct! {
    /// The JDC declares the job it wants to mine.
    DeclareMiningJob<'a> {
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// Token from AllocateMiningJobToken.Success.
        mining_job_token: B0_255<'a>,
        /// Block header version.
        version: u32,
        /// Coinbase bytes before the extranonce (witness data kept).
        coinbase_tx_prefix: B0_64K<'a>,
        /// Coinbase bytes after the extranonce (witness data kept).
        coinbase_tx_suffix: B0_64K<'a>,
        /// wtxids of every non-coinbase transaction, in block order.
        wtxid_list: Seq0_64K<'a, U256>,
        /// Opaque data from the template provider.
        excess_data: B0_64K<'a>,
    }
}

sv2_struct! {
    /// The job is accepted; the new token goes into SetCustomMiningJob.
    DeclareMiningJobSuccess<'a> {
        /// Echoed request id.
        request_id: u32,
        /// Token proving the declaration.
        new_mining_job_token: B0_255<'a>,
    }
}

sv2_struct! {
    /// The job is rejected.
    DeclareMiningJobError<'a> {
        /// Echoed request id.
        request_id: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
        /// Details.
        error_details: B0_64K<'a>,
    }
}

sv2_struct! {
    /// A block was found on the declared job; the JDS rebuilds and broadcasts it.
    PushSolution<'a> {
        /// Full extranonce (prefix and rolled part).
        extranonce: B0_32<'a>,
        /// Previous block hash.
        prev_hash: U256,
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Header version.
        version: u32,
    }
}
