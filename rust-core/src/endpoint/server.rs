//! One downstream Mining Protocol connection as a pool or proxy serves it.
//!
//! The caller reads frames, decodes them and hands each message to
//! [`ServerEndpoint::on_message`]; it hands new jobs to [`ServerEndpoint::sync`] and runs
//! [`ServerEndpoint::retarget`] every few seconds. Everything the endpoint answers goes into
//! the caller's [`Outbox`]; what the caller must act on (a share to record, a block to submit,
//! the last channel closed) comes back as an [`Event`]. Accepted shares are not acknowledged
//! until the caller sends what [`ServerEndpoint::take_successes`] gives, so that a pool can answer only once
//! its share records are durable.
//!
//! The connection's channels form one group channel ([`GROUP_CHANNEL_ID`]); channel ids are
//! never reused on a connection, and the extranonce prefixes of closed channels go back to
//! the caller's [`Prefixes`] (also when the endpoint is dropped).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::Outbox;
use crate::channels::extranonce::ExtranonceAllocator;
use crate::channels::group::GroupChannel;
use crate::channels::job::{JobFactory, TemplateJob, TipJob};
use crate::channels::server::{AcceptedShare, ChannelKind, Job, ServerChannel, Share};
use crate::channels::target::{target_for_difficulty, TargetLe};
use crate::channels::vardiff::Vardiff;
use crate::channels::{ChannelError, ShareError};
use crate::codec::{Bytes, Seq};
use crate::jd::codes as jd_codes;
use crate::jd::coinbase::PoolOutputs;
use crate::jd::custom::{validate_custom_job, CustomJob, PoolView};
use crate::jd::store::TokenStore;
use crate::messages::mining_flags::{REQUIRES_STANDARD_JOBS, REQUIRES_VERSION_ROLLING, REQUIRES_WORK_SELECTION};
use crate::messages::mining_success_flags::{REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION};
use crate::messages::{
    CloseChannel, OpenMiningChannelError, RequestExtensionsError, SetCustomMiningJob, SetCustomMiningJobError,
    SetCustomMiningJobSuccess, SetExtranoncePrefix, SetTarget, SetupConnection, SetupConnectionError,
    SetupConnectionSuccess, SubmitSharesError, SubmitSharesSuccess, UpdateChannelError,
};
use crate::Message;

/// The id of every connection's group channel; its members are numbered after it.
pub const GROUP_CHANNEL_ID: u32 = 1;

/// What every connection mines: the tip's job and the jobs made since, as the source of
/// templates (a template provider through a [`JobFactory`], or an upstream pool) last
/// described them. Callers publish a new state to all their connections' endpoints.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    /// Counts tips; a change makes every endpoint activate [`Self::tip`].
    pub tip_seq: u64,
    /// The job to activate and its previous hash.
    pub tip: Option<TipJob>,
    /// The newest job minable on the tip (the tip's own job, or a later non-future one).
    pub latest: Option<TemplateJob>,
    /// Future jobs for the next tip.
    pub future: Vec<TemplateJob>,
}

impl JobState {
    /// The jobs a factory holds, as tip number `tip_seq`.
    pub fn from_factory(f: &JobFactory, tip_seq: u64) -> Self {
        JobState {
            tip_seq,
            tip: f.current().cloned(),
            latest: f.latest().cloned(),
            future: f.future_jobs().cloned().collect(),
        }
    }

    /// The jobs a channel opened now needs, in the order to give them: the tip's job (add it
    /// as a future job, then activate it with the tip's previous hash), the newest job on the
    /// tip if it is another, then the future jobs. Before the first tip, only future jobs.
    pub fn for_new_channel(&self) -> impl Iterator<Item = ChannelJob<'_>> {
        let tip = self.tip.as_ref();
        let tip_job = tip.map(|t| ChannelJob { job_id: t.job_id, job: &t.job, active_ntime: None, tip: true });
        let latest =
            self.latest.iter().filter(move |l| l.active_ntime.is_some() && tip.is_some_and(|t| t.job_id != l.job_id));
        let later = latest.chain(&self.future).map(|j| ChannelJob {
            job_id: j.job_id,
            job: &j.job,
            active_ntime: j.active_ntime,
            tip: false,
        });
        tip_job.into_iter().chain(later)
    }
}

/// One job of [`JobState::for_new_channel`].
#[derive(Debug, Clone, Copy)]
pub struct ChannelJob<'a> {
    /// The job's id.
    pub job_id: u32,
    /// The job.
    pub job: &'a Arc<Job>,
    /// None: a future job; Some(ntime): minable now on the tip.
    pub active_ntime: Option<u32>,
    /// The tip's own job, to activate with [`JobState::tip`]'s previous hash once added.
    pub tip: bool,
}

/// Where a server's extranonce prefixes come from: an [`ExtranonceAllocator`] owned by one
/// endpoint, or one shared by every connection of a pool behind a mutex.
pub trait Prefixes {
    /// Bytes an extended channel rolls.
    fn extended_rollable(&self) -> usize;
    /// A prefix for a standard channel (the whole extranonce).
    fn next_standard(&mut self) -> Result<Vec<u8>, ChannelError>;
    /// A prefix for an extended channel.
    fn next_extended(&mut self) -> Result<Vec<u8>, ChannelError>;
    /// Takes back a closed channel's prefix.
    fn release(&mut self, prefix: &[u8]);
    /// The tip moved to `prev_hash` (released prefixes become reusable).
    fn new_tip(&mut self, prev_hash: &[u8; 32]);
}

impl Prefixes for ExtranonceAllocator {
    fn extended_rollable(&self) -> usize {
        ExtranonceAllocator::extended_rollable(self)
    }
    fn next_standard(&mut self) -> Result<Vec<u8>, ChannelError> {
        ExtranonceAllocator::next_standard(self)
    }
    fn next_extended(&mut self) -> Result<Vec<u8>, ChannelError> {
        ExtranonceAllocator::next_extended(self)
    }
    fn release(&mut self, prefix: &[u8]) {
        ExtranonceAllocator::release(self, prefix)
    }
    fn new_tip(&mut self, prev_hash: &[u8; 32]) {
        ExtranonceAllocator::new_tip(self, prev_hash)
    }
}

/// One allocator shared by every connection (a poisoned lock is still used: the allocator
/// has no invariant a panic elsewhere could break halfway).
impl Prefixes for Arc<Mutex<ExtranonceAllocator>> {
    fn extended_rollable(&self) -> usize {
        self.lock().unwrap_or_else(|e| e.into_inner()).extended_rollable()
    }
    fn next_standard(&mut self) -> Result<Vec<u8>, ChannelError> {
        self.lock().unwrap_or_else(|e| e.into_inner()).next_standard()
    }
    fn next_extended(&mut self) -> Result<Vec<u8>, ChannelError> {
        self.lock().unwrap_or_else(|e| e.into_inner()).next_extended()
    }
    fn release(&mut self, prefix: &[u8]) {
        self.lock().unwrap_or_else(|e| e.into_inner()).release(prefix)
    }
    fn new_tip(&mut self, prev_hash: &[u8; 32]) {
        self.lock().unwrap_or_else(|e| e.into_inner()).new_tip(prev_hash)
    }
}

/// What a server offers and allows on each connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Whether miners may roll the BIP320 version bits (else SetupConnection.Success carries
    /// REQUIRES_FIXED_VERSION).
    pub version_rolling: bool,
    /// Refuse standard channels (SetupConnection.Success carries REQUIRES_EXTENDED_CHANNELS).
    pub extended_channels_only: bool,
    /// Channels one connection may have open at once.
    pub max_channels: usize,
    /// Shares a minute vardiff aims at per channel.
    pub shares_per_minute: f64,
    /// Shortest vardiff window, in seconds.
    pub vardiff_window_secs: u64,
    /// Hashrate assumed for a channel opened with a nominal hashrate of 0.
    pub default_hashrate: f64,
    /// The easiest share difficulty any channel gets.
    pub min_difficulty: f64,
    /// Invalid shares a connection may send within a minute (while sending fewer valid ones)
    /// before it is closed.
    pub max_invalid_shares_per_minute: u32,
    /// Shares one channel may have accepted on one tip (the duplicate set): vardiff keeps an
    /// honest channel far below this.
    pub max_shares_per_tip: usize,
    /// Accept REQUIRES_WORK_SELECTION (SetCustomMiningJob); set by
    /// [`ServerEndpoint::with_work_selection`].
    pub work_selection: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            version_rolling: true,
            extended_channels_only: false,
            max_channels: 64,
            shares_per_minute: 10.0,
            vardiff_window_secs: 60,
            default_hashrate: 1e6,
            min_difficulty: 1e-3,
            max_invalid_shares_per_minute: 600,
            max_shares_per_tip: 1 << 16,
            work_selection: false,
        }
    }
}

/// The caller's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic seconds (vardiff windows, the invalid-share minute).
    pub mono_secs: u64,
    /// Unix seconds (a share's nTime must not be too far ahead of it).
    pub unix_secs: u32,
}

/// What the caller must act on after a message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// SetupConnection accepted with these SetupConnection.Success flags.
    SetUp {
        /// The flags sent.
        flags: u32,
    },
    /// A channel was opened (its Success and jobs are in the outbox).
    ChannelOpened {
        /// The new channel.
        channel_id: u32,
    },
    /// An open was refused with this error code (the Error is in the outbox).
    OpenRefused {
        /// The request id.
        request_id: u32,
        /// The code sent.
        code: &'static str,
    },
    /// CloseChannel removed channels; [`ServerEndpoint::channel_count`] says what is left.
    ChannelsClosed {
        /// Channels removed.
        count: usize,
    },
    /// A valid share: record it, then send [`ServerEndpoint::take_successes`]. A block in it goes to
    /// the template provider (or upstream).
    ShareAccepted {
        /// The channel.
        channel_id: u32,
        /// Its sequence number.
        sequence_number: u32,
        /// Hash, credit and a found block.
        accepted: Box<AcceptedShare>,
    },
    /// An invalid share (its SubmitShares.Error is in the outbox).
    ShareRejected {
        /// The channel it was sent on (which may not exist).
        channel_id: u32,
        /// Why.
        error: ShareError,
    },
    /// A SetCustomMiningJob was accepted (its Success is in the outbox): shares on `job_id`
    /// are validated and credited like any other; [`ServerEndpoint::custom_job`] completes a
    /// block one finds.
    CustomJobAccepted {
        /// The channel.
        channel_id: u32,
        /// The job id given.
        job_id: u32,
    },
    /// A SetCustomMiningJob was refused with this code (the Error is in the outbox).
    CustomJobRefused {
        /// The channel it named.
        channel_id: u32,
        /// The code sent.
        code: &'static str,
    },
    /// Something answered in the outbox, or a message a server ignores.
    Handled,
}

/// Why a connection must close.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError<E> {
    /// The outbox refused a message.
    Outbox(E),
    /// SetupConnection refused with this code (the Error is in the outbox).
    SetupRefused(&'static str),
    /// A message (named) before SetupConnection.
    NotSetUp(&'static str),
    /// A second SetupConnection.
    SecondSetup,
    /// More invalid shares within a minute than allowed (and more than valid ones).
    InvalidShareFlood(u32),
    /// A channel reached the limit of shares on one tip.
    TooManyShares {
        /// The channel.
        channel_id: u32,
    },
}

impl<E: core::fmt::Display> core::fmt::Display for EndpointError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EndpointError::Outbox(e) => write!(f, "sending: {e}"),
            EndpointError::SetupRefused(code) => write!(f, "SetupConnection refused: {code}"),
            EndpointError::NotSetUp(name) => write!(f, "{name} before SetupConnection"),
            EndpointError::SecondSetup => f.write_str("a second SetupConnection"),
            EndpointError::InvalidShareFlood(n) => write!(f, "{n} invalid shares within a minute"),
            EndpointError::TooManyShares { channel_id } => {
                write!(f, "channel {channel_id}: too many shares on one tip")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for EndpointError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EndpointError::Outbox(e) => Some(e),
            _ => None,
        }
    }
}

/// A job a channel could not take while syncing (the same job reaches every connection, so
/// it is skipped rather than closing them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedJob {
    /// The job.
    pub job_id: u32,
    /// Why.
    pub error: ChannelError,
}

/// What [`ServerEndpoint::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// A new tip was activated on a connection with channels.
    pub tip_sent: bool,
    /// Jobs that could not be sent.
    pub skipped: Vec<SkippedJob>,
}

/// The SetupConnection.Success flags a server with `config` answers `m` with, or the
/// Error's flags and code (a Mining Protocol SetupConnection; version 2).
pub fn negotiate_setup(config: &ServerConfig, m: &SetupConnection<'_>) -> Result<u32, (u32, &'static str)> {
    if m.protocol != 0 {
        return Err((0, "unsupported-protocol"));
    }
    if !(m.min_version <= 2 && 2 <= m.max_version) {
        return Err((0, "protocol-version-mismatch"));
    }
    let mut supported = REQUIRES_STANDARD_JOBS | REQUIRES_VERSION_ROLLING;
    if config.work_selection {
        supported |= REQUIRES_WORK_SELECTION;
    }
    if !config.version_rolling {
        supported &= !REQUIRES_VERSION_ROLLING;
    }
    if config.extended_channels_only {
        supported &= !REQUIRES_STANDARD_JOBS;
    }
    let unsupported = m.flags & !supported;
    if unsupported != 0 {
        return Err((unsupported, "unsupported-feature-flags"));
    }
    let mut flags = 0;
    if !config.version_rolling {
        flags |= REQUIRES_FIXED_VERSION;
    }
    if config.extended_channels_only {
        flags |= REQUIRES_EXTENDED_CHANNELS;
    }
    Ok(flags)
}

/// Checks an open request's user identity and nominal hashrate: the identity as text, or
/// the OpenMiningChannel.Error code.
pub fn check_open(user_identity: &[u8], nominal_hash_rate: f32) -> Result<String, &'static str> {
    let identity = match core::str::from_utf8(user_identity) {
        Ok(u) if !u.trim().is_empty() && !u.chars().any(char::is_control) => u.to_string(),
        _ => return Err("invalid-user-identity"),
    };
    let rate = f64::from(nominal_hash_rate);
    if !rate.is_finite() || rate < 0.0 {
        return Err("invalid-nominal-hashrate");
    }
    Ok(identity)
}

/// Invalid shares over the last minute, to close a connection that floods them.
#[derive(Debug, Default)]
struct InvalidShares {
    since: Option<u64>,
    invalid: u32,
    valid: u32,
}

impl InvalidShares {
    /// Counts a share; true when over `limit` invalid shares within a minute and more
    /// invalid than valid ones.
    fn count(&mut self, valid: bool, limit: u32, now: u64) -> bool {
        if self.since.is_none_or(|s| now.saturating_sub(s) >= 60) {
            *self = InvalidShares { since: Some(now), invalid: 0, valid: 0 };
        }
        if valid {
            self.valid = self.valid.saturating_add(1);
            return false;
        }
        self.invalid = self.invalid.saturating_add(1);
        self.invalid > limit && self.invalid > self.valid
    }
}

/// What a server needs to take SetCustomMiningJob (REQUIRES_WORK_SELECTION): the token
/// store its Job Declaration Server allocates from, and the outputs every custom coinbase
/// must pay.
#[derive(Debug, Clone)]
pub struct WorkSelection {
    /// Tokens, shared with the JDS and every Mining connection.
    pub tokens: Arc<Mutex<TokenStore>>,
    /// The pool's outputs.
    pub pool_outputs: Arc<PoolOutputs>,
}

/// Custom jobs get ids from here up, apart from the ids the job source gives.
const FIRST_CUSTOM_JOB_ID: u32 = 1 << 31;
/// Custom jobs a connection keeps for the blocks their shares find.
const MAX_CUSTOM_JOBS: usize = 64;

/// One downstream connection, server side.
#[derive(Debug)]
pub struct ServerEndpoint<P: Prefixes> {
    config: ServerConfig,
    prefixes: P,
    work: Option<WorkSelection>,
    /// The client set REQUIRES_WORK_SELECTION (and the server takes it).
    work_selected: bool,
    /// Custom jobs accepted, newest last, for the blocks their shares find.
    custom_jobs: VecDeque<(u32, Arc<CustomJob>)>,
    next_custom_job_id: u32,
    group: GroupChannel,
    set_up: bool,
    requires_standard_jobs: bool,
    next_channel_id: u32,
    /// Jobs every member of the group has, on the current tip.
    known: HashSet<u32>,
    tip_seq: u64,
    invalid: InvalidShares,
}

fn text(code: &str) -> Bytes<'_, 255> {
    Bytes::from_str(code).unwrap_or_default()
}

impl<P: Prefixes> ServerEndpoint<P> {
    /// A connection before its SetupConnection.
    pub fn new(config: ServerConfig, prefixes: P) -> Self {
        ServerEndpoint {
            config,
            prefixes,
            work: None,
            work_selected: false,
            custom_jobs: VecDeque::new(),
            next_custom_job_id: FIRST_CUSTOM_JOB_ID,
            group: GroupChannel::new(GROUP_CHANNEL_ID, false),
            set_up: false,
            requires_standard_jobs: false,
            next_channel_id: GROUP_CHANNEL_ID + 1,
            known: HashSet::new(),
            tip_seq: 0,
            invalid: InvalidShares::default(),
        }
    }

    /// Takes SetCustomMiningJob from clients that set REQUIRES_WORK_SELECTION, checked
    /// against `work`'s token store and pool outputs (see [`crate::jd::custom`]).
    pub fn with_work_selection(mut self, work: WorkSelection) -> Self {
        self.config.work_selection = true;
        self.work = Some(work);
        self
    }

    /// A custom job this connection set (for the block a share on it finds).
    pub fn custom_job(&self, job_id: u32) -> Option<&CustomJob> {
        self.custom_jobs.iter().find(|(id, _)| *id == job_id).map(|(_, j)| &**j)
    }

    /// Whether SetupConnection was accepted.
    pub fn is_set_up(&self) -> bool {
        self.set_up
    }

    /// Open channels.
    pub fn channel_count(&self) -> usize {
        self.group.len()
    }

    /// An open channel.
    pub fn channel(&self, channel_id: u32) -> Option<&ServerChannel> {
        self.group.get(channel_id)
    }

    /// Every open channel.
    pub fn channels(&self) -> impl Iterator<Item = &ServerChannel> {
        self.group.channels()
    }

    /// Invalid shares counted in the current minute.
    pub fn invalid_shares(&self) -> u32 {
        self.invalid.invalid
    }

    /// Handles one message from the client. `jobs` is the current job state (a new channel
    /// gets its jobs from it).
    pub fn on_message<O: Outbox>(
        &mut self,
        msg: &Message<'_>,
        jobs: &JobState,
        now: Now,
        out: &mut O,
    ) -> Result<Event, EndpointError<O::Error>> {
        if !self.set_up {
            let Message::SetupConnection(m) = msg else { return Err(EndpointError::NotSetUp(msg.name())) };
            return match negotiate_setup(&self.config, m) {
                Ok(flags) => {
                    self.requires_standard_jobs = m.flags & REQUIRES_STANDARD_JOBS != 0;
                    self.work_selected = m.flags & REQUIRES_WORK_SELECTION != 0;
                    self.group = GroupChannel::new(GROUP_CHANNEL_ID, self.requires_standard_jobs);
                    out.push(&SetupConnectionSuccess { used_version: 2, flags }.into())
                        .map_err(EndpointError::Outbox)?;
                    self.set_up = true;
                    Ok(Event::SetUp { flags })
                }
                Err((flags, code)) => {
                    out.push(&SetupConnectionError { flags, error_code: text(code) }.into())
                        .map_err(EndpointError::Outbox)?;
                    Err(EndpointError::SetupRefused(code))
                }
            };
        }
        match msg {
            Message::OpenStandardMiningChannel(m) => {
                let open = Open {
                    request_id: m.request_id,
                    extended: false,
                    user: m.user_identity.as_bytes(),
                    nominal_hash_rate: m.nominal_hash_rate,
                    max_target: m.max_target,
                    min_extranonce_size: 0,
                };
                self.open(open, jobs, now, out)
            }
            Message::OpenExtendedMiningChannel(m) => {
                let open = Open {
                    request_id: m.request_id,
                    extended: true,
                    user: m.user_identity.as_bytes(),
                    nominal_hash_rate: m.nominal_hash_rate,
                    max_target: m.max_target,
                    min_extranonce_size: m.min_extranonce_size,
                };
                self.open(open, jobs, now, out)
            }
            Message::SubmitSharesStandard(_) | Message::SubmitSharesExtended(_) => {
                let (channel_id, sequence_number, share) = Share::from_submit(msg).expect("a submit");
                self.on_share(channel_id, sequence_number, &share, now, out)
            }
            Message::UpdateChannel(m) => {
                let reply: Message<'_> =
                    match ServerChannel::answer_update(self.group.get_mut(m.channel_id), m, now.mono_secs) {
                        Ok(None) => return Ok(Event::Handled),
                        Ok(Some(set_target)) => set_target.into(),
                        Err(e) => UpdateChannelError {
                            channel_id: m.channel_id,
                            error_code: text(e.code().unwrap_or_default()),
                        }
                        .into(),
                    };
                out.push(&reply).map_err(EndpointError::Outbox)?;
                Ok(Event::Handled)
            }
            Message::CloseChannel(m) => {
                let ids: Vec<u32> = if m.channel_id == GROUP_CHANNEL_ID {
                    self.group.channels().map(|c| c.id()).collect()
                } else {
                    vec![m.channel_id]
                };
                let mut count = 0;
                for id in ids {
                    if let Some(c) = self.group.remove(id) {
                        self.prefixes.release(c.extranonce_prefix());
                        count += 1;
                    }
                }
                Ok(Event::ChannelsClosed { count })
            }
            // No extension is supported: every one requested is named in the Error.
            Message::RequestExtensions(m) => {
                let reply = RequestExtensionsError {
                    request_id: m.request_id,
                    unsupported_extensions: m.requested_extensions,
                    required_extensions: Seq::EMPTY,
                };
                out.push(&reply.into()).map_err(EndpointError::Outbox)?;
                Ok(Event::Handled)
            }
            Message::SetCustomMiningJob(m) => self.custom(m, jobs, now, out),
            Message::SetupConnection(_) => Err(EndpointError::SecondSetup),
            _ => Ok(Event::Handled),
        }
    }

    fn open<O: Outbox>(
        &mut self,
        open: Open<'_>,
        jobs: &JobState,
        now: Now,
        out: &mut O,
    ) -> Result<Event, EndpointError<O::Error>> {
        let request_id = open.request_id;
        let (kind, identity, prefix) = match self.admit(&open) {
            Ok(admitted) => admitted,
            Err(code) => {
                out.push(&OpenMiningChannelError { request_id, error_code: text(code) }.into())
                    .map_err(EndpointError::Outbox)?;
                return Ok(Event::OpenRefused { request_id, code });
            }
        };
        let config = &self.config;
        let vardiff = Vardiff::new(config.shares_per_minute, config.vardiff_window_secs, now.mono_secs);
        let rate = f64::from(open.nominal_hash_rate);
        let rate = if rate > 0.0 { rate } else { config.default_hashrate };
        let target = vardiff.initial_target(rate, open.max_target);
        let channel_id = self.next_channel_id;
        self.next_channel_id += 1;
        let channel = ServerChannel::new(channel_id, kind, &identity, prefix, target, open.max_target, vardiff)
            .with_easiest_target(target_for_difficulty(config.min_difficulty));
        let success = channel.open_success(request_id, GROUP_CHANNEL_ID);
        out.push(&success).map_err(EndpointError::Outbox)?;
        // Bring the group up to date first, so that the new member gets its jobs once.
        self.sync(jobs, out)?;
        if self.group.add(channel).is_err() {
            // Ids only grow, so a clash is impossible; refuse rather than trust that.
            return Ok(Event::OpenRefused { request_id, code: "invalid-channel-id" });
        }
        self.catch_up(channel_id, jobs, out)?;
        Ok(Event::ChannelOpened { channel_id })
    }

    /// Checks an open request and takes a prefix for it: the channel's kind, the user
    /// identity and the prefix, or the OpenMiningChannel.Error code.
    fn admit(&mut self, open: &Open<'_>) -> Result<(ChannelKind, String, Vec<u8>), &'static str> {
        if self.group.len() >= self.config.max_channels {
            return Err("too-many-channels");
        }
        if !open.extended && self.config.extended_channels_only {
            return Err("standard-channels-not-supported");
        }
        if open.extended && self.requires_standard_jobs {
            return Err("extended-channels-not-supported-for-standard-jobs");
        }
        let identity = check_open(open.user, open.nominal_hash_rate)?;
        // Channel ids are never reused on a connection; four billion opens is no miner.
        if self.next_channel_id == u32::MAX {
            return Err("too-many-channels");
        }
        if !open.extended {
            let prefix = self.prefixes.next_standard().map_err(|_| "extranonce-space-exhausted")?;
            return Ok((ChannelKind::Standard, identity, prefix));
        }
        let rollable = self.prefixes.extended_rollable();
        if usize::from(open.min_extranonce_size) > rollable {
            return Err("min-extranonce-size-too-large");
        }
        let prefix = self.prefixes.next_extended().map_err(|_| "extranonce-space-exhausted")?;
        Ok((ChannelKind::Extended { extranonce_size: rollable as u16 }, identity, prefix))
    }

    /// Gives a channel just opened the jobs the rest of the group has: the tip's job as a
    /// future job, its SetNewPrevHash, then the newest job and the future ones.
    fn catch_up<O: Outbox>(
        &mut self,
        channel_id: u32,
        jobs: &JobState,
        out: &mut O,
    ) -> Result<(), EndpointError<O::Error>> {
        let Some(tip) = &jobs.tip else { return Ok(()) };
        let Some(ch) = self.group.get_mut(channel_id) else { return Ok(()) };
        let mut wanted = jobs.for_new_channel();
        let Some(first) = wanted.next() else { return Ok(()) };
        let Ok(activate) =
            ch.add_job(first.job_id, first.job.clone(), None).and_then(|()| ch.activate(first.job_id, tip.prev))
        else {
            return Ok(());
        };
        let later: Vec<ChannelJob<'_>> =
            wanted.filter(|j| ch.add_job(j.job_id, j.job.clone(), j.active_ntime).is_ok()).collect();
        let ch = &*ch;
        if let Some(m) = ch.job_message(first.job_id, None) {
            out.push(&m).map_err(EndpointError::Outbox)?;
        }
        out.push(&activate.into()).map_err(EndpointError::Outbox)?;
        for m in later.iter().filter_map(|j| ch.job_message(j.job_id, j.active_ntime)) {
            out.push(&m).map_err(EndpointError::Outbox)?;
        }
        Ok(())
    }

    /// Brings every channel up to `jobs`: a new tip's job and SetNewPrevHash, then jobs not
    /// sent yet. A job a channel cannot take is skipped and reported.
    pub fn sync<O: Outbox>(&mut self, jobs: &JobState, out: &mut O) -> Result<Synced, EndpointError<O::Error>> {
        let mut synced = Synced::default();
        if jobs.tip_seq != self.tip_seq {
            if let Some(tip) = &jobs.tip {
                self.prefixes.new_tip(&tip.prev.prev_hash);
                if !self.known.contains(&tip.job_id) {
                    self.add_job(tip.job_id, &tip.job, None, &mut synced, out)?;
                }
                match self.group.activate(tip.job_id, tip.prev) {
                    Ok(prevs) => {
                        for m in prevs {
                            out.push(&m.into()).map_err(EndpointError::Outbox)?;
                        }
                        synced.tip_sent = !self.group.is_empty();
                    }
                    Err(error) => synced.skipped.push(SkippedJob { job_id: tip.job_id, error }),
                }
                self.known.clear();
                self.known.insert(tip.job_id);
            }
            self.tip_seq = jobs.tip_seq;
        }
        if jobs.tip.is_none() {
            return Ok(synced);
        }
        let latest = jobs.latest.iter().filter(|l| l.active_ntime.is_some());
        for j in latest.chain(&jobs.future) {
            if self.known.insert(j.job_id) {
                self.add_job(j.job_id, &j.job, j.active_ntime, &mut synced, out)?;
            }
        }
        Ok(synced)
    }

    fn add_job<O: Outbox>(
        &mut self,
        job_id: u32,
        job: &Arc<Job>,
        active_ntime: Option<u32>,
        synced: &mut Synced,
        out: &mut O,
    ) -> Result<(), EndpointError<O::Error>> {
        match self.group.add_job(job_id, job, active_ntime) {
            Ok(msgs) => msgs.iter().try_for_each(|m| out.push(m)).map_err(EndpointError::Outbox),
            Err(error) => {
                synced.skipped.push(SkippedJob { job_id, error });
                Ok(())
            }
        }
    }

    /// Moves every channel to a new prefix source (an upstream pool changed): each channel
    /// gets a new prefix of its kind, announced with SetExtranoncePrefix; its jobs are dropped
    /// and the next [`Self::sync`] sends the new source's jobs. An extended channel whose
    /// rollable size no longer matches, or that cannot get a prefix, is closed with
    /// CloseChannel. Returns the channels closed.
    pub fn replace_prefixes<O: Outbox>(&mut self, prefixes: P, out: &mut O) -> Result<usize, EndpointError<O::Error>> {
        self.prefixes = prefixes;
        self.known.clear();
        // Resync from the next job state, whatever its tip number.
        self.tip_seq = u64::MAX;
        let rollable = self.prefixes.extended_rollable();
        let ids: Vec<u32> = self.group.channels().map(|c| c.id()).collect();
        let mut closed = 0;
        for id in ids {
            let Some(c) = self.group.get_mut(id) else { continue };
            let prefix = match c.kind() {
                ChannelKind::Standard => self.prefixes.next_standard(),
                ChannelKind::Extended { extranonce_size } if usize::from(extranonce_size) == rollable => {
                    self.prefixes.next_extended()
                }
                ChannelKind::Extended { .. } => Err(ChannelError::ExtranonceLayout),
            };
            match prefix {
                Ok(prefix) => {
                    // At most 32 bytes (the allocator's full length), so it always fits.
                    let field = Bytes::new(&prefix).unwrap_or_default();
                    out.push(&SetExtranoncePrefix { channel_id: id, extranonce_prefix: field }.into())
                        .map_err(EndpointError::Outbox)?;
                    c.set_extranonce_prefix(prefix);
                }
                Err(_) => {
                    self.group.remove(id);
                    let reason = text("extranonce-size-changed");
                    out.push(&CloseChannel { channel_id: id, reason_code: reason }.into())
                        .map_err(EndpointError::Outbox)?;
                    closed += 1;
                }
            }
        }
        Ok(closed)
    }

    /// Runs vardiff on every channel and sends the SetTargets it calls for.
    pub fn retarget<O: Outbox>(&mut self, now: Now, out: &mut O) -> Result<usize, EndpointError<O::Error>> {
        let targets: Vec<SetTarget> = self
            .group
            .channels_mut()
            .filter_map(|c| c.retarget(now.mono_secs).map(|t| SetTarget { channel_id: c.id(), maximum_target: t }))
            .collect();
        for t in &targets {
            out.push(&(*t).into()).map_err(EndpointError::Outbox)?;
        }
        Ok(targets.len())
    }

    /// SetCustomMiningJob: on a connection that set REQUIRES_WORK_SELECTION, for one of its
    /// extended channels, checked by [`validate_custom_job`] and added to the channel.
    fn custom<O: Outbox>(
        &mut self,
        m: &SetCustomMiningJob<'_>,
        jobs: &JobState,
        now: Now,
        out: &mut O,
    ) -> Result<Event, EndpointError<O::Error>> {
        let channel_id = m.channel_id;
        let result = match (&self.work, self.work_selected, self.group.get(channel_id)) {
            (Some(work), true, Some(c)) => match (c.kind(), &jobs.tip) {
                (ChannelKind::Extended { extranonce_size }, Some(tip)) => {
                    let view = PoolView {
                        tip: &tip.prev,
                        pool_outputs: &work.pool_outputs,
                        extranonce_len: c.extranonce_prefix().len() + usize::from(extranonce_size),
                        version_rolling_allowed: self.config.version_rolling,
                        now: now.mono_secs,
                        unix_now: now.unix_secs,
                    };
                    let mut tokens = work.tokens.lock().unwrap_or_else(|e| e.into_inner());
                    validate_custom_job(&mut tokens, m, view).map_err(|e| e.code)
                }
                (ChannelKind::Extended { .. }, None) => Err(jd_codes::STALE_CHAIN_TIP),
                (ChannelKind::Standard, _) => Err("invalid-channel-id"),
            },
            (Some(_), true, None) => Err("invalid-channel-id"),
            // Work selection was not negotiated on this connection.
            _ => Err("unsupported-feature-flags"),
        };
        let job_id = self.next_custom_job_id;
        let installed = result.and_then(|job| {
            let c = self.group.get_mut(channel_id).ok_or("invalid-channel-id")?;
            job.install(c, job_id).map_err(|_| jd_codes::INVALID_JOB)?;
            Ok(job)
        });
        match installed {
            Ok(job) => {
                self.next_custom_job_id = self.next_custom_job_id.checked_add(1).unwrap_or(FIRST_CUSTOM_JOB_ID);
                self.custom_jobs.push_back((job_id, Arc::new(job)));
                if self.custom_jobs.len() > MAX_CUSTOM_JOBS {
                    self.custom_jobs.pop_front();
                }
                let ok = SetCustomMiningJobSuccess { channel_id, request_id: m.request_id, job_id };
                out.push(&ok.into()).map_err(EndpointError::Outbox)?;
                Ok(Event::CustomJobAccepted { channel_id, job_id })
            }
            Err(code) => {
                let e = SetCustomMiningJobError { channel_id, request_id: m.request_id, error_code: text(code) };
                out.push(&e.into()).map_err(EndpointError::Outbox)?;
                Ok(Event::CustomJobRefused { channel_id, code })
            }
        }
    }

    /// The SubmitShares.Success messages for every share accepted since the last call (one
    /// per channel that has any). The caller sends them once the shares are recorded.
    pub fn take_successes(&mut self) -> Vec<SubmitSharesSuccess> {
        self.group.channels_mut().filter_map(|c| c.take_success()).collect()
    }

    fn on_share<O: Outbox>(
        &mut self,
        channel_id: u32,
        sequence_number: u32,
        share: &Share<'_>,
        now: Now,
        out: &mut O,
    ) -> Result<Event, EndpointError<O::Error>> {
        let limit = self.config.max_invalid_shares_per_minute;
        match self.group.validate(channel_id, share, sequence_number, now.unix_secs) {
            Ok(accepted) => {
                self.invalid.count(true, limit, now.mono_secs);
                if self.group.get(channel_id).is_some_and(|c| c.shares_on_tip() > self.config.max_shares_per_tip) {
                    return Err(EndpointError::TooManyShares { channel_id });
                }
                Ok(Event::ShareAccepted { channel_id, sequence_number, accepted: Box::new(accepted) })
            }
            Err(error) => {
                let answer = SubmitSharesError { channel_id, sequence_number, error_code: text(error.code()) };
                out.push(&answer.into()).map_err(EndpointError::Outbox)?;
                if self.invalid.count(false, limit, now.mono_secs) {
                    return Err(EndpointError::InvalidShareFlood(self.invalid.invalid));
                }
                Ok(Event::ShareRejected { channel_id, error })
            }
        }
    }
}

/// Closed connections give their channels' prefixes back.
impl<P: Prefixes> Drop for ServerEndpoint<P> {
    fn drop(&mut self) {
        for c in self.group.channels() {
            self.prefixes.release(c.extranonce_prefix());
        }
    }
}

/// An Open*MiningChannel request, either kind.
struct Open<'a> {
    request_id: u32,
    extended: bool,
    user: &'a [u8],
    nominal_hash_rate: f32,
    max_target: TargetLe,
    min_extranonce_size: u16,
}
