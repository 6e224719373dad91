//! Mining Protocol messages (ids 0x10–0x25).

use super::{sv2_bool, sv2_bytes, sv2_option_u32, sv2_u256_list, sv2_u32_list};

/// Message id of OpenStandardMiningChannel.
pub const SV2_MSG_OPEN_STANDARD_MINING_CHANNEL: u8 = 0x10;
/// Message id of OpenStandardMiningChannel.Success.
pub const SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS: u8 = 0x11;
/// Message id of OpenMiningChannel.Error.
pub const SV2_MSG_OPEN_MINING_CHANNEL_ERROR: u8 = 0x12;
/// Message id of OpenExtendedMiningChannel.
pub const SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL: u8 = 0x13;
/// Message id of OpenExtendedMiningChannel.Success.
pub const SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS: u8 = 0x14;
/// Message id of NewMiningJob.
pub const SV2_MSG_NEW_MINING_JOB: u8 = 0x15;
/// Message id of UpdateChannel.
pub const SV2_MSG_UPDATE_CHANNEL: u8 = 0x16;
/// Message id of UpdateChannel.Error.
pub const SV2_MSG_UPDATE_CHANNEL_ERROR: u8 = 0x17;
/// Message id of CloseChannel.
pub const SV2_MSG_CLOSE_CHANNEL: u8 = 0x18;
/// Message id of SetExtranoncePrefix.
pub const SV2_MSG_SET_EXTRANONCE_PREFIX: u8 = 0x19;
/// Message id of SubmitSharesStandard.
pub const SV2_MSG_SUBMIT_SHARES_STANDARD: u8 = 0x1a;
/// Message id of SubmitSharesExtended.
pub const SV2_MSG_SUBMIT_SHARES_EXTENDED: u8 = 0x1b;
/// Message id of SubmitShares.Success.
pub const SV2_MSG_SUBMIT_SHARES_SUCCESS: u8 = 0x1c;
/// Message id of SubmitShares.Error.
pub const SV2_MSG_SUBMIT_SHARES_ERROR: u8 = 0x1d;
/// Message id of NewExtendedMiningJob.
pub const SV2_MSG_NEW_EXTENDED_MINING_JOB: u8 = 0x1f;
/// Message id of the Mining Protocol's SetNewPrevHash.
pub const SV2_MSG_SET_NEW_PREV_HASH: u8 = 0x20;
/// Message id of SetTarget.
pub const SV2_MSG_SET_TARGET: u8 = 0x21;
/// Message id of SetCustomMiningJob.
pub const SV2_MSG_SET_CUSTOM_MINING_JOB: u8 = 0x22;
/// Message id of SetCustomMiningJob.Success.
pub const SV2_MSG_SET_CUSTOM_MINING_JOB_SUCCESS: u8 = 0x23;
/// Message id of SetCustomMiningJob.Error.
pub const SV2_MSG_SET_CUSTOM_MINING_JOB_ERROR: u8 = 0x24;
/// Message id of SetGroupChannel.
pub const SV2_MSG_SET_GROUP_CHANNEL: u8 = 0x25;

/// OpenStandardMiningChannel: opens a standard (header-only) channel.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_open_standard_mining_channel {
    /// Client-chosen id, echoed in the reply.
    pub request_id: u32,
    /// User and worker the channel mines for (STR0_255).
    pub user_identity: sv2_bytes,
    /// Expected hashrate in h/s.
    pub nominal_hash_rate: f32,
    /// Easiest target the device accepts (little-endian 256-bit).
    pub max_target: [u8; 32],
}
convert!(sv2_open_standard_mining_channel, OpenStandardMiningChannel<'a> {
    request_id, user_identity, nominal_hash_rate, max_target
});

/// OpenStandardMiningChannel.Success: the standard channel is open.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_open_standard_mining_channel_success {
    /// Echoed request id.
    pub request_id: u32,
    /// The new channel.
    pub channel_id: u32,
    /// Initial share target (little-endian 256-bit).
    pub target: [u8; 32],
    /// The channel's unique extranonce prefix (B0_32).
    pub extranonce_prefix: sv2_bytes,
    /// The group the channel belongs to.
    pub group_channel_id: u32,
}
convert!(sv2_open_standard_mining_channel_success, OpenStandardMiningChannelSuccess<'a> {
    request_id, channel_id, target, extranonce_prefix, group_channel_id
});

/// OpenMiningChannel.Error: a standard or extended channel could not be opened.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_open_mining_channel_error {
    /// Echoed request id.
    pub request_id: u32,
    /// Error code (STR0_255).
    pub error_code: sv2_bytes,
}
convert!(sv2_open_mining_channel_error, OpenMiningChannelError<'a> { request_id, error_code });

/// OpenExtendedMiningChannel: opens an extended channel (the client rolls extranonce).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_open_extended_mining_channel {
    /// Client-chosen id, echoed in the reply.
    pub request_id: u32,
    /// User and worker the channel mines for (STR0_255).
    pub user_identity: sv2_bytes,
    /// Expected hashrate in h/s.
    pub nominal_hash_rate: f32,
    /// Easiest target the client accepts.
    pub max_target: [u8; 32],
    /// Fewest extranonce bytes the client needs to roll.
    pub min_extranonce_size: u16,
}
convert!(sv2_open_extended_mining_channel, OpenExtendedMiningChannel<'a> {
    request_id, user_identity, nominal_hash_rate, max_target, min_extranonce_size
});

/// OpenExtendedMiningChannel.Success: the extended channel is open.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_open_extended_mining_channel_success {
    /// Echoed request id.
    pub request_id: u32,
    /// The new channel.
    pub channel_id: u32,
    /// Initial share target.
    pub target: [u8; 32],
    /// Bytes the client rolls.
    pub extranonce_size: u16,
    /// The channel's unique extranonce prefix (B0_32).
    pub extranonce_prefix: sv2_bytes,
    /// The group the channel belongs to.
    pub group_channel_id: u32,
}
convert!(sv2_open_extended_mining_channel_success, OpenExtendedMiningChannelSuccess<'a> {
    request_id, channel_id, target, extranonce_size, extranonce_prefix, group_channel_id
});

/// NewMiningJob: a job for a standard channel (the merkle root is fixed).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_new_mining_job {
    /// The channel.
    pub channel_id: u32,
    /// Job id, unique while the job is valid.
    pub job_id: u32,
    /// Absent: a future job; present: active now with this first nTime.
    pub min_ntime: sv2_option_u32,
    /// Block header version.
    pub version: u32,
    /// Merkle root for the header.
    pub merkle_root: [u8; 32],
}
convert!(sv2_new_mining_job, NewMiningJob { channel_id, job_id, min_ntime, version, merkle_root });

/// UpdateChannel: the client reports a new hashrate or maximum target.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_update_channel {
    /// The channel.
    pub channel_id: u32,
    /// Expected hashrate in h/s.
    pub nominal_hash_rate: f32,
    /// Easiest target the client accepts.
    pub maximum_target: [u8; 32],
}
convert!(sv2_update_channel, UpdateChannel { channel_id, nominal_hash_rate, maximum_target });

/// UpdateChannel.Error: UpdateChannel was invalid.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_update_channel_error {
    /// The channel.
    pub channel_id: u32,
    /// Error code (STR0_255).
    pub error_code: sv2_bytes,
}
convert!(sv2_update_channel_error, UpdateChannelError<'a> { channel_id, error_code });

/// CloseChannel: closes a channel (either side; a group id closes every member).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_close_channel {
    /// The channel or group.
    pub channel_id: u32,
    /// Reason (STR0_255).
    pub reason_code: sv2_bytes,
}
convert!(sv2_close_channel, CloseChannel<'a> { channel_id, reason_code });

/// SetExtranoncePrefix: replaces the channel's extranonce prefix for jobs sent after it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_extranonce_prefix {
    /// The channel.
    pub channel_id: u32,
    /// New prefix (B0_32).
    pub extranonce_prefix: sv2_bytes,
}
convert!(sv2_set_extranonce_prefix, SetExtranoncePrefix<'a> { channel_id, extranonce_prefix });

/// SubmitSharesStandard: a share on a standard channel.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_submit_shares_standard {
    /// The channel.
    pub channel_id: u32,
    /// Client-side sequence number, echoed in replies.
    pub sequence_number: u32,
    /// The job.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
}
convert!(
    sv2_submit_shares_standard,
    SubmitSharesStandard { channel_id, sequence_number, job_id, nonce, ntime, version }
);

/// SubmitSharesExtended: a share on an extended channel. Extension 0x0002 appends a
/// `user_identity` TLV (see sv2_tlv).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_submit_shares_extended {
    /// The channel.
    pub channel_id: u32,
    /// Client-side sequence number, echoed in replies.
    pub sequence_number: u32,
    /// The job.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// The rolled extranonce: exactly the channel's extranonce_size bytes (B0_32).
    pub extranonce: sv2_bytes,
}
convert!(sv2_submit_shares_extended, SubmitSharesExtended<'a> {
    channel_id, sequence_number, job_id, nonce, ntime, version, extranonce
});

/// SubmitShares.Success: acknowledges a batch of accepted shares.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_submit_shares_success {
    /// The channel.
    pub channel_id: u32,
    /// Last sequence number acknowledged.
    pub last_sequence_number: u32,
    /// Shares accepted in this batch.
    pub new_submits_accepted_count: u32,
    /// Sum of the difficulties of the shares in this batch.
    pub new_shares_sum: u64,
}
convert!(
    sv2_submit_shares_success,
    SubmitSharesSuccess { channel_id, last_sequence_number, new_submits_accepted_count, new_shares_sum }
);

/// SubmitShares.Error: rejects one share.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_submit_shares_error {
    /// The channel.
    pub channel_id: u32,
    /// Sequence number of the rejected share.
    pub sequence_number: u32,
    /// Error code (STR0_255).
    pub error_code: sv2_bytes,
}
convert!(sv2_submit_shares_error, SubmitSharesError<'a> { channel_id, sequence_number, error_code });

/// NewExtendedMiningJob: a job for extended (and group) channels; the client builds the
/// coinbase and the merkle root.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_new_extended_mining_job {
    /// The channel or group.
    pub channel_id: u32,
    /// Job id, unique while the job is valid.
    pub job_id: u32,
    /// Absent: a future job; present: active now with this first nTime.
    pub min_ntime: sv2_option_u32,
    /// Block header version.
    pub version: u32,
    /// Whether the BIP320 version bits may be rolled.
    pub version_rolling_allowed: sv2_bool,
    /// Merkle path from the coinbase to the root, leaf level first (`SEQ0_255[U256]`).
    pub merkle_path: sv2_u256_list,
    /// Coinbase bytes before the extranonce, witness data stripped (B0_64K).
    pub coinbase_tx_prefix: sv2_bytes,
    /// Coinbase bytes after the extranonce, witness data stripped (B0_64K).
    pub coinbase_tx_suffix: sv2_bytes,
}
convert!(sv2_new_extended_mining_job, NewExtendedMiningJob<'a> {
    channel_id, job_id, min_ntime, version, version_rolling_allowed, merkle_path, coinbase_tx_prefix,
    coinbase_tx_suffix
});

/// SetNewPrevHash (Mining Protocol): activates a job on a new previous block hash; every
/// other job becomes stale.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_new_prev_hash {
    /// The channel or group.
    pub channel_id: u32,
    /// The (future) job to mine now.
    pub job_id: u32,
    /// Previous block hash, internal byte order.
    pub prev_hash: [u8; 32],
    /// Smallest nTime allowed.
    pub min_ntime: u32,
    /// Network target, compact form.
    pub nbits: u32,
}
convert!(sv2_set_new_prev_hash, SetNewPrevHash { channel_id, job_id, prev_hash, min_ntime, nbits });

/// SetTarget: new share target for jobs received after it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_target {
    /// The channel or group.
    pub channel_id: u32,
    /// New target (little-endian 256-bit).
    pub maximum_target: [u8; 32],
}
convert!(sv2_set_target, SetTarget { channel_id, maximum_target });

/// SetCustomMiningJob: a job chosen by the client (job declaration).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_custom_mining_job {
    /// The channel or group.
    pub channel_id: u32,
    /// Client-chosen id, echoed in the reply.
    pub request_id: u32,
    /// Token from the job declarator (B0_255).
    pub mining_job_token: sv2_bytes,
    /// Block header version.
    pub version: u32,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Smallest nTime allowed.
    pub min_ntime: u32,
    /// Network target, compact form.
    pub nbits: u32,
    /// Coinbase transaction version.
    pub coinbase_tx_version: u32,
    /// Start of the coinbase scriptSig; the extranonce follows (B0_255).
    pub coinbase_prefix: sv2_bytes,
    /// Coinbase input nSequence.
    pub coinbase_tx_input_nsequence: u32,
    /// CompactSize output count followed by the serialized outputs (B0_64K).
    pub coinbase_tx_outputs: sv2_bytes,
    /// Coinbase lock time.
    pub coinbase_tx_locktime: u32,
    /// Merkle path, leaf level first (`SEQ0_255[U256]`).
    pub merkle_path: sv2_u256_list,
}
convert!(sv2_set_custom_mining_job, SetCustomMiningJob<'a> {
    channel_id, request_id, mining_job_token, version, prev_hash, min_ntime, nbits, coinbase_tx_version,
    coinbase_prefix, coinbase_tx_input_nsequence, coinbase_tx_outputs, coinbase_tx_locktime, merkle_path
});

/// SetCustomMiningJob.Success: the pool accepts the custom job.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_custom_mining_job_success {
    /// The channel or group.
    pub channel_id: u32,
    /// Echoed request id.
    pub request_id: u32,
    /// Job id for shares on this job.
    pub job_id: u32,
}
convert!(sv2_set_custom_mining_job_success, SetCustomMiningJobSuccess { channel_id, request_id, job_id });

/// SetCustomMiningJob.Error: the pool rejects the custom job.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_custom_mining_job_error {
    /// The channel or group.
    pub channel_id: u32,
    /// Echoed request id.
    pub request_id: u32,
    /// Error code (STR0_255).
    pub error_code: sv2_bytes,
}
convert!(sv2_set_custom_mining_job_error, SetCustomMiningJobError<'a> { channel_id, request_id, error_code });

/// SetGroupChannel: puts channels into a group.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_set_group_channel {
    /// The group.
    pub group_channel_id: u32,
    /// Its member channels (`SEQ0_64K[U32]`).
    pub channel_ids: sv2_u32_list,
}
convert!(sv2_set_group_channel, SetGroupChannel<'a> { group_channel_id, channel_ids });
