//! The mining client channel: job messages in, work to hash and shares to submit out; and the
//! hashing helpers around it.

use sv2::channels::client::{ClientChannel, Work as CoreWork};
use sv2::channels::hash::{header_bytes, sha256d as core_sha256d};
use sv2::channels::target;
use sv2::codec::{Bytes, Seq};
use sv2::messages as core;

use crate::bridge::ffi::{
    ErrorCode, NewExtendedMiningJob, NewMiningJob, SetExtranoncePrefix, SetGroupChannel, SetNewPrevHash, SetTarget,
    SubmitSharesExtended, SubmitSharesStandard, Work,
};
use crate::error::{guard, Error};

/// A standard or extended channel on the client side.
pub struct ClientChannelImpl(ClientChannel);

/// A standard channel from OpenStandardMiningChannel.Success.
pub(crate) fn client_channel_standard(
    channel_id: u32,
    target: &[u8; 32],
    extranonce_prefix: &[u8],
    allow_version_rolling: bool,
) -> Box<ClientChannelImpl> {
    Box::new(ClientChannelImpl(ClientChannel::standard(channel_id, *target, extranonce_prefix, allow_version_rolling)))
}

/// An extended channel from OpenExtendedMiningChannel.Success.
pub(crate) fn client_channel_extended(
    channel_id: u32,
    target: &[u8; 32],
    extranonce_prefix: &[u8],
    extranonce_size: u16,
) -> Box<ClientChannelImpl> {
    Box::new(ClientChannelImpl(ClientChannel::extended(channel_id, *target, extranonce_prefix, extranonce_size)))
}

fn core_work(w: &Work) -> CoreWork {
    CoreWork {
        job_id: w.job_id,
        version: w.version,
        version_mask: w.version_mask,
        prev_hash: w.prev_hash,
        merkle_root: w.merkle_root,
        min_ntime: w.min_ntime,
        nbits: w.nbits,
        target: w.target,
        extranonce: w.extranonce.clone(),
    }
}

impl ClientChannelImpl {
    pub(crate) fn channel_id(&self) -> u32 {
        self.0.channel_id()
    }

    pub(crate) fn extranonce_size(&self) -> usize {
        self.0.extranonce_size()
    }

    pub(crate) fn target(&self) -> [u8; 32] {
        self.0.target()
    }

    pub(crate) fn on_new_mining_job(&mut self, m: &NewMiningJob) {
        self.0.on_new_mining_job(&core::NewMiningJob {
            channel_id: m.channel_id,
            job_id: m.job_id,
            min_ntime: m.min_ntime.has_value.then_some(m.min_ntime.value),
            version: m.version,
            merkle_root: m.merkle_root,
        });
    }

    pub(crate) fn on_new_extended_job(&mut self, m: &NewExtendedMiningJob) -> Result<(), Error> {
        guard(|| {
            let path: Vec<[u8; 32]> = m.merkle_path.iter().map(|h| h.bytes).collect();
            self.0.on_new_extended_job(&core::NewExtendedMiningJob {
                channel_id: m.channel_id,
                job_id: m.job_id,
                min_ntime: m.min_ntime.has_value.then_some(m.min_ntime.value),
                version: m.version,
                version_rolling_allowed: m.version_rolling_allowed,
                merkle_path: Seq::new(&path)?,
                coinbase_tx_prefix: Bytes::new(&m.coinbase_tx_prefix)?,
                coinbase_tx_suffix: Bytes::new(&m.coinbase_tx_suffix)?,
            });
            Ok(())
        })
    }

    pub(crate) fn on_set_new_prev_hash(&mut self, m: &SetNewPrevHash) {
        self.0.on_set_new_prev_hash(&core::SetNewPrevHash {
            channel_id: m.channel_id,
            job_id: m.job_id,
            prev_hash: m.prev_hash,
            min_ntime: m.min_ntime,
            nbits: m.nbits,
        });
    }

    pub(crate) fn on_set_target(&mut self, m: &SetTarget) {
        self.0.on_set_target(m.maximum_target);
    }

    pub(crate) fn on_set_extranonce_prefix(&mut self, m: &SetExtranoncePrefix) {
        self.0.on_set_extranonce_prefix(&m.extranonce_prefix);
    }

    /// Joins the group when SetGroupChannel lists this channel; whether it did.
    pub(crate) fn on_set_group_channel(&mut self, m: &SetGroupChannel) -> bool {
        let listed = m.channel_ids.contains(&self.0.channel_id());
        if listed {
            self.0.set_group_channel_id(m.group_channel_id);
        }
        listed
    }

    pub(crate) fn set_group_channel_id(&mut self, group_channel_id: u32) {
        self.0.set_group_channel_id(group_channel_id);
    }

    /// The group id into `out`, or false when the channel is in no group but its own.
    pub(crate) fn group_channel_id(&self, out: &mut u32) -> bool {
        self.0.group_channel_id().map(|g| *out = g).is_some()
    }

    pub(crate) fn is_addressed_by(&self, id: u32) -> bool {
        self.0.is_addressed_by(id)
    }

    /// The work to hash with `extranonce` rolled; false until a job is active.
    pub(crate) fn work(&self, extranonce: &[u8], out: &mut Work) -> Result<bool, Error> {
        guard(|| work_on(&self.0, extranonce, out))
    }

    pub(crate) fn submit_standard(
        &self,
        work: &Work,
        sequence_number: u32,
        nonce: u32,
        ntime: u32,
        version: u32,
    ) -> SubmitSharesStandard {
        let s = self.0.submit_standard(&core_work(work), sequence_number, nonce, ntime, version);
        SubmitSharesStandard {
            channel_id: s.channel_id,
            sequence_number: s.sequence_number,
            job_id: s.job_id,
            nonce: s.nonce,
            ntime: s.ntime,
            version: s.version,
        }
    }

    pub(crate) fn submit_extended(
        &self,
        work: &Work,
        sequence_number: u32,
        nonce: u32,
        ntime: u32,
        version: u32,
    ) -> Result<SubmitSharesExtended, Error> {
        guard(|| {
            // The core silently drops an extranonce over 32 bytes; a Work edited by C++ could hold one.
            Bytes::<32>::new(&work.extranonce)?;
            let w = core_work(work);
            let s = self.0.submit_extended(&w, sequence_number, nonce, ntime, version);
            Ok(SubmitSharesExtended {
                channel_id: s.channel_id,
                sequence_number: s.sequence_number,
                job_id: s.job_id,
                nonce: s.nonce,
                ntime: s.ntime,
                version: s.version,
                extranonce: s.extranonce.as_bytes().to_vec(),
            })
        })
    }
}

/// The work on `ch` with `extranonce` rolled (exactly its size, ignored on standard channels)
/// into `out`; false until a job is active.
pub(crate) fn work_on(ch: &ClientChannel, extranonce: &[u8], out: &mut Work) -> Result<bool, Error> {
    let size = ch.extranonce_size();
    if size != 0 && extranonce.len() != size {
        let detail = format!("extranonce of {} bytes on a channel that rolls {size}", extranonce.len());
        return Err(Error::new(ErrorCode::InvalidArgument, detail));
    }
    let Some(w) = ch.work(extranonce) else { return Ok(false) };
    *out = Work {
        job_id: w.job_id,
        version: w.version,
        version_mask: w.version_mask,
        prev_hash: w.prev_hash,
        merkle_root: w.merkle_root,
        min_ntime: w.min_ntime,
        nbits: w.nbits,
        target: w.target,
        extranonce: w.extranonce,
    };
    Ok(true)
}

/// SHA-256d of `data`.
pub(crate) fn sha256d(data: &[u8]) -> [u8; 32] {
    core_sha256d(data)
}

/// SHA-256d of the header built from `work` with `version`, `ntime` and `nonce`.
pub(crate) fn header_hash(work: &Work, version: u32, ntime: u32, nonce: u32) -> [u8; 32] {
    core_sha256d(&header_bytes(version, &work.prev_hash, &work.merkle_root, ntime, work.nbits, nonce))
}

/// Whether `hash` (a little-endian integer) is at or below `target`.
pub(crate) fn hash_meets_target(hash: &[u8; 32], target: &[u8; 32]) -> bool {
    target::hash_meets_target(hash, target)
}

/// The network target of a compact `nbits`.
pub(crate) fn target_from_nbits(nbits: u32) -> [u8; 32] {
    target::target_from_nbits(nbits)
}
