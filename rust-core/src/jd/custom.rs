//! The pool's side of SetCustomMiningJob: the job checked against its token (and the job
//! declared with it), the pool's outputs and tip, and turned into a [`Job`] and [`PrevHash`]
//! an extended channel takes — so shares on it are validated and credited like any other.
//!
//! The Mining endpoint checks what is the connection's (REQUIRES_WORK_SELECTION was set, the
//! channel is extended) and calls [`validate_custom_job`] with the channel's full extranonce
//! length, then [`CustomJob::install`] on each extended channel the message names.

use std::sync::Arc;

use super::coinbase::{CustomCoinbase, PoolOutputs};
use super::server::{DeclaredJob, JdBlock};
use super::store::{Grant, TokenError, TokenStore};
use super::{code_field, codes};
use crate::channels::server::{FoundBlock, Job, PrevHash, ServerChannel};
use crate::channels::{ChannelError, MAX_NTIME_AHEAD_SECS};
use crate::messages::{SetCustomMiningJob, SetCustomMiningJobError};

/// BIP9 versions have their top three bits 001.
const BIP9_TOP_BITS: u32 = 0x2000_0000;
const TOP_BITS_MASK: u32 = 0xE000_0000;

/// What the pool knows when a SetCustomMiningJob arrives.
#[derive(Debug, Clone, Copy)]
pub struct PoolView<'a> {
    /// The pool's current tip (from its template provider).
    pub tip: &'a PrevHash,
    /// The outputs every custom coinbase must pay.
    pub pool_outputs: &'a PoolOutputs,
    /// The channel's full extranonce length (prefix and rolled part).
    pub extranonce_len: usize,
    /// Whether the channel's miners may roll the version bits.
    pub version_rolling_allowed: bool,
    /// The token store's clock (the caller's seconds, as given to the JDS).
    pub now: u64,
    /// Unix seconds (min_ntime may not be further ahead than a share's nTime may).
    pub unix_now: u32,
}

/// A custom job the pool accepted: add it to the channel, answer SetCustomMiningJob.Success.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomJob {
    /// The job.
    pub job: Arc<Job>,
    /// The tip it is mined on, from min_ntime.
    pub prev: PrevHash,
    /// The user the token was allocated for.
    pub user: String,
    /// The declared job (Full-Template), whose transactions complete a block found on it.
    pub declared: Option<Arc<DeclaredJob>>,
}

impl CustomJob {
    /// Adds the job to an extended channel under `job_id`, minable at once: on the channel's
    /// current tip as one more job, or as the job of a new tip (every older job stale).
    pub fn install(&self, channel: &mut ServerChannel, job_id: u32) -> Result<(), ChannelError> {
        let same_tip =
            channel.prev_hash().is_some_and(|p| p.prev_hash == self.prev.prev_hash && p.nbits == self.prev.nbits);
        if same_tip {
            channel.add_job(job_id, self.job.clone(), Some(self.prev.min_ntime))
        } else {
            channel.add_job(job_id, self.job.clone(), None)?;
            channel.activate(job_id, self.prev).map(|_| ())
        }
    }

    /// The whole block of a share on this job that found one (None for a Coinbase-only job:
    /// only the JDC knows its transactions, and submits it itself).
    pub fn block(&self, found: &FoundBlock) -> Option<JdBlock> {
        let declared = self.declared.as_ref()?;
        Some(JdBlock {
            header: found.header,
            coinbase: found.coinbase.clone(),
            transactions: declared.transactions.clone(),
        })
    }
}

/// Why a SetCustomMiningJob was refused: the code, and what the pool logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomJobError {
    /// The SetCustomMiningJob.Error code (one of [`codes`]).
    pub code: &'static str,
    /// Details for the log.
    pub details: String,
}

impl CustomJobError {
    fn new(code: &'static str, details: impl Into<String>) -> Self {
        CustomJobError { code, details: details.into() }
    }

    /// The SetCustomMiningJob.Error answering `m`.
    pub fn message(&self, m: &SetCustomMiningJob<'_>) -> SetCustomMiningJobError<'static> {
        SetCustomMiningJobError {
            channel_id: m.channel_id,
            request_id: m.request_id,
            error_code: code_field(self.code),
        }
    }
}

impl core::fmt::Display for CustomJobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.code, self.details)
    }
}

impl std::error::Error for CustomJobError {}

/// Checks a SetCustomMiningJob and spends its token. A Full-Template token's job must be the
/// declared one (coinbase field by field, version, merkle path over the declared
/// transactions); a Coinbase-only token's job is checked for the pool's outputs alone. Both
/// must be on the pool's tip with its nbits, a min_ntime from the tip's to two hours ahead,
/// and a BIP9 version. A refused job leaves the token unspent.
pub fn validate_custom_job(
    store: &mut TokenStore,
    m: &SetCustomMiningJob<'_>,
    view: PoolView<'_>,
) -> Result<CustomJob, CustomJobError> {
    let grant = store.peek_for_custom_job(m.mining_job_token.as_bytes(), view.now).map_err(|e| {
        CustomJobError::new(
            codes::INVALID_MINING_JOB_TOKEN,
            match e {
                TokenError::Expired => "expired token",
                TokenError::WrongKind => "a Full-Template token must declare its job first",
                _ => "unknown or already used token",
            },
        )
    })?;
    if m.prev_hash != view.tip.prev_hash {
        return Err(CustomJobError::new(codes::STALE_CHAIN_TIP, "prev_hash is not the pool's tip"));
    }
    if m.nbits != view.tip.nbits {
        return Err(CustomJobError::new(codes::INVALID_NBITS, format!("nbits {:#x} is not the tip's", m.nbits)));
    }
    if m.min_ntime < view.tip.min_ntime || m.min_ntime > view.unix_now.saturating_add(MAX_NTIME_AHEAD_SECS) {
        return Err(CustomJobError::new(codes::INVALID_MIN_NTIME, format!("min_ntime {} out of range", m.min_ntime)));
    }
    if m.version & TOP_BITS_MASK != BIP9_TOP_BITS {
        return Err(CustomJobError::new(codes::INVALID_VERSION, format!("version {:#x} is not BIP9", m.version)));
    }
    let coinbase = CustomCoinbase::from_set_custom(m, view.extranonce_len)
        .map_err(|code| CustomJobError::new(code, "coinbase fields do not make a coinbase for this channel"))?;
    let (user, merkle_path, declared) = match grant {
        Grant::Allocated { user, .. } => (user.clone(), m.merkle_path.to_vec(), None),
        Grant::Declared(job) => {
            if m.version != job.version {
                return Err(CustomJobError::new(codes::INVALID_VERSION, "version is not the declared one"));
            }
            same_coinbase(&coinbase, &job.coinbase)?;
            if m.merkle_path.to_vec() != job.merkle_path {
                return Err(CustomJobError::new(codes::INVALID_MERKLE_PATH, "path is not over the declared txs"));
            }
            (job.user.clone(), job.merkle_path.clone(), Some(job.clone()))
        }
    };
    let outs = coinbase.tx_outs().unwrap_or_default();
    view.pool_outputs.check(&outs).map_err(|(code, details)| CustomJobError::new(code, details))?;
    let parts = coinbase
        .parts()
        .ok_or_else(|| CustomJobError::new(codes::INVALID_COINBASE_TX_OUTPUTS, "outputs do not parse"))?;
    store.spend(m.mining_job_token.as_bytes());
    Ok(CustomJob {
        job: Arc::new(Job {
            template_id: None,
            version: m.version,
            version_rolling_allowed: view.version_rolling_allowed,
            coinbase: parts,
            merkle_path,
        }),
        prev: PrevHash { min_ntime: m.min_ntime, ..*view.tip },
        user,
        declared,
    })
}

/// The SetCustomMiningJob's coinbase against the declared one, field by field.
fn same_coinbase(got: &CustomCoinbase, declared: &CustomCoinbase) -> Result<(), CustomJobError> {
    let differs = |code, what: &str| Err(CustomJobError::new(code, format!("{what} is not the declared one")));
    if got.version != declared.version {
        return differs(codes::INVALID_COINBASE_TX_VERSION, "coinbase_tx_version");
    }
    if got.script_prefix != declared.script_prefix || got.extranonce_len != declared.extranonce_len {
        return differs(codes::INVALID_COINBASE_PREFIX, "coinbase_prefix (or the extranonce length)");
    }
    if got.sequence != declared.sequence {
        return differs(codes::INVALID_COINBASE_TX_INPUT_N_SEQUENCE, "coinbase_tx_input_nSequence");
    }
    if got.outputs != declared.outputs {
        return differs(codes::INVALID_COINBASE_TX_OUTPUTS, "coinbase_tx_outputs");
    }
    if got.locktime != declared.locktime {
        return differs(codes::INVALID_COINBASE_TX_LOCKTIME, "coinbase_tx_locktime");
    }
    Ok(())
}
