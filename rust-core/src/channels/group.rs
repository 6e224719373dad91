//! Group channels on the server side: the channels of one connection, sent each job once.
//!
//! Every channel belongs to a group (its id comes back in `Open*MiningChannel.Success`). A
//! standard channel on a connection that did not set REQUIRES_STANDARD_JOBS gets its jobs as
//! one NewExtendedMiningJob and one SetNewPrevHash addressed to the group; with that flag each
//! standard channel gets its own NewMiningJob. Extended channels get their own
//! NewExtendedMiningJob either way. Every member has the same full extranonce length, which
//! the [`super::extranonce::ExtranonceAllocator`] guarantees.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::server::{extended_job_message, AcceptedShare, ChannelKind, Job, PrevHash, ServerChannel, Share};
use super::target::TargetLe;
use super::{ChannelError, ShareError};
use crate::messages::{SetNewPrevHash, SetTarget};
use crate::Message;

/// A group channel and its members.
#[derive(Debug)]
pub struct GroupChannel {
    id: u32,
    standard_jobs: bool,
    /// Boxed: a B-tree node holds eleven entries inline, so one channel per connection (the
    /// common case) would otherwise cost eleven channels' memory.
    channels: BTreeMap<u32, Box<ServerChannel>>,
}

impl GroupChannel {
    /// An empty group. `requires_standard_jobs`: the connection's SetupConnection set
    /// REQUIRES_STANDARD_JOBS, so standard members get NewMiningJob each.
    pub fn new(id: u32, requires_standard_jobs: bool) -> Self {
        GroupChannel { id, standard_jobs: requires_standard_jobs, channels: BTreeMap::new() }
    }

    /// The group's channel id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Adds a member; fails with [`ChannelError::UnknownChannel`] when its id is the group's
    /// or already taken.
    pub fn add(&mut self, channel: ServerChannel) -> Result<&mut ServerChannel, ChannelError> {
        let id = channel.id();
        if id == self.id || self.channels.contains_key(&id) {
            return Err(ChannelError::UnknownChannel);
        }
        Ok(self.channels.entry(id).or_insert(Box::new(channel)))
    }

    /// Removes a member (CloseChannel).
    pub fn remove(&mut self, channel_id: u32) -> Option<ServerChannel> {
        self.channels.remove(&channel_id).map(|c| *c)
    }

    /// A member.
    pub fn get(&self, channel_id: u32) -> Option<&ServerChannel> {
        self.channels.get(&channel_id).map(|c| &**c)
    }

    /// A member, mutably.
    pub fn get_mut(&mut self, channel_id: u32) -> Option<&mut ServerChannel> {
        self.channels.get_mut(&channel_id).map(|c| &mut **c)
    }

    /// Every member, by id.
    pub fn channels(&self) -> impl Iterator<Item = &ServerChannel> {
        self.channels.values().map(|c| &**c)
    }

    /// Every member, mutably.
    pub fn channels_mut(&mut self) -> impl Iterator<Item = &mut ServerChannel> {
        self.channels.values_mut().map(|c| &mut **c)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether the group has no members.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    fn broadcasts(&self) -> bool {
        !self.standard_jobs && self.channels.values().any(|c| c.kind() == ChannelKind::Standard)
    }

    /// Adds `job` to every member (`active_ntime` None: a future job) and returns the messages
    /// that carry it: one group NewExtendedMiningJob for the standard members (or one
    /// NewMiningJob each with REQUIRES_STANDARD_JOBS), one NewExtendedMiningJob per extended
    /// member. On error no message is returned; members before the failing one keep the job.
    pub fn add_job<'j>(
        &mut self,
        job_id: u32,
        job: &'j Arc<Job>,
        active_ntime: Option<u32>,
    ) -> Result<Vec<Message<'j>>, ChannelError> {
        for c in self.channels.values_mut() {
            c.add_job(job_id, job.clone(), active_ntime)?;
        }
        let broadcast = self.broadcasts();
        let mut out = Vec::new();
        if broadcast {
            out.push(extended_job_message(self.id, job_id, active_ntime, job).into());
        }
        for c in self.channels.values() {
            match c.kind() {
                ChannelKind::Standard if broadcast => {}
                ChannelKind::Standard => out.extend(c.standard_job(job_id, active_ntime).map(Message::from)),
                ChannelKind::Extended { .. } => {
                    out.push(extended_job_message(c.id(), job_id, active_ntime, job).into())
                }
            }
        }
        Ok(out)
    }

    /// Activates future job `job_id` on every member; returns one SetNewPrevHash for the
    /// group's broadcast members and one per other member.
    pub fn activate(&mut self, job_id: u32, prev: PrevHash) -> Result<Vec<SetNewPrevHash>, ChannelError> {
        let broadcast = self.broadcasts();
        let mut out = Vec::new();
        for c in self.channels.values_mut() {
            let m = c.activate(job_id, prev)?;
            if !(broadcast && c.kind() == ChannelKind::Standard) {
                out.push(m);
            }
        }
        if broadcast {
            out.insert(
                0,
                SetNewPrevHash {
                    channel_id: self.id,
                    job_id,
                    prev_hash: prev.prev_hash,
                    min_ntime: prev.min_ntime,
                    nbits: prev.nbits,
                },
            );
        }
        Ok(out)
    }

    /// SetTarget for the whole group: every member takes `target` for its next jobs.
    pub fn set_target(&mut self, target: TargetLe) -> SetTarget {
        for c in self.channels.values_mut() {
            c.set_target(target);
        }
        SetTarget { channel_id: self.id, maximum_target: target }
    }

    /// Validates a share on member `channel_id` ([`ShareError::InvalidChannelId`] for a
    /// channel that is not a member, the group's own id included).
    pub fn validate(
        &mut self,
        channel_id: u32,
        share: &Share<'_>,
        sequence_number: u32,
        now: u32,
    ) -> Result<AcceptedShare, ShareError> {
        self.channels.get_mut(&channel_id).ok_or(ShareError::InvalidChannelId)?.validate(share, sequence_number, now)
    }
}
