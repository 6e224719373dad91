//! Mining Protocol messages (extension_type 0x0000, ids 0x10–0x25).

use crate::codec::{Seq0_255, Seq0_64K, Str0_255, B0_255, B0_32, B0_64K, U256};

sv2_struct! {
    /// Opens a standard (header-only) channel.
    OpenStandardMiningChannel<'a> {
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// User and worker the channel mines for.
        user_identity: Str0_255<'a>,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the device accepts (U256 little-endian).
        max_target: U256,
    }
}

sv2_struct! {
    /// The standard channel is open.
    OpenStandardMiningChannelSuccess<'a> {
        /// Echoed request id.
        request_id: u32,
        /// The new channel.
        channel_id: u32,
        /// Initial share target.
        target: U256,
        /// The channel's unique extranonce prefix.
        extranonce_prefix: B0_32<'a>,
        /// The group the channel belongs to.
        group_channel_id: u32,
    }
}

sv2_struct! {
    /// A standard or extended channel could not be opened.
    OpenMiningChannelError<'a> {
        /// Echoed request id.
        request_id: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// Opens an extended channel (the client rolls extranonce).
    OpenExtendedMiningChannel<'a> {
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// User and worker the channel mines for.
        user_identity: Str0_255<'a>,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the client accepts.
        max_target: U256,
        /// Fewest extranonce bytes the client needs to roll.
        min_extranonce_size: u16,
    }
}

sv2_struct! {
    /// The extended channel is open.
    OpenExtendedMiningChannelSuccess<'a> {
        /// Echoed request id.
        request_id: u32,
        /// The new channel.
        channel_id: u32,
        /// Initial share target.
        target: U256,
        /// Bytes the client rolls.
        extranonce_size: u16,
        /// The channel's unique extranonce prefix.
        extranonce_prefix: B0_32<'a>,
        /// The group the channel belongs to.
        group_channel_id: u32,
    }
}

sv2_struct! {
    /// A job for a standard channel: the merkle root is fixed.
    NewMiningJob {
        /// The channel.
        channel_id: u32,
        /// Job id, unique while the job is valid.
        job_id: u32,
        /// None: a future job; Some: active now with this first nTime.
        min_ntime: Option<u32>,
        /// Block header version.
        version: u32,
        /// Merkle root for the header.
        merkle_root: U256,
    }
}

sv2_struct! {
    /// The client reports a new hashrate or maximum target.
    UpdateChannel {
        /// The channel.
        channel_id: u32,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the client accepts.
        maximum_target: U256,
    }
}

sv2_struct! {
    /// UpdateChannel was invalid.
    UpdateChannelError<'a> {
        /// The channel.
        channel_id: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// Closes a channel (either side; a group id closes every member).
    CloseChannel<'a> {
        /// The channel or group.
        channel_id: u32,
        /// Printable reason.
        reason_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// Replaces the channel's extranonce prefix for jobs sent after it.
    SetExtranoncePrefix<'a> {
        /// The channel.
        channel_id: u32,
        /// New prefix.
        extranonce_prefix: B0_32<'a>,
    }
}

sv2_struct! {
    /// A share on a standard channel.
    SubmitSharesStandard {
        /// The channel.
        channel_id: u32,
        /// Client-side sequence number, echoed in replies.
        sequence_number: u32,
        /// The job.
        job_id: u32,
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Header version.
        version: u32,
    }
}

sv2_struct! {
    /// A share on an extended channel. Extension 0x0002 appends a `user_identity` TLV.
    SubmitSharesExtended<'a> {
        /// The channel.
        channel_id: u32,
        /// Client-side sequence number, echoed in replies.
        sequence_number: u32,
        /// The job.
        job_id: u32,
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Header version.
        version: u32,
        /// The rolled extranonce: exactly the channel's extranonce_size bytes.
        extranonce: B0_32<'a>,
    }
}

sv2_struct! {
    /// Acknowledges a batch of accepted shares.
    SubmitSharesSuccess {
        /// The channel.
        channel_id: u32,
        /// Last sequence number acknowledged.
        last_sequence_number: u32,
        /// Shares accepted in this batch.
        new_submits_accepted_count: u32,
        /// Sum of the difficulties of the shares in this batch.
        new_shares_sum: u64,
    }
}

sv2_struct! {
    /// Rejects one share.
    SubmitSharesError<'a> {
        /// The channel.
        channel_id: u32,
        /// Sequence number of the rejected share.
        sequence_number: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// A job for extended (and group) channels: the client builds the coinbase and merkle root.
    NewExtendedMiningJob<'a> {
        /// The channel or group.
        channel_id: u32,
        /// Job id, unique while the job is valid.
        job_id: u32,
        /// None: a future job; Some: active now with this first nTime.
        min_ntime: Option<u32>,
        /// Block header version.
        version: u32,
        /// Whether the BIP323 version bits may be rolled.
        version_rolling_allowed: bool,
        /// Merkle path from the coinbase to the root, leaf level first.
        merkle_path: Seq0_255<'a, U256>,
        /// Coinbase bytes before the extranonce (witness data stripped).
        coinbase_tx_prefix: B0_64K<'a>,
        /// Coinbase bytes after the extranonce (witness data stripped).
        coinbase_tx_suffix: B0_64K<'a>,
    }
}

sv2_struct! {
    /// Activates a job on a new previous block hash; every other job becomes stale.
    SetNewPrevHash {
        /// The channel or group.
        channel_id: u32,
        /// The (future) job to mine now.
        job_id: u32,
        /// Previous block hash, internal byte order.
        prev_hash: U256,
        /// Smallest nTime allowed.
        min_ntime: u32,
        /// Network target, compact form.
        nbits: u32,
    }
}

sv2_struct! {
    /// New share target for jobs received after it.
    SetTarget {
        /// The channel or group.
        channel_id: u32,
        /// New target.
        maximum_target: U256,
    }
}

sv2_struct! {
    /// A job chosen by the client (job declaration), for an extended or group channel.
    SetCustomMiningJob<'a> {
        /// The channel or group.
        channel_id: u32,
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// Token from the job declarator.
        mining_job_token: B0_255<'a>,
        /// Block header version.
        version: u32,
        /// Previous block hash.
        prev_hash: U256,
        /// Smallest nTime allowed.
        min_ntime: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Coinbase transaction version.
        coinbase_tx_version: u32,
        /// Start of the coinbase scriptSig (the extranonce follows).
        coinbase_prefix: B0_255<'a>,
        /// Coinbase input nSequence.
        coinbase_tx_input_nsequence: u32,
        /// CompactSize output count followed by the serialized outputs.
        coinbase_tx_outputs: B0_64K<'a>,
        /// Coinbase lock time.
        coinbase_tx_locktime: u32,
        /// Merkle path, leaf level first.
        merkle_path: Seq0_255<'a, U256>,
    }
}

sv2_struct! {
    /// The pool accepts the custom job and will reward it.
    SetCustomMiningJobSuccess {
        /// The channel or group.
        channel_id: u32,
        /// Echoed request id.
        request_id: u32,
        /// Job id for shares on this job.
        job_id: u32,
    }
}

sv2_struct! {
    /// The pool rejects the custom job.
    SetCustomMiningJobError<'a> {
        /// The channel or group.
        channel_id: u32,
        /// Echoed request id.
        request_id: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// Puts channels into a group.
    SetGroupChannel<'a> {
        /// The group.
        group_channel_id: u32,
        /// Its member channels.
        channel_ids: Seq0_64K<'a, u32>,
    }
}
