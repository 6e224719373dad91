//! A channel as a mining client sees it: jobs, the previous hash, the target, and the work to
//! hash next.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::hash::merkle_root;
use super::target::TargetLe;
use super::VERSION_ROLLING_MASK;
use crate::codec::Bytes;
use crate::messages::{
    NewExtendedMiningJob, NewMiningJob, SetGroupChannel, SetNewPrevHash, SubmitSharesExtended, SubmitSharesStandard,
};
use crate::Message;

#[derive(Debug, Clone)]
enum JobWork {
    Standard {
        merkle_root: [u8; 32],
    },
    Extended {
        prefix: Vec<u8>,
        suffix: Vec<u8>,
        merkle_path: Vec<[u8; 32]>,
        /// The channel's extranonce prefix when the job arrived.
        extranonce_prefix: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
struct ClientJob {
    version: u32,
    version_rolling_allowed: bool,
    work: JobWork,
    /// The share target that applies to this job.
    target: TargetLe,
    /// Received without min_ntime and not activated yet: SetTarget still reaches it.
    future: bool,
}

/// Everything needed to hash: the header fields and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    /// The job.
    pub job_id: u32,
    /// Header version to start from.
    pub version: u32,
    /// Bits of the version that may be changed.
    pub version_mask: u32,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Merkle root for the chosen extranonce.
    pub merkle_root: [u8; 32],
    /// First nTime.
    pub min_ntime: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Share target of this job: the channel's when the job arrived, or the last SetTarget
    /// before a future job was activated.
    pub target: TargetLe,
    /// The rolled extranonce this work was built with (empty on standard channels).
    pub extranonce: Vec<u8>,
}

/// Jobs a client channel keeps at most (the active one and future ones).
pub const MAX_JOBS: usize = 64;

/// A channel on the client side.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    channel_id: u32,
    group_channel_id: Option<u32>,
    extranonce_prefix: Vec<u8>,
    extranonce_size: usize,
    target: TargetLe,
    allow_version_rolling: bool,
    jobs: HashMap<u32, ClientJob>,
    current: Option<u32>,
    prev: Option<(/* prev_hash */ [u8; 32], /* nbits */ u32, /* min_ntime */ u32)>,
}

impl ClientChannel {
    /// A standard channel from OpenStandardMiningChannel.Success. `allow_version_rolling` is
    /// false when the server set REQUIRES_FIXED_VERSION.
    pub fn standard(channel_id: u32, target: TargetLe, extranonce_prefix: &[u8], allow_version_rolling: bool) -> Self {
        Self::new(channel_id, target, extranonce_prefix, 0, allow_version_rolling)
    }

    /// An extended channel from OpenExtendedMiningChannel.Success.
    pub fn extended(channel_id: u32, target: TargetLe, extranonce_prefix: &[u8], extranonce_size: u16) -> Self {
        Self::new(channel_id, target, extranonce_prefix, usize::from(extranonce_size), true)
    }

    fn new(channel_id: u32, target: TargetLe, prefix: &[u8], size: usize, rolling: bool) -> Self {
        ClientChannel {
            channel_id,
            group_channel_id: None,
            extranonce_prefix: prefix.to_vec(),
            extranonce_size: size,
            target,
            allow_version_rolling: rolling,
            jobs: HashMap::new(),
            current: None,
            prev: None,
        }
    }

    /// Channel id.
    pub fn channel_id(&self) -> u32 {
        self.channel_id
    }

    /// Bytes of extranonce this client rolls (0 on standard channels).
    pub fn extranonce_size(&self) -> usize {
        self.extranonce_size
    }

    /// The share target for jobs received from now on (the active job keeps the one in force
    /// when it arrived: see [`Work::target`]).
    pub fn target(&self) -> TargetLe {
        self.target
    }

    /// The group channel the channel belongs to, when it is not its own group.
    pub fn group_channel_id(&self) -> Option<u32> {
        self.group_channel_id
    }

    /// Puts the channel in group `group_channel_id` (OpenStandardMiningChannel.Success's or
    /// OpenExtendedMiningChannel.Success's `group_channel_id`), so that jobs, previous hashes
    /// and targets sent to the group reach it. The channel's own id means no group.
    pub fn set_group_channel_id(&mut self, group_channel_id: u32) {
        self.group_channel_id = (group_channel_id != self.channel_id).then_some(group_channel_id);
    }

    /// Whether a message addressed to `id` reaches this channel: its own id or its group's.
    pub fn is_addressed_by(&self, id: u32) -> bool {
        id == self.channel_id || Some(id) == self.group_channel_id
    }

    fn add(&mut self, job_id: u32, job: ClientJob, min_ntime: Option<u32>) {
        // Bound what a server can make us keep: a new active job replaces the previous one,
        // and past MAX_JOBS the oldest (lowest id) future jobs go.
        if min_ntime.is_some() {
            if let Some(old) = self.current.take() {
                self.jobs.remove(&old);
            }
        }
        while self.jobs.len() >= MAX_JOBS {
            let Some(oldest) = self.jobs.keys().copied().filter(|id| Some(*id) != self.current).min() else { break };
            self.jobs.remove(&oldest);
        }
        self.jobs.insert(job_id, job);
        if let (Some(ntime), Some(prev)) = (min_ntime, self.prev.as_mut()) {
            prev.2 = ntime;
            self.current = Some(job_id);
        }
    }

    /// NewMiningJob (standard channels).
    pub fn on_new_mining_job(&mut self, m: &NewMiningJob) {
        let job = ClientJob {
            version: m.version,
            version_rolling_allowed: self.allow_version_rolling,
            work: JobWork::Standard { merkle_root: m.merkle_root },
            target: self.target,
            future: m.min_ntime.is_none(),
        };
        self.add(m.job_id, job, m.min_ntime);
    }

    /// NewExtendedMiningJob (extended channels, or a standard channel's group).
    pub fn on_new_extended_job(&mut self, m: &NewExtendedMiningJob<'_>) {
        let job = ClientJob {
            version: m.version,
            version_rolling_allowed: m.version_rolling_allowed,
            work: JobWork::Extended {
                prefix: m.coinbase_tx_prefix.as_bytes().to_vec(),
                suffix: m.coinbase_tx_suffix.as_bytes().to_vec(),
                merkle_path: m.merkle_path.to_vec(),
                extranonce_prefix: self.extranonce_prefix.clone(),
            },
            target: self.target,
            future: m.min_ntime.is_none(),
        };
        self.add(m.job_id, job, m.min_ntime);
    }

    /// SetNewPrevHash: switch to the named job; every other job is dropped.
    pub fn on_set_new_prev_hash(&mut self, m: &SetNewPrevHash) {
        self.jobs.retain(|id, _| *id == m.job_id);
        self.prev = Some((m.prev_hash, m.nbits, m.min_ntime));
        self.current = self.jobs.get_mut(&m.job_id).map(|job| {
            job.future = false;
            m.job_id
        });
    }

    /// SetTarget: the target of jobs received after it and of future jobs not activated yet.
    /// The active job keeps the target it arrived with, as the server validates it. Spec
    /// (04-semantics §1): "It applies to every job received on the channel after it, and to
    /// future jobs already received but not yet activated (min_ntime empty). It does not change
    /// jobs already active."
    pub fn on_set_target(&mut self, target: TargetLe) {
        self.target = target;
        for job in self.jobs.values_mut().filter(|j| j.future) {
            job.target = target;
        }
    }

    /// SetExtranoncePrefix: the prefix of jobs received after it. Spec (04-semantics §2): it
    /// "replaces the prefix for every job sent *after* it on that channel", so jobs already
    /// received, future ones included, keep the prefix they arrived with.
    pub fn on_set_extranonce_prefix(&mut self, prefix: &[u8]) {
        self.extranonce_prefix = prefix.to_vec();
    }

    /// SetGroupChannel: joins the group when the message lists this channel.
    pub fn on_set_group_channel(&mut self, m: &SetGroupChannel<'_>) -> bool {
        let listed = m.channel_ids.iter().any(|id| id == self.channel_id);
        if listed {
            self.set_group_channel_id(m.group_channel_id);
        }
        listed
    }

    /// Applies a server message addressed to this channel or its group: NewMiningJob (own id
    /// only), NewExtendedMiningJob, SetNewPrevHash, SetTarget, SetExtranoncePrefix (own id
    /// only, never a group), and SetGroupChannel listing it. Returns whether it applied;
    /// anything else (CloseChannel included) is left to the caller.
    pub fn on_message(&mut self, msg: &Message<'_>) -> bool {
        let own = self.channel_id;
        match msg {
            Message::NewMiningJob(m) if m.channel_id == own => self.on_new_mining_job(m),
            Message::NewExtendedMiningJob(m) if self.is_addressed_by(m.channel_id) => self.on_new_extended_job(m),
            Message::SetNewPrevHash(m) if self.is_addressed_by(m.channel_id) => self.on_set_new_prev_hash(m),
            Message::SetTarget(m) if self.is_addressed_by(m.channel_id) => self.on_set_target(m.maximum_target),
            Message::SetExtranoncePrefix(m) if m.channel_id == own => {
                self.on_set_extranonce_prefix(m.extranonce_prefix.as_bytes())
            }
            Message::SetGroupChannel(m) => return self.on_set_group_channel(m),
            _ => return false,
        }
        true
    }

    /// The work to hash with rolled `extranonce` (exactly [`Self::extranonce_size`] bytes;
    /// ignored on standard jobs), or None until a job is active.
    pub fn work(&self, extranonce: &[u8]) -> Option<Work> {
        let job_id = self.current?;
        let job = self.jobs.get(&job_id)?;
        let (prev_hash, nbits, min_ntime) = self.prev?;
        let (merkle_root, extranonce) = match &job.work {
            JobWork::Standard { merkle_root } => (*merkle_root, Vec::new()),
            JobWork::Extended { prefix, suffix, merkle_path, extranonce_prefix } => {
                let rolled = if self.extranonce_size == 0 { &[][..] } else { extranonce };
                let coinbase = [&prefix[..], extranonce_prefix, rolled, &suffix[..]].concat();
                (merkle_root(&coinbase, merkle_path), rolled.to_vec())
            }
        };
        let version_mask = if job.version_rolling_allowed { VERSION_ROLLING_MASK } else { 0 };
        Some(Work {
            job_id,
            version: job.version,
            version_mask,
            prev_hash,
            merkle_root,
            min_ntime,
            nbits,
            target: job.target,
            extranonce,
        })
    }

    /// SubmitSharesStandard for a solved `work`.
    pub fn submit_standard(
        &self,
        work: &Work,
        sequence_number: u32,
        nonce: u32,
        ntime: u32,
        version: u32,
    ) -> SubmitSharesStandard {
        SubmitSharesStandard {
            channel_id: self.channel_id,
            sequence_number,
            job_id: work.job_id,
            nonce,
            ntime,
            version,
        }
    }

    /// SubmitSharesExtended for a solved `work` (borrows its extranonce).
    pub fn submit_extended<'w>(
        &self,
        work: &'w Work,
        sequence_number: u32,
        nonce: u32,
        ntime: u32,
        version: u32,
    ) -> SubmitSharesExtended<'w> {
        SubmitSharesExtended {
            channel_id: self.channel_id,
            sequence_number,
            job_id: work.job_id,
            nonce,
            ntime,
            version,
            extranonce: Bytes::new(&work.extranonce).unwrap_or(Bytes::EMPTY),
        }
    }
}

/// The channels of one client connection and the groups they belong to: a message addressed
/// to a group id reaches every member.
#[derive(Debug, Clone, Default)]
pub struct ClientChannels {
    /// Boxed: a B-tree node holds eleven entries inline, and most clients have one channel.
    channels: BTreeMap<u32, Box<ClientChannel>>,
    groups: HashMap<u32, BTreeSet<u32>>,
}

impl ClientChannels {
    /// No channels yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an opened channel in group `group_channel_id` (from the Open*.Success).
    pub fn insert(&mut self, channel: ClientChannel, group_channel_id: u32) {
        let id = channel.channel_id();
        self.channels.insert(id, Box::new(channel));
        self.join(id, group_channel_id);
    }

    fn join(&mut self, channel_id: u32, group_id: u32) {
        for members in self.groups.values_mut() {
            members.remove(&channel_id);
        }
        self.groups.retain(|_, m| !m.is_empty());
        if group_id != channel_id {
            self.groups.entry(group_id).or_default().insert(channel_id);
        }
        if let Some(c) = self.channels.get_mut(&channel_id) {
            c.set_group_channel_id(group_id);
        }
    }

    /// Removes a channel.
    pub fn remove(&mut self, channel_id: u32) -> Option<ClientChannel> {
        self.join(channel_id, channel_id);
        self.channels.remove(&channel_id).map(|c| *c)
    }

    /// A channel.
    pub fn get(&self, channel_id: u32) -> Option<&ClientChannel> {
        self.channels.get(&channel_id).map(|c| &**c)
    }

    /// Every channel, by id.
    pub fn iter(&self) -> impl Iterator<Item = &ClientChannel> {
        self.channels.values().map(|c| &**c)
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether there are no channels.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The channels a message for `id` reaches: the channel itself, or a group's members.
    pub fn resolve(&self, id: u32) -> Vec<u32> {
        if self.channels.contains_key(&id) {
            return vec![id];
        }
        self.groups.get(&id).map(|m| m.iter().copied().collect()).unwrap_or_default()
    }

    /// Applies a server message (jobs, SetNewPrevHash, SetTarget, SetExtranoncePrefix,
    /// SetGroupChannel, CloseChannel) to the channels it addresses; returns their ids (empty
    /// for other messages or unknown ids).
    pub fn on_message(&mut self, msg: &Message<'_>) -> Vec<u32> {
        let target = match msg {
            Message::NewMiningJob(m) => m.channel_id,
            Message::NewExtendedMiningJob(m) => m.channel_id,
            Message::SetNewPrevHash(m) => m.channel_id,
            Message::SetTarget(m) => m.channel_id,
            Message::SetExtranoncePrefix(m) => m.channel_id,
            Message::SetGroupChannel(m) => {
                let ids: Vec<u32> = m.channel_ids.iter().filter(|id| self.channels.contains_key(id)).collect();
                for id in &ids {
                    self.join(*id, m.group_channel_id);
                }
                return ids;
            }
            Message::CloseChannel(m) => {
                let ids = self.resolve(m.channel_id);
                for id in &ids {
                    self.remove(*id);
                }
                return ids;
            }
            _ => return Vec::new(),
        };
        // Each channel decides what reaches it (SetExtranoncePrefix never through a group).
        let mut ids = self.resolve(target);
        ids.retain(|id| self.channels.get_mut(id).is_some_and(|c| c.on_message(msg)));
        ids
    }
}
