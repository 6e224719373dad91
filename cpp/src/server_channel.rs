//! Server and group channels for C++: jobs and previous hashes out, shares and UpdateChannel
//! in, each answer as the bridge's message structs.

use sv2::channels::group::GroupChannel;
use sv2::channels::server::{AcceptedShare, ChannelKind, ServerChannel, Share};
use sv2::channels::target::difficulty;
use sv2::channels::vardiff::Vardiff;
use sv2::channels::{ChannelError, ShareError};
use sv2::codec::Bytes;
use sv2::messages as core;
use sv2::Message;

use crate::bridge::ffi::{
    ChannelMessages, ErrorCode, Hash256, MessageType, NewExtendedMiningJob, NewMiningJob,
    OpenExtendedMiningChannelSuccess, OpenStandardMiningChannelSuccess, OptionU32, ServerChannelParams, SetNewPrevHash,
    SetTarget, ShareVerdict, SubmitSharesError, SubmitSharesExtended, SubmitSharesStandard, SubmitSharesSuccess,
    SubmitSolution, UpdateChannel, UpdateChannelError,
};
use crate::error::{guard, Error};
use crate::jobs::JobFactoryImpl;

fn opt(v: Option<u32>) -> OptionU32 {
    OptionU32 { has_value: v.is_some(), value: v.unwrap_or(0) }
}

impl ChannelMessages {
    /// Appends a message a channel made.
    fn push(&mut self, m: &Message<'_>) -> Result<(), Error> {
        let t = match m {
            Message::NewMiningJob(x) => {
                self.new_mining_job.push(NewMiningJob {
                    channel_id: x.channel_id,
                    job_id: x.job_id,
                    min_ntime: opt(x.min_ntime),
                    version: x.version,
                    merkle_root: x.merkle_root,
                });
                MessageType::NewMiningJob
            }
            Message::NewExtendedMiningJob(x) => {
                self.new_extended_mining_job.push(NewExtendedMiningJob {
                    channel_id: x.channel_id,
                    job_id: x.job_id,
                    min_ntime: opt(x.min_ntime),
                    version: x.version,
                    version_rolling_allowed: x.version_rolling_allowed,
                    merkle_path: x.merkle_path.iter().map(|bytes| Hash256 { bytes }).collect(),
                    coinbase_tx_prefix: x.coinbase_tx_prefix.as_bytes().to_vec(),
                    coinbase_tx_suffix: x.coinbase_tx_suffix.as_bytes().to_vec(),
                });
                MessageType::NewExtendedMiningJob
            }
            Message::SetTarget(x) => {
                self.set_target.push(set_target(x));
                MessageType::SetTarget
            }
            Message::UpdateChannelError(x) => {
                let error_code = x.error_code.as_bytes().to_vec();
                self.update_channel_error.push(UpdateChannelError { channel_id: x.channel_id, error_code });
                MessageType::UpdateChannelError
            }
            Message::OpenStandardMiningChannelSuccess(x) => {
                self.open_standard_mining_channel_success.push(OpenStandardMiningChannelSuccess {
                    request_id: x.request_id,
                    channel_id: x.channel_id,
                    target: x.target,
                    extranonce_prefix: x.extranonce_prefix.as_bytes().to_vec(),
                    group_channel_id: x.group_channel_id,
                });
                MessageType::OpenStandardMiningChannelSuccess
            }
            Message::OpenExtendedMiningChannelSuccess(x) => {
                self.open_extended_mining_channel_success.push(OpenExtendedMiningChannelSuccess {
                    request_id: x.request_id,
                    channel_id: x.channel_id,
                    target: x.target,
                    extranonce_size: x.extranonce_size,
                    extranonce_prefix: x.extranonce_prefix.as_bytes().to_vec(),
                    group_channel_id: x.group_channel_id,
                });
                MessageType::OpenExtendedMiningChannelSuccess
            }
            other => return Err(Error::new(ErrorCode::Internal, format!("a channel made a {}", other.name()))),
        };
        self.order.push(t.repr);
        Ok(())
    }
}

fn set_target(t: &core::SetTarget) -> SetTarget {
    SetTarget { channel_id: t.channel_id, maximum_target: t.maximum_target }
}

fn set_new_prev_hash(p: &core::SetNewPrevHash) -> SetNewPrevHash {
    SetNewPrevHash {
        channel_id: p.channel_id,
        job_id: p.job_id,
        prev_hash: p.prev_hash,
        min_ntime: p.min_ntime,
        nbits: p.nbits,
    }
}

fn success(s: core::SubmitSharesSuccess) -> SubmitSharesSuccess {
    SubmitSharesSuccess {
        channel_id: s.channel_id,
        last_sequence_number: s.last_sequence_number,
        new_submits_accepted_count: s.new_submits_accepted_count,
        new_shares_sum: s.new_shares_sum,
    }
}

fn share_error_code(e: ShareError) -> ErrorCode {
    match e {
        ShareError::InvalidChannelId => ErrorCode::InvalidChannelId,
        ShareError::InvalidJobId => ErrorCode::InvalidJobId,
        ShareError::StaleShare => ErrorCode::StaleShare,
        ShareError::DifficultyTooLow => ErrorCode::DifficultyTooLow,
        ShareError::DuplicateShare => ErrorCode::DuplicateShare,
        ShareError::BadExtranonceSize => ErrorCode::BadExtranonceSize,
        ShareError::InvalidNonRollableVersionBit => ErrorCode::InvalidNonRollableVersionBit,
        ShareError::VersionRollingNotAllowed => ErrorCode::VersionRollingNotAllowed,
        ShareError::NtimeOutOfRange => ErrorCode::NtimeOutOfRange,
        _ => ErrorCode::Internal,
    }
}

/// The verdict on share `sequence_number` of `channel_id`.
fn verdict(channel_id: u32, sequence_number: u32, r: Result<AcceptedShare, ShareError>) -> ShareVerdict {
    let mut v = ShareVerdict {
        accepted: r.is_ok(),
        error: ErrorCode::Internal,
        reply: SubmitSharesError { channel_id, sequence_number, error_code: Vec::new() },
        hash: [0; 32],
        target: [0; 32],
        difficulty: 0.0,
        block: false,
        solution: SubmitSolution {
            template_id: 0,
            version: 0,
            header_timestamp: 0,
            header_nonce: 0,
            coinbase_tx: Vec::new(),
        },
    };
    match r {
        Ok(a) => {
            (v.hash, v.target, v.difficulty) = (a.hash, a.target, difficulty(&a.target));
            if let Some(b) = a.block {
                v.block = true;
                v.solution = SubmitSolution {
                    // Jobs from a factory always name their template.
                    template_id: b.template_id.unwrap_or_default(),
                    version: b.version,
                    header_timestamp: b.ntime,
                    header_nonce: b.nonce,
                    coinbase_tx: b.coinbase,
                };
            }
        }
        Err(e) => {
            v.error = share_error_code(e);
            v.reply.error_code = e.code().as_bytes().to_vec();
        }
    }
    v
}

fn standard_share(m: &SubmitSharesStandard) -> Share<'static> {
    Share { job_id: m.job_id, nonce: m.nonce, ntime: m.ntime, version: m.version, extranonce: &[] }
}

fn extended_share(m: &SubmitSharesExtended) -> Share<'_> {
    Share { job_id: m.job_id, nonce: m.nonce, ntime: m.ntime, version: m.version, extranonce: &m.extranonce }
}

/// UpdateChannel on `channel` (None: not here): a SetTarget when the target changes, an
/// UpdateChannel.Error for a bad hashrate or channel.
fn update_on(
    channel: Option<&mut ServerChannel>,
    m: &UpdateChannel,
    now: u64,
    out: &mut ChannelMessages,
) -> Result<(), Error> {
    let r = match channel.filter(|c| c.id() == m.channel_id) {
        Some(c) => c.update_channel(m.nominal_hash_rate, m.maximum_target, now),
        None => Err(ChannelError::UnknownChannel),
    };
    let text;
    let reply: Message<'_> = match r {
        Ok(None) => return Ok(()),
        Ok(Some(t)) => core::SetTarget { channel_id: m.channel_id, maximum_target: t }.into(),
        // The Display of these channel errors is the spec's code.
        Err(e) => {
            text = e.to_string();
            core::UpdateChannelError { channel_id: m.channel_id, error_code: Bytes::new(text.as_bytes())? }.into()
        }
    };
    out.push(&reply)
}

/// A standard or extended channel on the server side.
pub struct ServerChannelImpl(ServerChannel);

/// Opens a server channel at monotonic time `now`.
pub(crate) fn server_channel_new(p: &ServerChannelParams, now: u64) -> Result<Box<ServerChannelImpl>, Error> {
    guard(|| {
        let user = Bytes::<255>::new(&p.user_identity)?;
        let prefix = Bytes::<32>::new(&p.extranonce_prefix)?;
        let invalid = |what: &str| Err(Error::new(ErrorCode::InvalidArgument, what));
        let Ok(user) = std::str::from_utf8(user.as_bytes()) else {
            return invalid("the user identity is not UTF-8");
        };
        let kind = match (p.extended, p.extranonce_size) {
            (true, extranonce_size) => ChannelKind::Extended { extranonce_size },
            (false, 0) => ChannelKind::Standard,
            (false, _) => return invalid("a standard channel rolls no extranonce"),
        };
        if prefix.len() + usize::from(p.extranonce_size) > 32 {
            return invalid("extranonce prefix and size over 32 bytes");
        }
        let spm = p.shares_per_minute;
        if !spm.is_finite() || spm <= 0.0 {
            return invalid("shares per minute must be positive and finite");
        }
        let vardiff = Vardiff::new(spm, p.vardiff_window_secs, now);
        let ch =
            ServerChannel::new(p.channel_id, kind, user, p.extranonce_prefix.clone(), p.target, p.max_target, vardiff);
        Ok(Box::new(ServerChannelImpl(ch)))
    })
}

impl ServerChannelImpl {
    pub(crate) fn channel_id(&self) -> u32 {
        self.0.id()
    }

    pub(crate) fn target(&self) -> [u8; 32] {
        self.0.target()
    }

    pub(crate) fn open_success(
        &self,
        request_id: u32,
        group_channel_id: u32,
        out: &mut ChannelMessages,
    ) -> Result<(), Error> {
        guard(|| {
            let m = self.0.open_success(request_id, group_channel_id);
            out.push(&m)
        })
    }

    pub(crate) fn add_job(
        &mut self,
        factory: &JobFactoryImpl,
        job_id: u32,
        min_ntime: OptionU32,
        out: &mut ChannelMessages,
    ) -> Result<(), Error> {
        guard(|| {
            let ntime = min_ntime.has_value.then_some(min_ntime.value);
            self.0.add_job(job_id, factory.job(job_id)?, ntime)?;
            let m = self
                .0
                .job_message(job_id, ntime)
                .ok_or_else(|| Error::new(ErrorCode::Internal, "job just added is gone"))?;
            out.push(&m)
        })
    }

    pub(crate) fn activate(&mut self, factory: &JobFactoryImpl) -> Result<SetNewPrevHash, Error> {
        guard(|| {
            let (job_id, prev) = factory.tip()?;
            Ok(set_new_prev_hash(&self.0.activate(job_id, prev)?))
        })
    }

    fn validate(&mut self, channel_id: u32, sequence_number: u32, share: &Share<'_>, now: u32) -> ShareVerdict {
        let r = if channel_id == self.0.id() {
            self.0.validate(share, sequence_number, now)
        } else {
            Err(ShareError::InvalidChannelId)
        };
        verdict(channel_id, sequence_number, r)
    }

    pub(crate) fn validate_standard(&mut self, m: &SubmitSharesStandard, now: u32) -> Result<ShareVerdict, Error> {
        guard(|| Ok(self.validate(m.channel_id, m.sequence_number, &standard_share(m), now)))
    }

    pub(crate) fn validate_extended(&mut self, m: &SubmitSharesExtended, now: u32) -> Result<ShareVerdict, Error> {
        guard(|| Ok(self.validate(m.channel_id, m.sequence_number, &extended_share(m), now)))
    }

    pub(crate) fn take_success(&mut self, out: &mut SubmitSharesSuccess) -> bool {
        self.0.take_success().map(|s| *out = success(s)).is_some()
    }

    pub(crate) fn set_target(&mut self, target: &[u8; 32]) -> SetTarget {
        self.0.set_target(*target);
        SetTarget { channel_id: self.0.id(), maximum_target: *target }
    }

    pub(crate) fn update(&mut self, m: &UpdateChannel, now: u64, out: &mut ChannelMessages) -> Result<(), Error> {
        guard(|| update_on(Some(&mut self.0), m, now, out))
    }

    pub(crate) fn retarget(&mut self, now: u64, out: &mut SetTarget) -> bool {
        let id = self.0.id();
        self.0.retarget(now).map(|t| *out = SetTarget { channel_id: id, maximum_target: t }).is_some()
    }
}

/// A group of server channels.
pub struct GroupChannelImpl(GroupChannel);

/// An empty group.
pub(crate) fn group_channel_new(group_id: u32, requires_standard_jobs: bool) -> Box<GroupChannelImpl> {
    Box::new(GroupChannelImpl(GroupChannel::new(group_id, requires_standard_jobs)))
}

impl GroupChannelImpl {
    pub(crate) fn group_id(&self) -> u32 {
        self.0.id()
    }

    pub(crate) fn size(&self) -> usize {
        self.0.len()
    }

    /// Whether a channel with this id can join (checked before C++ gives up its channel).
    pub(crate) fn can_add(&self, channel_id: u32) -> bool {
        channel_id != self.0.id() && self.0.get(channel_id).is_none()
    }

    pub(crate) fn add(&mut self, channel: Box<ServerChannelImpl>) -> Result<(), Error> {
        guard(|| {
            self.0.add(channel.0)?;
            Ok(())
        })
    }

    pub(crate) fn remove(&mut self, channel_id: u32) -> Result<Box<ServerChannelImpl>, Error> {
        guard(|| Ok(Box::new(ServerChannelImpl(self.0.remove(channel_id).ok_or(ChannelError::UnknownChannel)?))))
    }

    pub(crate) fn add_job(
        &mut self,
        factory: &JobFactoryImpl,
        job_id: u32,
        min_ntime: OptionU32,
        out: &mut ChannelMessages,
    ) -> Result<(), Error> {
        guard(|| {
            let job = factory.job(job_id)?;
            for m in self.0.add_job(job_id, &job, min_ntime.has_value.then_some(min_ntime.value))? {
                out.push(&m)?;
            }
            Ok(())
        })
    }

    pub(crate) fn activate(&mut self, factory: &JobFactoryImpl) -> Result<Vec<SetNewPrevHash>, Error> {
        guard(|| {
            let (job_id, prev) = factory.tip()?;
            Ok(self.0.activate(job_id, prev)?.iter().map(set_new_prev_hash).collect())
        })
    }

    pub(crate) fn set_target(&mut self, target: &[u8; 32]) -> SetTarget {
        set_target(&self.0.set_target(*target))
    }

    pub(crate) fn validate_standard(&mut self, m: &SubmitSharesStandard, now: u32) -> Result<ShareVerdict, Error> {
        guard(|| {
            let r = self.0.validate(m.channel_id, &standard_share(m), m.sequence_number, now);
            Ok(verdict(m.channel_id, m.sequence_number, r))
        })
    }

    pub(crate) fn validate_extended(&mut self, m: &SubmitSharesExtended, now: u32) -> Result<ShareVerdict, Error> {
        guard(|| {
            let r = self.0.validate(m.channel_id, &extended_share(m), m.sequence_number, now);
            Ok(verdict(m.channel_id, m.sequence_number, r))
        })
    }

    pub(crate) fn take_successes(&mut self) -> Vec<SubmitSharesSuccess> {
        self.0.channels_mut().filter_map(|c| c.take_success()).map(success).collect()
    }

    pub(crate) fn update(&mut self, m: &UpdateChannel, now: u64, out: &mut ChannelMessages) -> Result<(), Error> {
        guard(|| update_on(self.0.get_mut(m.channel_id), m, now, out))
    }

    pub(crate) fn retarget(&mut self, now: u64) -> Vec<SetTarget> {
        self.0
            .channels_mut()
            .filter_map(|c| c.retarget(now).map(|t| SetTarget { channel_id: c.id(), maximum_target: t }))
            .collect()
    }
}
