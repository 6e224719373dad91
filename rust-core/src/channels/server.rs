//! A channel as the server keeps it: jobs, the previous-hash epoch, the target, and share
//! validation.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::coinbase::CoinbaseParts;
use super::hash::{header_bytes, merkle_root, sha256d};
use super::target::{difficulty, easier, harder, hash_meets_target, TargetLe, MAX_TARGET};
use super::vardiff::Vardiff;
use super::{ChannelError, ShareError, MAX_NTIME_AHEAD_SECS, VERSION_ROLLING_MASK};
use crate::codec::{Bytes, Seq};
use crate::messages::{
    NewExtendedMiningJob, NewMiningJob, OpenExtendedMiningChannelSuccess, OpenStandardMiningChannelSuccess,
    SetNewPrevHash, SetNewPrevHashTdp, SetTarget, SubmitSharesSuccess, SubmitSolution, UpdateChannel,
};
use crate::Message;

/// Jobs a channel keeps on the current previous hash before the oldest is dropped.
pub const MAX_JOBS_PER_CHANNEL: usize = 32;

/// Work shared by every channel that was sent it: one template's coinbase and merkle path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The Template Distribution template it came from (for SubmitSolution).
    pub template_id: Option<u64>,
    /// Header version.
    pub version: u32,
    /// Whether the BIP323 bits may be rolled.
    pub version_rolling_allowed: bool,
    /// The coinbase around its extranonce hole.
    pub coinbase: CoinbaseParts,
    /// Merkle path of the coinbase, leaf level first.
    pub merkle_path: Vec<[u8; 32]>,
}

/// The tip jobs are mined on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrevHash {
    /// Previous block hash (internal byte order).
    pub prev_hash: [u8; 32],
    /// Compact network target for the header.
    pub nbits: u32,
    /// Smallest nTime allowed.
    pub min_ntime: u32,
    /// Target a block must meet (the template provider's, which may be below nbits').
    pub block_target: TargetLe,
}

impl From<&SetNewPrevHashTdp> for PrevHash {
    /// The tip a template provider announces.
    fn from(p: &SetNewPrevHashTdp) -> Self {
        PrevHash { prev_hash: p.prev_hash, nbits: p.nbits, min_ntime: p.header_timestamp, block_target: p.target }
    }
}

/// A share as either kind of SubmitShares carries it.
#[derive(Debug, Clone, Copy)]
pub struct Share<'a> {
    /// The job.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header version.
    pub version: u32,
    /// Rolled extranonce (empty on standard channels).
    pub extranonce: &'a [u8],
}

impl<'a> Share<'a> {
    /// The channel id, sequence number and share of a SubmitSharesStandard or
    /// SubmitSharesExtended; None for any other message.
    pub fn from_submit(m: &Message<'a>) -> Option<(u32, u32, Share<'a>)> {
        Some(match m {
            Message::SubmitSharesStandard(s) => {
                let share =
                    Share { job_id: s.job_id, nonce: s.nonce, ntime: s.ntime, version: s.version, extranonce: &[] };
                (s.channel_id, s.sequence_number, share)
            }
            Message::SubmitSharesExtended(s) => {
                let share = Share {
                    job_id: s.job_id,
                    nonce: s.nonce,
                    ntime: s.ntime,
                    version: s.version,
                    extranonce: s.extranonce.as_bytes(),
                };
                (s.channel_id, s.sequence_number, share)
            }
            _ => return None,
        })
    }
}

/// A block found by a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundBlock {
    /// Template the job came from.
    pub template_id: Option<u64>,
    /// The 80-byte header.
    pub header: [u8; 80],
    /// The full coinbase (with witness when the template commits to witnesses).
    pub coinbase: Vec<u8>,
    /// Header version.
    pub version: u32,
    /// Header nTime.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// The full extranonce (channel prefix and rolled part).
    pub extranonce: Vec<u8>,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Compact network target.
    pub nbits: u32,
    /// The job's merkle path (empty: the block holds the coinbase alone).
    pub merkle_path: Vec<[u8; 32]>,
}

impl FoundBlock {
    /// The SubmitSolution that hands the block to the template provider (None for a job that
    /// came from no template).
    pub fn submit_solution(&self) -> Option<SubmitSolution<'_>> {
        Some(SubmitSolution {
            template_id: self.template_id?,
            version: self.version,
            header_timestamp: self.ntime,
            header_nonce: self.nonce,
            coinbase_tx: Bytes::new(&self.coinbase).ok()?,
        })
    }

    /// The block hash (SHA-256d of the header, internal byte order).
    pub fn hash(&self) -> [u8; 32] {
        sha256d(&self.header)
    }
}

/// An accepted share.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedShare {
    /// Header hash (raw SHA-256d).
    pub hash: [u8; 32],
    /// The job's target when the share was accepted.
    pub target: TargetLe,
    /// The difficulty credited: that of the easier of the job target and the block target,
    /// which is the work the share proves (a block found on a channel whose target is
    /// harder than the block's proves only the block's). Always finite.
    pub credit: f64,
    /// A block, when the hash also met the block target.
    pub block: Option<FoundBlock>,
}

/// Standard (header-only) or extended (the client rolls `extranonce_size` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Standard channel.
    Standard,
    /// Extended channel.
    Extended {
        /// Bytes the client rolls.
        extranonce_size: u16,
    },
}

#[derive(Debug, Clone)]
struct ChannelJob {
    job: Arc<Job>,
    /// The channel target when the job was sent; later SetTargets do not change it once
    /// active.
    target: TargetLe,
    /// Precomputed for standard channels (their extranonce is fixed).
    merkle_root: Option<[u8; 32]>,
    /// Whether a SetNewPrevHash (or min_ntime) made it minable.
    active: bool,
}

/// Acknowledgements not yet sent in a SubmitShares.Success.
#[derive(Debug, Clone, Copy, Default)]
struct Batch {
    count: u32,
    difficulty_sum: f64,
    last_sequence: u32,
}

/// A channel on the server side.
#[derive(Debug)]
pub struct ServerChannel {
    id: u32,
    kind: ChannelKind,
    user_identity: String,
    extranonce_prefix: Vec<u8>,
    target: TargetLe,
    max_target: TargetLe,
    /// The easiest target the server allows (its minimum share difficulty).
    easiest: TargetLe,
    jobs: HashMap<u32, ChannelJob>,
    job_order: VecDeque<u32>,
    /// Job ids dropped by the last previous-hash change, to answer "stale" rather than
    /// "unknown".
    stale: HashSet<u32>,
    prev: Option<PrevHash>,
    seen: HashSet<[u8; 32]>,
    vardiff: Vardiff,
    batch: Batch,
}

impl ServerChannel {
    /// A channel with its extranonce prefix and initial target. For a standard channel the
    /// prefix is the whole extranonce.
    pub fn new(
        id: u32,
        kind: ChannelKind,
        user_identity: &str,
        extranonce_prefix: Vec<u8>,
        target: TargetLe,
        max_target: TargetLe,
        vardiff: Vardiff,
    ) -> Self {
        ServerChannel {
            id,
            kind,
            user_identity: user_identity.to_string(),
            extranonce_prefix,
            target,
            max_target,
            easiest: MAX_TARGET,
            jobs: HashMap::new(),
            job_order: VecDeque::new(),
            stale: HashSet::new(),
            prev: None,
            seen: HashSet::new(),
            vardiff,
            batch: Batch::default(),
        }
    }

    /// Sets the server's minimum share difficulty as the easiest target this channel may
    /// get: the current target, the client's maximum and every later target (UpdateChannel,
    /// vardiff) are kept at or below it, so that no client can make every hash a share.
    pub fn with_easiest_target(mut self, easiest: TargetLe) -> Self {
        self.easiest = easiest;
        self.max_target = harder(self.max_target, easiest);
        self.target = harder(self.target, easiest);
        self
    }

    /// Channel id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Standard or extended.
    pub fn kind(&self) -> ChannelKind {
        self.kind
    }

    /// The user (and worker) the channel mines for.
    pub fn user_identity(&self) -> &str {
        &self.user_identity
    }

    /// The Open*MiningChannel.Success announcing this channel in answer to `request_id`, as a
    /// member of `group_channel_id`.
    pub fn open_success(&self, request_id: u32, group_channel_id: u32) -> Message<'_> {
        // A prefix is at most 32 bytes (the allocator's full length), so it always fits.
        let extranonce_prefix = Bytes::new(&self.extranonce_prefix).unwrap_or_default();
        let (channel_id, target) = (self.id, self.target);
        match self.kind {
            ChannelKind::Standard => {
                OpenStandardMiningChannelSuccess { request_id, channel_id, target, extranonce_prefix, group_channel_id }
                    .into()
            }
            ChannelKind::Extended { extranonce_size } => OpenExtendedMiningChannelSuccess {
                request_id,
                channel_id,
                target,
                extranonce_size,
                extranonce_prefix,
                group_channel_id,
            }
            .into(),
        }
    }

    /// The channel's extranonce prefix.
    pub fn extranonce_prefix(&self) -> &[u8] {
        &self.extranonce_prefix
    }

    /// Moves the channel under a new extranonce prefix (its upstream changed, so the jobs it
    /// has were built for the old one): they are dropped, shares for them are stale, and jobs
    /// added from now on use the new prefix. The caller sends SetExtranoncePrefix.
    pub fn set_extranonce_prefix(&mut self, prefix: Vec<u8>) {
        self.stale.extend(self.jobs.keys().copied());
        self.jobs.clear();
        self.job_order.clear();
        self.extranonce_prefix = prefix;
    }

    /// Current target (for jobs sent from now on).
    pub fn target(&self) -> TargetLe {
        self.target
    }

    /// Shares accepted on the current previous hash (the duplicate set's size).
    pub fn shares_on_tip(&self) -> usize {
        self.seen.len()
    }

    /// The previous hash jobs are mined on.
    pub fn prev_hash(&self) -> Option<&PrevHash> {
        self.prev.as_ref()
    }

    /// Sets the target for jobs sent from now on and for future jobs not yet active (jobs
    /// already active keep theirs). The caller sends SetTarget.
    pub fn set_target(&mut self, target: TargetLe) {
        self.target = target;
        for j in self.jobs.values_mut().filter(|j| !j.active) {
            j.target = target;
        }
    }

    /// UpdateChannel: a new maximum target. Returns a harder target to send in SetTarget when
    /// the current one is now too easy.
    pub fn update_max_target(&mut self, max_target: TargetLe) -> Option<TargetLe> {
        self.max_target = harder(max_target, self.easiest);
        let t = harder(self.target, self.max_target);
        (t != self.target).then(|| {
            self.set_target(t);
            t
        })
    }

    /// UpdateChannel: the client's new nominal hashrate and maximum target. Returns the target
    /// to send in SetTarget when it changes: the one the vardiff aims at for that hashrate,
    /// never easier than the new maximum or the server's minimum difficulty. A harder target
    /// is taken at once; an easier one only once a vardiff window has passed since the last
    /// change, so that a client cannot keep resetting the vardiff to an easy target (the
    /// hashrate is advisory). Fails with [`ChannelError::InvalidHashrate`] (the channel
    /// unchanged) for a negative, infinite or NaN hashrate.
    pub fn update_channel(
        &mut self,
        nominal_hash_rate: f32,
        max_target: TargetLe,
        now: u64,
    ) -> Result<Option<TargetLe>, ChannelError> {
        let rate = f64::from(nominal_hash_rate);
        if !rate.is_finite() || rate < 0.0 {
            return Err(ChannelError::InvalidHashrate);
        }
        self.max_target = harder(max_target, self.easiest);
        let wanted = if rate > 0.0 {
            self.vardiff.initial_target(rate, self.max_target)
        } else {
            harder(self.target, self.max_target)
        };
        let easing = super::target::cmp_le(&wanted, &self.target).is_gt();
        if wanted == self.target || (easing && !self.vardiff.window_done(now)) {
            return Ok(None);
        }
        self.vardiff.restart(now);
        self.set_target(wanted);
        Ok(Some(wanted))
    }

    /// Answers an UpdateChannel sent to `channel` (None: no channel of that id here): the
    /// SetTarget to send when the target changes, nothing when it stays, or the error whose
    /// [`ChannelError::code`] goes in UpdateChannel.Error.
    pub fn answer_update(
        channel: Option<&mut Self>,
        m: &UpdateChannel,
        now: u64,
    ) -> Result<Option<SetTarget>, ChannelError> {
        let ch = channel.filter(|c| c.id == m.channel_id).ok_or(ChannelError::UnknownChannel)?;
        let target = ch.update_channel(m.nominal_hash_rate, m.maximum_target, now)?;
        Ok(target.map(|maximum_target| SetTarget { channel_id: m.channel_id, maximum_target }))
    }

    /// Runs vardiff at monotonic time `now` (seconds): a new target to send in SetTarget, if
    /// the share rate calls for one.
    pub fn retarget(&mut self, now: u64) -> Option<TargetLe> {
        let t = self.vardiff.retarget(now, self.target, self.max_target)?;
        self.set_target(t);
        Some(t)
    }

    /// Adds a job. `active_ntime` None makes it a future job (activated by
    /// [`Self::activate`]); Some(ntime) makes it minable now on the current previous hash.
    /// Fails when the job's extranonce hole does not fit this channel.
    pub fn add_job(&mut self, job_id: u32, job: Arc<Job>, active_ntime: Option<u32>) -> Result<(), ChannelError> {
        let full = self.extranonce_prefix.len()
            + match self.kind {
                ChannelKind::Standard => 0,
                ChannelKind::Extended { extranonce_size } => usize::from(extranonce_size),
            };
        if job.coinbase.extranonce_len != full {
            return Err(ChannelError::ExtranonceMismatch);
        }
        if job.coinbase.prefix.len() > 0xFFFF || job.coinbase.suffix.len() > 0xFFFF || job.merkle_path.len() > 0xFF {
            return Err(ChannelError::JobTooLarge);
        }
        if active_ntime.is_some() && self.prev.is_none() {
            return Err(ChannelError::NoPrevHash);
        }
        let merkle_root = matches!(self.kind, ChannelKind::Standard)
            .then(|| merkle_root(&job.coinbase.stripped(&self.extranonce_prefix), &job.merkle_path));
        if self
            .jobs
            .insert(job_id, ChannelJob { job, target: self.target, merkle_root, active: active_ntime.is_some() })
            .is_none()
        {
            self.job_order.push_back(job_id);
        }
        while self.job_order.len() > MAX_JOBS_PER_CHANNEL {
            self.evict_one();
        }
        Ok(())
    }

    /// Drops the oldest active job, or the oldest future job when every job is a future one:
    /// future jobs wait for a SetNewPrevHash that must find them.
    fn evict_one(&mut self) {
        let jobs = &self.jobs;
        let pos = self.job_order.iter().position(|id| jobs.get(id).is_some_and(|j| j.active)).unwrap_or(0);
        if let Some(old) = self.job_order.remove(pos) {
            self.jobs.remove(&old);
        }
    }

    /// Activates future job `job_id` on a new previous hash: every other job becomes stale.
    /// Accepted shares are remembered for as long as the previous hash stays the same, so a
    /// re-announced tip (a template provider reconnect) cannot make them count twice.
    pub fn activate(&mut self, job_id: u32, prev: PrevHash) -> Result<SetNewPrevHash, ChannelError> {
        let job = self.jobs.get(&job_id).cloned().ok_or(ChannelError::UnknownJob)?;
        self.stale = self.jobs.keys().copied().filter(|id| *id != job_id).collect();
        self.jobs.clear();
        self.job_order.clear();
        if self.prev.map(|p| p.prev_hash) != Some(prev.prev_hash) {
            self.seen.clear();
        }
        self.jobs.insert(job_id, ChannelJob { active: true, ..job });
        self.job_order.push_back(job_id);
        self.prev = Some(prev);
        Ok(SetNewPrevHash {
            channel_id: self.id,
            job_id,
            prev_hash: prev.prev_hash,
            min_ntime: prev.min_ntime,
            nbits: prev.nbits,
        })
    }

    /// NewMiningJob for a job of this standard channel (None on an extended channel or for an
    /// unknown job).
    pub fn standard_job(&self, job_id: u32, min_ntime: Option<u32>) -> Option<NewMiningJob> {
        let j = self.jobs.get(&job_id)?;
        Some(NewMiningJob {
            channel_id: self.id,
            job_id,
            min_ntime,
            version: j.job.version,
            merkle_root: j.merkle_root?,
        })
    }

    /// The job message for this channel: NewMiningJob on a standard channel,
    /// NewExtendedMiningJob on an extended one.
    pub fn job_message(&self, job_id: u32, min_ntime: Option<u32>) -> Option<crate::Message<'_>> {
        let j = self.jobs.get(&job_id)?;
        Some(match (self.kind, j.merkle_root) {
            (ChannelKind::Standard, Some(root)) => {
                NewMiningJob { channel_id: self.id, job_id, min_ntime, version: j.job.version, merkle_root: root }
                    .into()
            }
            _ => extended_job_message(self.id, job_id, min_ntime, &j.job).into(),
        })
    }

    /// Validates a share at unix time `now`. Accepted shares count towards vardiff and the
    /// next SubmitShares.Success (see [`Self::take_success`]).
    pub fn validate(&mut self, share: &Share<'_>, sequence_number: u32, now: u32) -> Result<AcceptedShare, ShareError> {
        let Some(j) = self.jobs.get(&share.job_id) else {
            return Err(if self.stale.contains(&share.job_id) {
                ShareError::StaleShare
            } else {
                ShareError::InvalidJobId
            });
        };
        let prev = match (&self.prev, j.active) {
            (Some(p), true) => *p,
            _ => return Err(ShareError::InvalidJobId),
        };
        let rollable = match self.kind {
            ChannelKind::Standard => 0,
            ChannelKind::Extended { extranonce_size } => usize::from(extranonce_size),
        };
        if share.extranonce.len() != rollable {
            return Err(ShareError::BadExtranonceSize);
        }
        let mask = if j.job.version_rolling_allowed { VERSION_ROLLING_MASK } else { 0 };
        if (share.version ^ j.job.version) & !mask != 0 {
            return Err(if mask == 0 {
                ShareError::VersionRollingNotAllowed
            } else {
                ShareError::InvalidNonRollableVersionBit
            });
        }
        if share.ntime < prev.min_ntime || share.ntime > now.saturating_add(MAX_NTIME_AHEAD_SECS) {
            return Err(ShareError::NtimeOutOfRange);
        }
        let full_extranonce = [&self.extranonce_prefix[..], share.extranonce].concat();
        let root = match j.merkle_root {
            Some(r) => r,
            None => merkle_root(&j.job.coinbase.stripped(&full_extranonce), &j.job.merkle_path),
        };
        let header = header_bytes(share.version, &prev.prev_hash, &root, share.ntime, prev.nbits, share.nonce);
        let hash = sha256d(&header);
        let is_block = hash_meets_target(&hash, &prev.block_target);
        // A block is always worth a share, even where the share target is the harder one
        // (regtest, where the network target is trivial).
        if !is_block && !hash_meets_target(&hash, &j.target) {
            return Err(ShareError::DifficultyTooLow);
        }
        if !self.seen.insert(hash) {
            return Err(ShareError::DuplicateShare);
        }
        let block = is_block.then(|| FoundBlock {
            template_id: j.job.template_id,
            header,
            coinbase: j.job.coinbase.full(&full_extranonce),
            version: share.version,
            ntime: share.ntime,
            nonce: share.nonce,
            extranonce: full_extranonce,
            prev_hash: prev.prev_hash,
            nbits: prev.nbits,
            merkle_path: j.job.merkle_path.clone(),
        });
        let credit = difficulty(&easier(j.target, prev.block_target));
        self.vardiff.on_share();
        self.batch.count += 1;
        self.batch.difficulty_sum += credit;
        self.batch.last_sequence = sequence_number;
        Ok(AcceptedShare { hash, target: j.target, credit, block })
    }

    /// The SubmitShares.Success for shares accepted since the last call, if any; the batch
    /// starts over.
    pub fn take_success(&mut self) -> Option<SubmitSharesSuccess> {
        let b = std::mem::take(&mut self.batch);
        (b.count > 0).then(|| SubmitSharesSuccess {
            channel_id: self.id,
            last_sequence_number: b.last_sequence,
            new_submits_accepted_count: b.count,
            new_shares_sum: b.difficulty_sum.round() as u64,
        })
    }
}

/// NewExtendedMiningJob for `job` addressed to `channel_id` (a channel or a group).
pub fn extended_job_message(
    channel_id: u32,
    job_id: u32,
    min_ntime: Option<u32>,
    job: &Job,
) -> NewExtendedMiningJob<'_> {
    NewExtendedMiningJob {
        channel_id,
        job_id,
        min_ntime,
        version: job.version,
        version_rolling_allowed: job.version_rolling_allowed,
        // ServerChannel::add_job refuses jobs whose parts do not fit these types.
        merkle_path: Seq::new(&job.merkle_path).unwrap_or(Seq::EMPTY),
        coinbase_tx_prefix: Bytes::new(&job.coinbase.prefix).unwrap_or(Bytes::EMPTY),
        coinbase_tx_suffix: Bytes::new(&job.coinbase.suffix).unwrap_or(Bytes::EMPTY),
    }
}
