//! Channels and jobs, sans-IO: what a pool or proxy does between templates and shares, and
//! what a mining client does between jobs and hashing.
//!
//! - [`server::ServerChannel`]: a standard or extended channel as the server keeps it: jobs
//!   (future and active), the previous-hash epoch, its target and vardiff, and share
//!   validation with the spec's error codes.
//! - [`group::GroupChannel`]: a connection's channels as one group, so that each job goes
//!   out once per group (NewExtendedMiningJob to the group id) or once per channel.
//! - [`job::JobFactory`]: jobs from Template Distribution NewTemplate and SetNewPrevHash, with
//!   the pool's payout output and the extranonce hole.
//! - [`client::ClientChannel`] and [`client::ClientChannels`]: the same channels as a miner
//!   sees them: which job to hash, with which merkle root, against which target; messages to
//!   a group reach every member.
//! - [`coinbase`], [`hash`], [`target`], [`extranonce`], [`vardiff`]: the pieces.
//!
//! A share whose hash meets the block target becomes a [`server::FoundBlock`], and
//! [`server::FoundBlock::submit_solution`] the SubmitSolution for the template provider.

pub mod client;
pub mod coinbase;
pub mod extranonce;
pub mod group;
pub mod hash;
pub mod job;
pub mod server;
pub mod target;
pub mod vardiff;

use core::fmt;

/// BIP323 general-purpose version bits a miner may roll (bits 5–28).
pub const VERSION_ROLLING_MASK: u32 = 0x1FFF_FFE0;
/// How far past the server's clock a share's nTime may be (consensus: two hours).
pub const MAX_NTIME_AHEAD_SECS: u32 = 7200;

/// A setup or configuration problem in channel logic (not a peer's share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelError {
    /// Template or pool outputs are not valid serialized outputs.
    InvalidCoinbaseOutputs,
    /// The coinbase scriptSig would exceed 100 bytes.
    ScriptSigTooLong,
    /// Extranonce sizes that do not fit together.
    ExtranonceLayout,
    /// Every extranonce prefix has been handed out.
    ExtranonceExhausted,
    /// A job's extranonce hole does not match the channel's full extranonce length.
    ExtranonceMismatch,
    /// A job id that is not known (or not a future job) on this channel.
    UnknownJob,
    /// An active job before any previous hash was set.
    NoPrevHash,
    /// A coinbase part over 64 KiB or a merkle path over 255 levels.
    JobTooLarge,
    /// A nominal hashrate that is negative, infinite or NaN.
    InvalidHashrate,
    /// A channel id that is not in the group, or already used.
    UnknownChannel,
}

impl ChannelError {
    /// The spec's error code for the errors a peer's request causes (an UpdateChannel.Error's
    /// `invalid-nominal-hashrate` or `invalid-channel-id`); None for the others.
    pub fn code(self) -> Option<&'static str> {
        match self {
            ChannelError::InvalidHashrate => Some("invalid-nominal-hashrate"),
            ChannelError::UnknownChannel => Some("invalid-channel-id"),
            _ => None,
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelError::InvalidCoinbaseOutputs => "invalid serialized coinbase outputs",
            ChannelError::ScriptSigTooLong => "coinbase scriptSig would exceed 100 bytes",
            ChannelError::ExtranonceLayout => "extranonce sizes do not fit together",
            ChannelError::ExtranonceExhausted => "extranonce prefixes exhausted",
            ChannelError::ExtranonceMismatch => "job extranonce length differs from the channel's",
            ChannelError::UnknownJob => "unknown job id",
            ChannelError::NoPrevHash => "no previous hash set yet",
            ChannelError::JobTooLarge => "coinbase part or merkle path too large for a job message",
            ChannelError::InvalidHashrate | ChannelError::UnknownChannel => self.code().unwrap_or_default(),
        })
    }
}

impl std::error::Error for ChannelError {}

/// Why a share was rejected. [`ShareError::code`] gives the error code sent in
/// SubmitShares.Error (the strings existing pools and proxies use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShareError {
    /// No such channel on this connection.
    InvalidChannelId,
    /// The job id is unknown, or a future job not activated yet.
    InvalidJobId,
    /// The job was made stale by a newer previous hash.
    StaleShare,
    /// The header hash does not meet the job's target.
    DifficultyTooLow,
    /// The same share was already accepted.
    DuplicateShare,
    /// The extranonce is not exactly the channel's rollable size.
    BadExtranonceSize,
    /// A version bit outside the rollable mask was changed.
    InvalidNonRollableVersionBit,
    /// The version was changed on a job that forbids rolling.
    VersionRollingNotAllowed,
    /// nTime below the job's minimum or too far in the future.
    NtimeOutOfRange,
}

impl ShareError {
    /// The error code for SubmitShares.Error.
    pub fn code(self) -> &'static str {
        match self {
            ShareError::InvalidChannelId => "invalid-channel-id",
            ShareError::InvalidJobId => "invalid-job-id",
            ShareError::StaleShare => "stale-share",
            ShareError::DifficultyTooLow => "difficulty-too-low",
            ShareError::DuplicateShare => "duplicate-share",
            ShareError::BadExtranonceSize => "bad-extranonce-size",
            ShareError::InvalidNonRollableVersionBit => "invalid-non-rollable-version-bit",
            ShareError::VersionRollingNotAllowed => "version-rolling-not-allowed",
            ShareError::NtimeOutOfRange => "invalid-timestamp",
        }
    }

    /// Every kind, for counters and tests.
    pub const ALL: [ShareError; 9] = [
        ShareError::InvalidChannelId,
        ShareError::InvalidJobId,
        ShareError::StaleShare,
        ShareError::DifficultyTooLow,
        ShareError::DuplicateShare,
        ShareError::BadExtranonceSize,
        ShareError::InvalidNonRollableVersionBit,
        ShareError::VersionRollingNotAllowed,
        ShareError::NtimeOutOfRange,
    ];
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for ShareError {}
