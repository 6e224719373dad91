//! One upstream Mining Protocol connection as a miner, proxy or translator uses it.
//!
//! The caller sends [`ClientEndpoint::setup_connection`], then hands every decoded message
//! from the server to [`ClientEndpoint::on_message`] and acts on the [`Event`]s it returns.
//! Channels are opened by request id ([`ClientEndpoint::open_standard`],
//! [`ClientEndpoint::open_extended`], several per connection), and shares go out through
//! [`ClientEndpoint::submit`] with the caller's own tag, which comes back with the server's
//! answer.
//!
//! Channel state lives in [`ClientChannels`] (what a miner hashes). Extended channels also
//! keep their jobs as server-side jobs in a [`JobState`] (see [`ClientEndpoint::job_state`]):
//! the coinbase around a hole of the channel's full extranonce (prefix and rolled part), so
//! that a proxy or translator can serve its own downstream channels from it — their prefixes
//! must start with this channel's prefix — and validate their shares before forwarding them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use super::server::JobState;
use crate::channels::client::{ClientChannel, ClientChannels, MAX_JOBS};
use crate::channels::coinbase::CoinbaseParts;
use crate::channels::hash::merkle_root;
use crate::channels::job::{TemplateJob, TipJob};
use crate::channels::server::{Job, PrevHash, Share};
use crate::channels::target::{target_from_nbits, TargetLe};
use crate::codec::{Bytes, CodecError, Seq, Str0_255, Tlv, EXTENSION_WORKER_HASHRATE_TRACKING};
use crate::messages::mining_flags::{REQUIRES_STANDARD_JOBS, REQUIRES_VERSION_ROLLING};
use crate::messages::mining_success_flags::{REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION};
use crate::messages::{
    CloseChannel, NewExtendedMiningJob, NewMiningJob, OpenExtendedMiningChannel, OpenStandardMiningChannel,
    RequestExtensions, SetNewPrevHash, SetupConnection, SubmitSharesExtended, SubmitSharesStandard, UpdateChannel,
};
use crate::Message;

/// Channel opens a connection may have unanswered at once.
pub const MAX_OPENING: usize = 256;
/// Shares kept waiting for their answer; past it the oldest is forgotten (and counted in
/// [`ClientEndpoint::forgotten_shares`]).
pub const MAX_PENDING_SHARES: usize = 16_384;
/// The longest full extranonce (prefix and rolled part) the spec allows.
pub const MAX_EXTRANONCE: usize = 32;

/// What the client asks for in SetupConnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// REQUIRES_STANDARD_JOBS: standard channels get NewMiningJob, not group extended jobs.
    pub requires_standard_jobs: bool,
    /// REQUIRES_VERSION_ROLLING: refuse servers that fix the version.
    pub requires_version_rolling: bool,
    /// The host the client dialled.
    pub endpoint_host: String,
    /// The port the client dialled.
    pub endpoint_port: u16,
    /// Vendor.
    pub vendor: String,
    /// Hardware version.
    pub hardware_version: String,
    /// Firmware version.
    pub firmware: String,
    /// Device id (empty: none).
    pub device_id: String,
}

impl ClientConfig {
    /// A client of `vendor` that dialled `host:port`, asking for no flags.
    pub fn new(endpoint_host: &str, endpoint_port: u16, vendor: &str) -> Self {
        ClientConfig {
            requires_standard_jobs: false,
            requires_version_rolling: false,
            endpoint_host: endpoint_host.to_string(),
            endpoint_port,
            vendor: vendor.to_string(),
            hardware_version: String::new(),
            firmware: String::new(),
            device_id: String::new(),
        }
    }
}

/// The code of a SetupConnection.Error, typed where the spec names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupErrorCode {
    /// `unsupported-feature-flags` (the Error's flags say which).
    UnsupportedFeatureFlags,
    /// `unsupported-protocol`.
    UnsupportedProtocol,
    /// `protocol-version-mismatch`.
    ProtocolVersionMismatch,
    /// Any other code, as sent (lossy UTF-8).
    Other(String),
}

impl SetupErrorCode {
    fn parse(code: &[u8]) -> Self {
        match code {
            b"unsupported-feature-flags" => SetupErrorCode::UnsupportedFeatureFlags,
            b"unsupported-protocol" => SetupErrorCode::UnsupportedProtocol,
            b"protocol-version-mismatch" => SetupErrorCode::ProtocolVersionMismatch,
            other => SetupErrorCode::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }
}

impl fmt::Display for SetupErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetupErrorCode::UnsupportedFeatureFlags => "unsupported-feature-flags",
            SetupErrorCode::UnsupportedProtocol => "unsupported-protocol",
            SetupErrorCode::ProtocolVersionMismatch => "protocol-version-mismatch",
            SetupErrorCode::Other(s) => s,
        })
    }
}

/// Why the connection cannot go on (or a builder cannot build its message).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused SetupConnection.
    SetupRefused {
        /// Flags the server does not support.
        flags: u32,
        /// Why.
        code: SetupErrorCode,
    },
    /// A message (named) that does not belong here: anything before SetupConnection.Success,
    /// a second setup answer, or a message only clients send.
    Unexpected(&'static str),
    /// A channel answer for a request id that was not sent (or already answered).
    UnknownRequest(u32),
    /// A channel id this connection does not have.
    UnknownChannel(u32),
    /// SetNewPrevHash names a job the extended channel never received.
    UnknownJob {
        /// The channel.
        channel_id: u32,
        /// The job.
        job_id: u32,
    },
    /// A channel's extranonce prefix and size exceed 32 bytes.
    BadExtranonce {
        /// The channel.
        channel_id: u32,
    },
    /// A builder was called before SetupConnection.Success.
    NotConnected,
    /// The server requires extended channels and a standard one was asked for.
    ExtendedRequired,
    /// [`MAX_OPENING`] opens are already unanswered.
    TooManyOpening,
    /// A field does not fit its message (a user identity over 255 bytes, an extranonce over 32).
    Codec(CodecError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::SetupRefused { flags, code } => {
                write!(f, "SetupConnection refused: {code} (flags {flags:#x})")
            }
            ClientError::Unexpected(name) => write!(f, "unexpected {name}"),
            ClientError::UnknownRequest(id) => write!(f, "answer to unknown request id {id}"),
            ClientError::UnknownChannel(id) => write!(f, "unknown channel id {id}"),
            ClientError::UnknownJob { channel_id, job_id } => {
                write!(f, "channel {channel_id}: SetNewPrevHash names unknown job {job_id}")
            }
            ClientError::BadExtranonce { channel_id } => {
                write!(f, "channel {channel_id}: extranonce prefix and size exceed {MAX_EXTRANONCE} bytes")
            }
            ClientError::NotConnected => f.write_str("SetupConnection not accepted yet"),
            ClientError::ExtendedRequired => f.write_str("the server requires extended channels"),
            ClientError::TooManyOpening => write!(f, "{MAX_OPENING} channel opens unanswered"),
            ClientError::Codec(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Codec(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodecError> for ClientError {
    fn from(e: CodecError) -> Self {
        ClientError::Codec(e)
    }
}

/// What changed after a server message.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// SetupConnection.Success with these flags (REQUIRES_FIXED_VERSION,
    /// REQUIRES_EXTENDED_CHANNELS).
    Connected {
        /// The server's flags.
        flags: u32,
    },
    /// A channel was opened.
    ChannelOpened {
        /// The request it answers.
        request_id: u32,
        /// The new channel.
        channel_id: u32,
        /// Its group.
        group_channel_id: u32,
        /// Initial share target.
        target: TargetLe,
        /// Its extranonce prefix.
        extranonce_prefix: Vec<u8>,
        /// Bytes the client rolls (0 on standard channels).
        extranonce_size: u16,
    },
    /// An open was refused.
    ChannelRefused {
        /// The request.
        request_id: u32,
        /// The error code (lossy UTF-8).
        code: String,
    },
    /// A job for a standard channel, with the merkle root for the channel's extranonce (also
    /// when the server sent its group an extended job).
    StandardJob {
        /// The channel.
        channel_id: u32,
        /// The job, addressed to the channel.
        job: NewMiningJob,
    },
    /// A job for an extended channel, also in its [`ClientEndpoint::job_state`].
    ExtendedJob {
        /// The channel.
        channel_id: u32,
        /// The job (`active_ntime` None: future).
        job: TemplateJob,
    },
    /// A new previous hash on a channel (extended channels: a new tip in their job state).
    PrevHash {
        /// The channel.
        channel_id: u32,
        /// The message, addressed to the channel.
        prev: SetNewPrevHash,
    },
    /// New share target for jobs received after it.
    TargetChanged {
        /// The channel.
        channel_id: u32,
        /// The target.
        target: TargetLe,
    },
    /// New extranonce prefix for jobs received after it.
    ExtranoncePrefixChanged {
        /// The channel.
        channel_id: u32,
        /// The prefix.
        prefix: Vec<u8>,
    },
    /// A submitted share was acknowledged.
    ShareAccepted {
        /// The channel.
        channel_id: u32,
        /// Its sequence number.
        sequence_number: u32,
        /// The caller's tag from [`ClientEndpoint::submit`].
        tag: u64,
    },
    /// A share was rejected.
    ShareRejected {
        /// The channel.
        channel_id: u32,
        /// Its sequence number.
        sequence_number: u32,
        /// The caller's tag (None: not a pending share, or already forgotten).
        tag: Option<u64>,
        /// The error code (lossy UTF-8).
        code: String,
    },
    /// UpdateChannel was refused.
    UpdateRefused {
        /// The channel.
        channel_id: u32,
        /// The error code.
        code: String,
    },
    /// The server closed a channel.
    ChannelClosed {
        /// The channel.
        channel_id: u32,
        /// Why (lossy UTF-8).
        reason: String,
    },
    /// RequestExtensions.Success: the extensions both sides use from now on.
    ExtensionsNegotiated {
        /// The extension ids.
        supported: Vec<u16>,
    },
    /// RequestExtensions.Error: none are used.
    ExtensionsRefused {
        /// Requested ones the server does not support.
        unsupported: Vec<u16>,
        /// Ones the server requires.
        required: Vec<u16>,
    },
    /// ChannelEndpointChanged: a proxy moved the channel to another upstream; extension
    /// state of the channel starts over.
    EndpointChanged {
        /// The channel.
        channel_id: u32,
    },
    /// The server asks to reconnect (empty host / port 0: the same).
    Reconnect {
        /// New host.
        host: String,
        /// New port.
        port: u16,
    },
}

/// The kinds of [`Event`] as numbered in the C and C++ APIs' flat event records.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EventKind {
    /// An event the flat form has no kind for (ChannelEndpointChanged).
    #[default]
    Other = 0,
    /// [`Event::Connected`].
    Connected = 1,
    /// [`Event::ChannelOpened`].
    ChannelOpened = 2,
    /// [`Event::ChannelRefused`].
    ChannelRefused = 3,
    /// [`Event::StandardJob`].
    StandardJob = 4,
    /// [`Event::ExtendedJob`].
    ExtendedJob = 5,
    /// [`Event::PrevHash`].
    PrevHash = 6,
    /// [`Event::TargetChanged`].
    TargetChanged = 7,
    /// [`Event::ExtranoncePrefixChanged`].
    ExtranoncePrefixChanged = 8,
    /// [`Event::ShareAccepted`].
    ShareAccepted = 9,
    /// [`Event::ShareRejected`].
    ShareRejected = 10,
    /// [`Event::UpdateRefused`].
    UpdateRefused = 11,
    /// [`Event::ChannelClosed`].
    ChannelClosed = 12,
    /// [`Event::ExtensionsNegotiated`].
    ExtensionsNegotiated = 13,
    /// [`Event::ExtensionsRefused`].
    ExtensionsRefused = 14,
    /// [`Event::Reconnect`].
    Reconnect = 15,
}

/// An [`Event`] as one record of plain fields, the form the C and C++ APIs hand out: `kind`
/// says which fields mean something, the others are zero or empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlatEvent<'a> {
    /// Which event.
    pub kind: EventKind,
    /// Connected: the server's flags.
    pub flags: u32,
    /// The channel (every kind but Connected, ChannelRefused, Extensions* and Reconnect).
    pub channel_id: u32,
    /// ChannelOpened, ChannelRefused: the request.
    pub request_id: u32,
    /// ChannelOpened: the channel's group.
    pub group_channel_id: u32,
    /// ShareAccepted, ShareRejected: the share's sequence number.
    pub sequence_number: u32,
    /// StandardJob, ExtendedJob, PrevHash: the job.
    pub job_id: u32,
    /// StandardJob, ExtendedJob: None for a future job; PrevHash: the first nTime.
    pub min_ntime: Option<u32>,
    /// ChannelOpened: bytes the client rolls.
    pub extranonce_size: u16,
    /// Reconnect: the port.
    pub port: u16,
    /// ChannelOpened, TargetChanged: the share target.
    pub target: TargetLe,
    /// ShareAccepted, ShareRejected: the caller's tag, when the share was pending.
    pub tag: Option<u64>,
    /// ChannelRefused, ShareRejected, UpdateRefused: the error code; ChannelClosed: the
    /// reason; Reconnect: the host.
    pub text: &'a [u8],
    /// ChannelOpened, ExtranoncePrefixChanged: the prefix.
    pub extranonce_prefix: &'a [u8],
    /// ExtensionsNegotiated: the extensions in use; ExtensionsRefused: the unsupported ones.
    pub extensions: &'a [u16],
    /// ExtensionsRefused: the ones the server requires.
    pub required_extensions: &'a [u16],
}

impl Event {
    /// This event as a [`FlatEvent`] borrowing from it.
    pub fn flat(&self) -> FlatEvent<'_> {
        use EventKind as K;
        let f = FlatEvent::default();
        match self {
            Event::Connected { flags } => FlatEvent { kind: K::Connected, flags: *flags, ..f },
            Event::ChannelOpened {
                request_id,
                channel_id,
                group_channel_id,
                target,
                extranonce_prefix,
                extranonce_size,
            } => FlatEvent {
                kind: K::ChannelOpened,
                request_id: *request_id,
                channel_id: *channel_id,
                group_channel_id: *group_channel_id,
                target: *target,
                extranonce_prefix,
                extranonce_size: *extranonce_size,
                ..f
            },
            Event::ChannelRefused { request_id, code } => {
                FlatEvent { kind: K::ChannelRefused, request_id: *request_id, text: code.as_bytes(), ..f }
            }
            Event::StandardJob { channel_id, job } => FlatEvent {
                kind: K::StandardJob,
                channel_id: *channel_id,
                job_id: job.job_id,
                min_ntime: job.min_ntime,
                ..f
            },
            Event::ExtendedJob { channel_id, job } => FlatEvent {
                kind: K::ExtendedJob,
                channel_id: *channel_id,
                job_id: job.job_id,
                min_ntime: job.active_ntime,
                ..f
            },
            Event::PrevHash { channel_id, prev } => FlatEvent {
                kind: K::PrevHash,
                channel_id: *channel_id,
                job_id: prev.job_id,
                min_ntime: Some(prev.min_ntime),
                ..f
            },
            Event::TargetChanged { channel_id, target } => {
                FlatEvent { kind: K::TargetChanged, channel_id: *channel_id, target: *target, ..f }
            }
            Event::ExtranoncePrefixChanged { channel_id, prefix } => {
                FlatEvent { kind: K::ExtranoncePrefixChanged, channel_id: *channel_id, extranonce_prefix: prefix, ..f }
            }
            Event::ShareAccepted { channel_id, sequence_number, tag } => FlatEvent {
                kind: K::ShareAccepted,
                channel_id: *channel_id,
                sequence_number: *sequence_number,
                tag: Some(*tag),
                ..f
            },
            Event::ShareRejected { channel_id, sequence_number, tag, code } => FlatEvent {
                kind: K::ShareRejected,
                channel_id: *channel_id,
                sequence_number: *sequence_number,
                tag: *tag,
                text: code.as_bytes(),
                ..f
            },
            Event::UpdateRefused { channel_id, code } => {
                FlatEvent { kind: K::UpdateRefused, channel_id: *channel_id, text: code.as_bytes(), ..f }
            }
            Event::ChannelClosed { channel_id, reason } => {
                FlatEvent { kind: K::ChannelClosed, channel_id: *channel_id, text: reason.as_bytes(), ..f }
            }
            Event::ExtensionsNegotiated { supported } => {
                FlatEvent { kind: K::ExtensionsNegotiated, extensions: supported, ..f }
            }
            Event::ExtensionsRefused { unsupported, required } => {
                FlatEvent { kind: K::ExtensionsRefused, extensions: unsupported, required_extensions: required, ..f }
            }
            Event::Reconnect { host, port } => {
                FlatEvent { kind: K::Reconnect, text: host.as_bytes(), port: *port, ..f }
            }
            Event::EndpointChanged { .. } => f,
        }
    }
}

/// A share sent and not answered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingShare {
    /// The channel.
    pub channel_id: u32,
    /// Its sequence number.
    pub sequence_number: u32,
    /// The caller's tag.
    pub tag: u64,
}

#[derive(Debug, Clone, Copy)]
enum Opening {
    Standard,
    Extended,
}

#[derive(Debug)]
struct ChannelInfo {
    extended: bool,
    prefix: Vec<u8>,
    /// Extended channels only: their jobs as a server serves them.
    jobs: JobState,
}

#[derive(Debug, PartialEq, Eq)]
enum Setup {
    Idle,
    Sent,
    Up(u32),
}

/// One upstream connection, client side.
#[derive(Debug)]
pub struct ClientEndpoint {
    config: ClientConfig,
    setup: Setup,
    channels: ClientChannels,
    info: HashMap<u32, ChannelInfo>,
    opening: HashMap<u32, Opening>,
    next_request_id: u32,
    next_sequence: u32,
    /// By (channel, sequence number).
    pending: BTreeMap<(u32, u32), u64>,
    /// Sequence order of `pending`, to forget the oldest.
    order: std::collections::VecDeque<(u32, u32)>,
    forgotten: u64,
    /// The request id of an unanswered RequestExtensions.
    extensions_request: Option<u16>,
    extensions: Vec<u16>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl ClientEndpoint {
    /// A connection before its SetupConnection.
    pub fn new(config: ClientConfig) -> Self {
        ClientEndpoint {
            config,
            setup: Setup::Idle,
            channels: ClientChannels::new(),
            info: HashMap::new(),
            opening: HashMap::new(),
            next_request_id: 1,
            next_sequence: 0,
            pending: BTreeMap::new(),
            order: std::collections::VecDeque::new(),
            forgotten: 0,
            extensions_request: None,
            extensions: Vec::new(),
        }
    }

    /// The SetupConnection to send first (Mining protocol, version 2, work selection off).
    pub fn setup_connection(&mut self) -> SetupConnection<'_> {
        self.setup = Setup::Sent;
        let c = &self.config;
        let mut flags = 0;
        if c.requires_standard_jobs {
            flags |= REQUIRES_STANDARD_JOBS;
        }
        if c.requires_version_rolling {
            flags |= REQUIRES_VERSION_ROLLING;
        }
        // Strings over 255 bytes are cut (they are informational).
        fn field(s: &str) -> Str0_255<'_> {
            let mut end = s.len().min(255);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Str0_255::from_str(&s[..end]).unwrap_or_default()
        }
        SetupConnection {
            protocol: 0,
            min_version: 2,
            max_version: 2,
            flags,
            endpoint_host: field(&c.endpoint_host),
            endpoint_port: c.endpoint_port,
            vendor: field(&c.vendor),
            hardware_version: field(&c.hardware_version),
            firmware: field(&c.firmware),
            device_id: field(&c.device_id),
        }
    }

    /// The server's SetupConnection.Success flags, once connected.
    pub fn flags(&self) -> Option<u32> {
        match self.setup {
            Setup::Up(f) => Some(f),
            _ => None,
        }
    }

    /// The channels, as a miner hashes them.
    pub fn channels(&self) -> &ClientChannels {
        &self.channels
    }

    /// An extended channel's jobs as server-side jobs (None for standard or unknown channels).
    pub fn job_state(&self, channel_id: u32) -> Option<&JobState> {
        self.info.get(&channel_id).filter(|i| i.extended).map(|i| &i.jobs)
    }

    /// A channel's current extranonce prefix.
    pub fn extranonce_prefix(&self, channel_id: u32) -> Option<&[u8]> {
        self.info.get(&channel_id).map(|i| &i.prefix[..])
    }

    /// Shares sent and not answered, oldest first.
    pub fn pending_shares(&self) -> Vec<PendingShare> {
        self.order
            .iter()
            .filter_map(|k| {
                self.pending.get(k).map(|tag| PendingShare { channel_id: k.0, sequence_number: k.1, tag: *tag })
            })
            .collect()
    }

    /// RequestExtensions for `extensions` (e.g. 0x0002, worker-specific hashrate tracking).
    pub fn request_extensions<'e>(&mut self, extensions: &'e [u16]) -> Result<RequestExtensions<'e>, ClientError> {
        self.connected()?;
        let requested_extensions = Seq::new(extensions)?;
        let request_id = self.extensions_request.map_or(1, |id| id.wrapping_add(1));
        self.extensions_request = Some(request_id);
        Ok(RequestExtensions { request_id, requested_extensions })
    }

    /// The extensions negotiated on this connection.
    pub fn extensions(&self) -> &[u16] {
        &self.extensions
    }

    /// The extension 0x0002 `user_identity` TLV for a SubmitSharesExtended, when that
    /// extension was negotiated and the identity fits (32 bytes).
    pub fn user_identity_tlv<'u>(&self, identity: &'u str) -> Option<Tlv<'u>> {
        if !self.extensions.contains(&EXTENSION_WORKER_HASHRATE_TRACKING) {
            return None;
        }
        Tlv::user_identity(identity).ok()
    }

    /// How many shares are sent and not answered.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Shares forgotten unanswered because [`MAX_PENDING_SHARES`] were pending.
    pub fn forgotten_shares(&self) -> u64 {
        self.forgotten
    }

    fn connected(&self) -> Result<u32, ClientError> {
        self.flags().ok_or(ClientError::NotConnected)
    }

    fn request(&mut self, kind: Opening) -> Result<u32, ClientError> {
        self.connected()?;
        if self.opening.len() >= MAX_OPENING {
            return Err(ClientError::TooManyOpening);
        }
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        self.opening.insert(id, kind);
        Ok(id)
    }

    /// OpenStandardMiningChannel under a new request id.
    pub fn open_standard<'u>(
        &mut self,
        user_identity: &'u str,
        nominal_hash_rate: f32,
        max_target: TargetLe,
    ) -> Result<OpenStandardMiningChannel<'u>, ClientError> {
        if self.connected()? & REQUIRES_EXTENDED_CHANNELS != 0 {
            return Err(ClientError::ExtendedRequired);
        }
        let user_identity = Str0_255::from_str(user_identity)?;
        let request_id = self.request(Opening::Standard)?;
        Ok(OpenStandardMiningChannel { request_id, user_identity, nominal_hash_rate, max_target })
    }

    /// OpenExtendedMiningChannel under a new request id.
    pub fn open_extended<'u>(
        &mut self,
        user_identity: &'u str,
        nominal_hash_rate: f32,
        max_target: TargetLe,
        min_extranonce_size: u16,
    ) -> Result<OpenExtendedMiningChannel<'u>, ClientError> {
        let user_identity = Str0_255::from_str(user_identity)?;
        let request_id = self.request(Opening::Extended)?;
        Ok(OpenExtendedMiningChannel { request_id, user_identity, nominal_hash_rate, max_target, min_extranonce_size })
    }

    /// UpdateChannel for an open channel.
    pub fn update_channel(
        &self,
        channel_id: u32,
        nominal_hash_rate: f32,
        maximum_target: TargetLe,
    ) -> Result<UpdateChannel, ClientError> {
        self.channels.get(channel_id).ok_or(ClientError::UnknownChannel(channel_id))?;
        Ok(UpdateChannel { channel_id, nominal_hash_rate, maximum_target })
    }

    /// CloseChannel: forgets the channel (its pending shares stay until answered or
    /// forgotten).
    pub fn close_channel<'r>(&mut self, channel_id: u32, reason: &'r str) -> Result<CloseChannel<'r>, ClientError> {
        self.channels.remove(channel_id).ok_or(ClientError::UnknownChannel(channel_id))?;
        self.info.remove(&channel_id);
        Ok(CloseChannel { channel_id, reason_code: Str0_255::from_str(reason)? })
    }

    /// The SubmitShares for `share` on a channel (standard or extended by the channel's
    /// kind) under the next sequence number; `tag` comes back in the answer's event.
    pub fn submit<'s>(&mut self, channel_id: u32, share: &Share<'s>, tag: u64) -> Result<Message<'s>, ClientError> {
        let info = self.info.get(&channel_id).ok_or(ClientError::UnknownChannel(channel_id))?;
        let extended = info.extended;
        let extranonce = if extended { Bytes::new(share.extranonce)? } else { Bytes::EMPTY };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let sequence_number = self.next_sequence;
        let key = (channel_id, sequence_number);
        if self.pending.insert(key, tag).is_none() {
            self.order.push_back(key);
        }
        // Answers mostly come in order: trim answered ones from the front, and rebuild the
        // order when answers out of order left too many holes.
        while self.order.front().is_some_and(|k| !self.pending.contains_key(k)) {
            self.order.pop_front();
        }
        if self.order.len() > 2 * MAX_PENDING_SHARES {
            let pending = &self.pending;
            self.order.retain(|k| pending.contains_key(k));
        }
        while self.pending.len() > MAX_PENDING_SHARES {
            let Some(old) = self.order.pop_front() else { break };
            if self.pending.remove(&old).is_some() {
                self.forgotten += 1;
            }
        }
        Ok(if extended {
            SubmitSharesExtended {
                channel_id,
                sequence_number,
                job_id: share.job_id,
                nonce: share.nonce,
                ntime: share.ntime,
                version: share.version,
                extranonce,
            }
            .into()
        } else {
            SubmitSharesStandard {
                channel_id,
                sequence_number,
                job_id: share.job_id,
                nonce: share.nonce,
                ntime: share.ntime,
                version: share.version,
            }
            .into()
        })
    }

    /// Handles one message from the server.
    pub fn on_message(&mut self, msg: &Message<'_>) -> Result<Vec<Event>, ClientError> {
        let flags = match (&self.setup, msg) {
            (Setup::Sent, Message::SetupConnectionSuccess(s)) => {
                self.setup = Setup::Up(s.flags);
                return Ok(vec![Event::Connected { flags: s.flags }]);
            }
            (Setup::Sent, Message::SetupConnectionError(e)) => {
                return Err(ClientError::SetupRefused {
                    flags: e.flags,
                    code: SetupErrorCode::parse(e.error_code.as_bytes()),
                });
            }
            (Setup::Up(flags), _) => *flags,
            (_, other) => return Err(ClientError::Unexpected(other.name())),
        };
        let events = match msg {
            Message::OpenStandardMiningChannelSuccess(s) => {
                self.take_request(s.request_id, false)?;
                let rolling = flags & REQUIRES_FIXED_VERSION == 0;
                let prefix = s.extranonce_prefix.as_bytes();
                let c = ClientChannel::standard(s.channel_id, s.target, prefix, rolling);
                self.opened(c, s.group_channel_id, prefix, false);
                vec![Event::ChannelOpened {
                    request_id: s.request_id,
                    channel_id: s.channel_id,
                    group_channel_id: s.group_channel_id,
                    target: s.target,
                    extranonce_prefix: prefix.to_vec(),
                    extranonce_size: 0,
                }]
            }
            Message::OpenExtendedMiningChannelSuccess(s) => {
                self.take_request(s.request_id, true)?;
                let prefix = s.extranonce_prefix.as_bytes();
                if prefix.len() + usize::from(s.extranonce_size) > MAX_EXTRANONCE {
                    return Err(ClientError::BadExtranonce { channel_id: s.channel_id });
                }
                let c = ClientChannel::extended(s.channel_id, s.target, prefix, s.extranonce_size);
                self.opened(c, s.group_channel_id, prefix, true);
                vec![Event::ChannelOpened {
                    request_id: s.request_id,
                    channel_id: s.channel_id,
                    group_channel_id: s.group_channel_id,
                    target: s.target,
                    extranonce_prefix: prefix.to_vec(),
                    extranonce_size: s.extranonce_size,
                }]
            }
            Message::OpenMiningChannelError(e) => {
                self.opening.remove(&e.request_id).ok_or(ClientError::UnknownRequest(e.request_id))?;
                vec![Event::ChannelRefused { request_id: e.request_id, code: text(e.error_code.as_bytes()) }]
            }
            Message::SubmitSharesSuccess(s) => self.acknowledged(s.channel_id, s.last_sequence_number),
            Message::SubmitSharesError(e) => {
                let key = (e.channel_id, e.sequence_number);
                vec![Event::ShareRejected {
                    channel_id: e.channel_id,
                    sequence_number: e.sequence_number,
                    tag: self.pending.remove(&key),
                    code: text(e.error_code.as_bytes()),
                }]
            }
            Message::UpdateChannelError(e) => {
                vec![Event::UpdateRefused { channel_id: e.channel_id, code: text(e.error_code.as_bytes()) }]
            }
            Message::RequestExtensionsSuccess(m) if self.extensions_request == Some(m.request_id) => {
                self.extensions_request = None;
                // Bounded: a server cannot make the client keep more than 64 ids.
                self.extensions = m.supported_extensions.iter().take(64).collect();
                vec![Event::ExtensionsNegotiated { supported: self.extensions.clone() }]
            }
            Message::RequestExtensionsError(m) if self.extensions_request == Some(m.request_id) => {
                self.extensions_request = None;
                vec![Event::ExtensionsRefused {
                    unsupported: m.unsupported_extensions.iter().take(64).collect(),
                    required: m.required_extensions.iter().take(64).collect(),
                }]
            }
            Message::ChannelEndpointChanged(m) => {
                if self.channels.get(m.channel_id).is_none() {
                    return Ok(Vec::new());
                }
                vec![Event::EndpointChanged { channel_id: m.channel_id }]
            }
            Message::Reconnect(r) => vec![Event::Reconnect { host: text(r.new_host.as_bytes()), port: r.new_port }],
            Message::CloseChannel(m) => {
                let reason = text(m.reason_code.as_bytes());
                let closed = self.channels.on_message(msg);
                closed
                    .into_iter()
                    .map(|channel_id| {
                        self.info.remove(&channel_id);
                        Event::ChannelClosed { channel_id, reason: reason.clone() }
                    })
                    .collect()
            }
            Message::NewExtendedMiningJob(m) => {
                let touched = self.channels.on_message(msg);
                touched.into_iter().filter_map(|id| self.extended_job(id, m)).collect()
            }
            Message::NewMiningJob(m) => {
                let touched = self.channels.on_message(msg);
                touched.into_iter().map(|channel_id| Event::StandardJob { channel_id, job: *m }).collect()
            }
            Message::SetNewPrevHash(m) => {
                let touched = self.channels.on_message(msg);
                let mut events = Vec::with_capacity(touched.len());
                for channel_id in touched {
                    self.new_tip(channel_id, m)?;
                    events.push(Event::PrevHash { channel_id, prev: SetNewPrevHash { channel_id, ..*m } });
                }
                events
            }
            Message::SetTarget(m) => {
                let touched = self.channels.on_message(msg);
                touched
                    .into_iter()
                    .map(|channel_id| Event::TargetChanged { channel_id, target: m.maximum_target })
                    .collect()
            }
            Message::SetExtranoncePrefix(m) => {
                let prefix = m.extranonce_prefix.as_bytes();
                let Some(info) = self.info.get_mut(&m.channel_id) else { return Ok(Vec::new()) };
                let size = self.channels.get(m.channel_id).map_or(0, |c| c.extranonce_size());
                if prefix.len() + size > MAX_EXTRANONCE {
                    return Err(ClientError::BadExtranonce { channel_id: m.channel_id });
                }
                info.prefix = prefix.to_vec();
                self.channels.on_message(msg);
                vec![Event::ExtranoncePrefixChanged { channel_id: m.channel_id, prefix: prefix.to_vec() }]
            }
            Message::SetGroupChannel(_) => {
                self.channels.on_message(msg);
                Vec::new()
            }
            // Answers this client never asked for, and client-to-server messages.
            other => return Err(ClientError::Unexpected(other.name())),
        };
        Ok(events)
    }

    fn take_request(&mut self, request_id: u32, extended: bool) -> Result<(), ClientError> {
        match self.opening.get(&request_id) {
            Some(Opening::Extended) if extended => {}
            Some(Opening::Standard) if !extended => {}
            _ => return Err(ClientError::UnknownRequest(request_id)),
        }
        self.opening.remove(&request_id);
        Ok(())
    }

    fn opened(&mut self, c: ClientChannel, group: u32, prefix: &[u8], extended: bool) {
        let id = c.channel_id();
        self.channels.insert(c, group);
        self.info.insert(id, ChannelInfo { extended, prefix: prefix.to_vec(), jobs: JobState::default() });
    }

    /// SubmitShares.Success acknowledges every share on the channel up to its sequence number.
    fn acknowledged(&mut self, channel_id: u32, last: u32) -> Vec<Event> {
        let keys: Vec<(u32, u32)> = self.pending.range((channel_id, 0)..=(channel_id, last)).map(|(k, _)| *k).collect();
        keys.into_iter()
            .filter_map(|k| {
                let tag = self.pending.remove(&k)?;
                Some(Event::ShareAccepted { channel_id, sequence_number: k.1, tag })
            })
            .collect()
    }

    fn extended_job(&mut self, channel_id: u32, m: &NewExtendedMiningJob<'_>) -> Option<Event> {
        let info = self.info.get_mut(&channel_id)?;
        let prefix = m.coinbase_tx_prefix.as_bytes();
        let suffix = m.coinbase_tx_suffix.as_bytes();
        let path = m.merkle_path.to_vec();
        if !info.extended {
            // A group job reaching a standard channel: its extranonce is the prefix alone.
            let coinbase = [prefix, &info.prefix, suffix].concat();
            let job = NewMiningJob {
                channel_id,
                job_id: m.job_id,
                min_ntime: m.min_ntime,
                version: m.version,
                merkle_root: merkle_root(&coinbase, &path),
            };
            return Some(Event::StandardJob { channel_id, job });
        }
        let size = self.channels.get(channel_id).map_or(0, |c| c.extranonce_size());
        let job = Arc::new(Job {
            template_id: None,
            version: m.version,
            version_rolling_allowed: m.version_rolling_allowed,
            // Jobs carry the witness-stripped coinbase: a block found on it is the upstream's
            // to assemble.
            coinbase: CoinbaseParts {
                prefix: prefix.to_vec(),
                suffix: suffix.to_vec(),
                segwit: false,
                extranonce_len: info.prefix.len() + size,
            },
            merkle_path: path,
        });
        let state = &mut info.jobs;
        let made = match m.min_ntime {
            None => {
                let made = TemplateJob { job_id: m.job_id, job, active_ntime: None };
                state.future.retain(|j| j.job_id != m.job_id);
                state.future.push(made.clone());
                if state.future.len() > MAX_JOBS {
                    state.future.remove(0);
                }
                made
            }
            Some(ntime) => {
                let made = TemplateJob { job_id: m.job_id, job, active_ntime: Some(ntime) };
                state.latest = Some(made.clone());
                made
            }
        };
        Some(Event::ExtendedJob { channel_id, job: made })
    }

    fn new_tip(&mut self, channel_id: u32, m: &SetNewPrevHash) -> Result<(), ClientError> {
        let Some(info) = self.info.get_mut(&channel_id).filter(|i| i.extended) else { return Ok(()) };
        let state = &mut info.jobs;
        let job = state
            .future
            .iter()
            .chain(state.latest.iter())
            .find(|j| j.job_id == m.job_id)
            .map(|j| j.job.clone())
            .ok_or(ClientError::UnknownJob { channel_id, job_id: m.job_id })?;
        let prev = PrevHash {
            prev_hash: m.prev_hash,
            nbits: m.nbits,
            min_ntime: m.min_ntime,
            block_target: target_from_nbits(m.nbits),
        };
        state.tip_seq += 1;
        state.latest = Some(TemplateJob { job_id: m.job_id, job: job.clone(), active_ntime: Some(m.min_ntime) });
        state.tip = Some(TipJob { job_id: m.job_id, job, prev });
        state.future.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::server::{ChannelKind, ServerChannel};
    use crate::channels::target::MAX_TARGET;
    use crate::channels::vardiff::Vardiff;
    use crate::codec::{frame_to_vec, Frame, FrameHeader, Seq};
    use crate::messages::{
        ChannelEndpointChanged, OpenExtendedMiningChannelSuccess, OpenMiningChannelError,
        OpenStandardMiningChannelSuccess, Reconnect, RequestExtensionsError, RequestExtensionsSuccess,
        SetExtranoncePrefix, SetTarget, SetupConnectionError, SetupConnectionSuccess, SubmitSharesError,
        SubmitSharesSuccess,
    };

    /// Runs `msg` through the wire (encode, frame, decode) before the endpoint sees it.
    fn feed(c: &mut ClientEndpoint, msg: Message<'_>) -> Result<Vec<Event>, ClientError> {
        let bytes = frame_to_vec(&msg, &[]).unwrap();
        let header = FrameHeader::from_bytes(bytes[..6].try_into().unwrap());
        let decoded = Frame { header, payload: &bytes[6..] }.message().unwrap().0;
        c.on_message(&decoded)
    }

    fn connected(flags: u32) -> ClientEndpoint {
        let mut c = ClientEndpoint::new(ClientConfig::new("pool.example", 3333, "test"));
        let setup = c.setup_connection();
        assert_eq!((setup.protocol, setup.flags), (0, 0));
        let ev = feed(&mut c, SetupConnectionSuccess { used_version: 2, flags }.into()).unwrap();
        assert!(matches!(ev[..], [Event::Connected { flags: f }] if f == flags));
        c
    }

    const PREFIX: [u8; 4] = [0xaa, 0xbb, 0xcc, 0xdd];
    const CB_PREFIX: [u8; 5] = [2, 0, 0, 0, 1];
    const CB_SUFFIX: [u8; 6] = [0xff, 0xff, 0xff, 0xff, 0, 0];
    const PATH: [[u8; 32]; 2] = [[3; 32], [4; 32]];

    fn open_extended(c: &mut ClientEndpoint, channel_id: u32, group: u32) {
        let open = c.open_extended("alice.rig1", 1e9, MAX_TARGET, 4).unwrap();
        let request_id = open.request_id;
        let ok = OpenExtendedMiningChannelSuccess {
            request_id,
            channel_id,
            target: [0x11; 32],
            extranonce_size: 8,
            extranonce_prefix: Bytes::new(&PREFIX).unwrap(),
            group_channel_id: group,
        };
        let ev = feed(c, ok.into()).unwrap();
        assert!(
            matches!(&ev[..], [Event::ChannelOpened { channel_id: id, extranonce_size: 8, .. }] if *id == channel_id)
        );
    }

    fn extended_job(channel_id: u32, job_id: u32, min_ntime: Option<u32>) -> Message<'static> {
        NewExtendedMiningJob {
            channel_id,
            job_id,
            min_ntime,
            version: 0x2000_0000,
            version_rolling_allowed: true,
            merkle_path: Seq::new(&PATH).unwrap(),
            coinbase_tx_prefix: Bytes::new(&CB_PREFIX).unwrap(),
            coinbase_tx_suffix: Bytes::new(&CB_SUFFIX).unwrap(),
        }
        .into()
    }

    fn prev_hash(channel_id: u32, job_id: u32) -> Message<'static> {
        SetNewPrevHash { channel_id, job_id, prev_hash: [9; 32], min_ntime: 1_700_000_000, nbits: 0x207f_ffff }.into()
    }

    #[test]
    fn a_scripted_pool_conversation() {
        let mut c = connected(0);
        open_extended(&mut c, 2, 1);
        let open = c.open_standard("alice.rig2", 1e6, MAX_TARGET).unwrap();
        let ok = OpenStandardMiningChannelSuccess {
            request_id: open.request_id,
            channel_id: 3,
            target: [0x22; 32],
            extranonce_prefix: Bytes::new(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap(),
            group_channel_id: 1,
        };
        feed(&mut c, ok.into()).unwrap();
        // A future job to the group reaches both: as a server job and as a merkle root.
        let ev = feed(&mut c, extended_job(1, 10, None)).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(ev
            .iter()
            .any(|e| matches!(e, Event::ExtendedJob { channel_id: 2, job } if job.active_ntime.is_none())));
        let root = ev
            .iter()
            .find_map(|e| match e {
                Event::StandardJob { channel_id: 3, job } => Some(job.merkle_root),
                _ => None,
            })
            .unwrap();
        assert!(c.job_state(2).unwrap().tip.is_none());
        assert_eq!(c.job_state(2).unwrap().future.len(), 1);
        assert!(c.job_state(3).is_none());
        let ev = feed(&mut c, prev_hash(1, 10)).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(ev.iter().all(|e| matches!(e, Event::PrevHash { channel_id, prev } if prev.channel_id == *channel_id)));
        let state = c.job_state(2).unwrap();
        assert_eq!((state.tip_seq, state.tip.as_ref().unwrap().job_id), (1, 10));
        assert_eq!(state.tip.as_ref().unwrap().prev.block_target, target_from_nbits(0x207f_ffff));
        assert!(state.future.is_empty());
        assert_eq!(state.latest.as_ref().unwrap().active_ntime, Some(1_700_000_000));
        assert_eq!(c.channels().get(3).unwrap().work(&[]).unwrap().merkle_root, root);
        // An active job on the tip replaces `latest`.
        feed(&mut c, extended_job(2, 11, Some(1_700_000_005))).unwrap();
        assert_eq!(c.job_state(2).unwrap().latest.as_ref().unwrap().job_id, 11);
        let ev = feed(&mut c, SetTarget { channel_id: 1, maximum_target: [0x33; 32] }.into()).unwrap();
        assert_eq!(ev.len(), 2);
        let ev =
            feed(&mut c, SetExtranoncePrefix { channel_id: 2, extranonce_prefix: Bytes::new(&[5; 6]).unwrap() }.into())
                .unwrap();
        assert!(matches!(&ev[..], [Event::ExtranoncePrefixChanged { channel_id: 2, prefix }] if prefix == &[5; 6]));
        assert_eq!(c.extranonce_prefix(2), Some(&[5u8; 6][..]));
        // A job after it has the longer hole; earlier jobs keep theirs.
        feed(&mut c, extended_job(2, 12, None)).unwrap();
        assert_eq!(c.job_state(2).unwrap().future[0].job.coinbase.extranonce_len, 14);
        assert_eq!(c.job_state(2).unwrap().latest.as_ref().unwrap().job.coinbase.extranonce_len, 12);
        let ev = feed(&mut c, ChannelEndpointChanged { channel_id: 3 }.into()).unwrap();
        assert!(matches!(&ev[..], [Event::EndpointChanged { channel_id: 3 }]));
        assert!(feed(&mut c, ChannelEndpointChanged { channel_id: 99 }.into()).unwrap().is_empty());
        let ev = feed(&mut c, CloseChannel { channel_id: 1, reason_code: Str0_255::from_str("bye").unwrap() }.into())
            .unwrap();
        assert_eq!(ev.len(), 2);
        assert!(c.channels().is_empty() && c.job_state(2).is_none());
        let ev =
            feed(&mut c, Reconnect { new_host: Str0_255::from_str("b.example").unwrap(), new_port: 9 }.into()).unwrap();
        assert!(matches!(&ev[..], [Event::Reconnect { host, port: 9 }] if host == "b.example"));
    }

    #[test]
    fn messages_out_of_place_are_errors() {
        let mut c = ClientEndpoint::new(ClientConfig::new("h", 1, "v"));
        assert_eq!(c.open_extended("u", 1.0, MAX_TARGET, 4).unwrap_err(), ClientError::NotConnected);
        // Before SetupConnection is even sent, and before its answer.
        let early = SetupConnectionSuccess { used_version: 2, flags: 0 };
        assert_eq!(feed(&mut c, early.into()).unwrap_err(), ClientError::Unexpected("SetupConnectionSuccess"));
        c.setup_connection();
        assert_eq!(
            feed(&mut c, extended_job(1, 1, None)).unwrap_err(),
            ClientError::Unexpected("NewExtendedMiningJob")
        );
        let mut c = connected(0);
        let again = SetupConnectionSuccess { used_version: 2, flags: 0 };
        assert_eq!(feed(&mut c, again.into()).unwrap_err(), ClientError::Unexpected("SetupConnectionSuccess"));
        // A client's own message coming from the server.
        let open = OpenStandardMiningChannel {
            request_id: 1,
            user_identity: Str0_255::EMPTY,
            nominal_hash_rate: 1.0,
            max_target: MAX_TARGET,
        };
        assert!(matches!(feed(&mut c, open.into()), Err(ClientError::Unexpected(_))));
    }

    #[test]
    fn unknown_ids() {
        let mut c = connected(0);
        // Answers to requests never sent, or of the other kind.
        let refused = OpenMiningChannelError { request_id: 77, error_code: Str0_255::from_str("x").unwrap() };
        assert_eq!(feed(&mut c, refused.into()).unwrap_err(), ClientError::UnknownRequest(77));
        let std_open = c.open_standard("u", 1.0, MAX_TARGET).unwrap();
        let wrong_kind = OpenExtendedMiningChannelSuccess {
            request_id: std_open.request_id,
            channel_id: 5,
            target: MAX_TARGET,
            extranonce_size: 4,
            extranonce_prefix: Bytes::EMPTY,
            group_channel_id: 5,
        };
        assert_eq!(feed(&mut c, wrong_kind.into()).unwrap_err(), ClientError::UnknownRequest(std_open.request_id));
        // Channel messages for channels that do not exist change nothing.
        assert!(feed(&mut c, extended_job(9, 1, None)).unwrap().is_empty());
        assert!(feed(&mut c, SetTarget { channel_id: 9, maximum_target: MAX_TARGET }.into()).unwrap().is_empty());
        let share = Share { job_id: 1, nonce: 0, ntime: 0, version: 0, extranonce: &[] };
        assert_eq!(c.submit(9, &share, 0).unwrap_err(), ClientError::UnknownChannel(9));
        assert_eq!(c.close_channel(9, "").unwrap_err(), ClientError::UnknownChannel(9));
        // A tip naming a job the extended channel never got.
        open_extended(&mut c, 2, 2);
        assert_eq!(feed(&mut c, prev_hash(2, 44)).unwrap_err(), ClientError::UnknownJob { channel_id: 2, job_id: 44 });
        // An extranonce over 32 bytes.
        let open = c.open_extended("u", 1.0, MAX_TARGET, 4).unwrap();
        let big = OpenExtendedMiningChannelSuccess {
            request_id: open.request_id,
            channel_id: 6,
            target: MAX_TARGET,
            extranonce_size: 30,
            extranonce_prefix: Bytes::new(&PREFIX).unwrap(),
            group_channel_id: 6,
        };
        assert_eq!(feed(&mut c, big.into()).unwrap_err(), ClientError::BadExtranonce { channel_id: 6 });
    }

    #[test]
    fn error_codes_are_typed() {
        let mut c = ClientEndpoint::new(ClientConfig::new("h", 1, "v"));
        c.setup_connection();
        let e = SetupConnectionError { flags: 4, error_code: Str0_255::from_str("unsupported-feature-flags").unwrap() };
        assert_eq!(
            feed(&mut c, e.into()).unwrap_err(),
            ClientError::SetupRefused { flags: 4, code: SetupErrorCode::UnsupportedFeatureFlags }
        );
        let mut c = ClientEndpoint::new(ClientConfig::new("h", 1, "v"));
        c.setup_connection();
        let e = SetupConnectionError { flags: 0, error_code: Str0_255::from_str("maintenance").unwrap() };
        assert_eq!(
            feed(&mut c, e.into()).unwrap_err(),
            ClientError::SetupRefused { flags: 0, code: SetupErrorCode::Other("maintenance".into()) }
        );
        // Refused channels by request id; the server's flags decide what may be opened.
        let mut c = connected(REQUIRES_EXTENDED_CHANNELS | REQUIRES_FIXED_VERSION);
        assert_eq!(c.open_standard("u", 1.0, MAX_TARGET).unwrap_err(), ClientError::ExtendedRequired);
        let a = c.open_extended("u", 1.0, MAX_TARGET, 4).unwrap().request_id;
        let b = c.open_extended("u", 1.0, MAX_TARGET, 4).unwrap().request_id;
        assert_ne!(a, b);
        let refused = OpenMiningChannelError { request_id: b, error_code: Str0_255::from_str("unknown-user").unwrap() };
        let ev = feed(&mut c, refused.into()).unwrap();
        assert!(
            matches!(&ev[..], [Event::ChannelRefused { request_id, code }] if *request_id == b && code == "unknown-user")
        );
        assert!(c.open_standard("u", 1.0, [0; 32]).is_err());
    }

    #[test]
    fn submits_are_matched_with_their_answers() {
        let mut c = connected(0);
        open_extended(&mut c, 2, 2);
        open_extended(&mut c, 3, 3);
        let rolled = [7u8; 8];
        let share = Share { job_id: 10, nonce: 1, ntime: 2, version: 3, extranonce: &rolled };
        let mut seqs = Vec::new();
        for (channel, tag) in [(2, 100), (3, 101), (2, 102), (2, 103)] {
            match c.submit(channel, &share, tag).unwrap() {
                Message::SubmitSharesExtended(m) => {
                    assert_eq!((m.channel_id, m.extranonce.as_bytes()), (channel, &rolled[..]));
                    seqs.push(m.sequence_number);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(c.pending_shares().len(), 4);
        // Success on channel 2 up to the third share acknowledges shares 1 and 3, not 2 or 4.
        let ok = SubmitSharesSuccess {
            channel_id: 2,
            last_sequence_number: seqs[2],
            new_submits_accepted_count: 2,
            new_shares_sum: 2,
        };
        let ev = feed(&mut c, ok.into()).unwrap();
        let tags: Vec<u64> = ev
            .iter()
            .map(|e| match e {
                Event::ShareAccepted { tag, .. } => *tag,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(tags, [100, 102]);
        let err = SubmitSharesError {
            channel_id: 2,
            sequence_number: seqs[3],
            error_code: Str0_255::from_str("stale-share").unwrap(),
        };
        let ev = feed(&mut c, err.into()).unwrap();
        assert!(matches!(&ev[..], [Event::ShareRejected { tag: Some(103), code, .. }] if code == "stale-share"));
        // An answer for a share not pending has no tag.
        let err = SubmitSharesError { channel_id: 2, sequence_number: 999, error_code: Str0_255::EMPTY };
        assert!(matches!(&feed(&mut c, err.into()).unwrap()[..], [Event::ShareRejected { tag: None, .. }]));
        let left = c.pending_shares();
        assert_eq!(left, [PendingShare { channel_id: 3, sequence_number: seqs[1], tag: 101 }]);
        // Too long an extranonce is refused before anything is recorded.
        let bad = Share { extranonce: &[0; 33], ..share };
        assert!(matches!(c.submit(2, &bad, 1), Err(ClientError::Codec(_))));
        assert_eq!(c.pending_shares().len(), 1);
    }

    #[test]
    fn worker_identity_only_once_negotiated() {
        let mut c = connected(0);
        assert_eq!(c.user_identity_tlv("rig1"), None);
        // An answer to a request never sent.
        let stray = RequestExtensionsSuccess { request_id: 1, supported_extensions: Seq::new(&[2]).unwrap() };
        assert!(matches!(feed(&mut c, stray.into()), Err(ClientError::Unexpected(_))));
        let req = c.request_extensions(&[EXTENSION_WORKER_HASHRATE_TRACKING]).unwrap();
        let id = req.request_id;
        let refused = RequestExtensionsError {
            request_id: id,
            unsupported_extensions: Seq::new(&[2]).unwrap(),
            required_extensions: Seq::EMPTY,
        };
        let ev = feed(&mut c, refused.into()).unwrap();
        assert!(matches!(&ev[..], [Event::ExtensionsRefused { unsupported, .. }] if unsupported == &[2]));
        assert_eq!(c.user_identity_tlv("rig1"), None);
        let id = c.request_extensions(&[2]).unwrap().request_id;
        let ok = RequestExtensionsSuccess { request_id: id, supported_extensions: Seq::new(&[2]).unwrap() };
        feed(&mut c, ok.into()).unwrap();
        assert_eq!(c.extensions(), [2]);
        let tlv = c.user_identity_tlv("rig1").unwrap();
        assert_eq!((tlv.extension_type, tlv.value), (2, &b"rig1"[..]));
        assert_eq!(c.user_identity_tlv(&"x".repeat(33)), None);
    }

    /// One server message from a small space of ids, so that sequences hit known channels,
    /// jobs and requests as well as unknown ones.
    fn server_message(kind: u8, a: u32, b: u32, bytes: &[u8]) -> Message<'_> {
        let text = Str0_255::from_str("x").unwrap();
        let short = Bytes::new(&bytes[..bytes.len().min(32)]).unwrap();
        match kind % 12 {
            0 => OpenExtendedMiningChannelSuccess {
                request_id: a,
                channel_id: b,
                target: MAX_TARGET,
                extranonce_size: (bytes.len() % 40) as u16,
                extranonce_prefix: short,
                group_channel_id: a % 3,
            }
            .into(),
            1 => OpenStandardMiningChannelSuccess {
                request_id: a,
                channel_id: b,
                target: MAX_TARGET,
                extranonce_prefix: short,
                group_channel_id: b % 3,
            }
            .into(),
            2 => OpenMiningChannelError { request_id: a, error_code: text }.into(),
            3 => NewExtendedMiningJob {
                channel_id: a,
                job_id: b,
                min_ntime: (a % 2 == 0).then_some(b),
                version: 0x2000_0000,
                version_rolling_allowed: true,
                merkle_path: Seq::EMPTY,
                coinbase_tx_prefix: Bytes::new(bytes).unwrap(),
                coinbase_tx_suffix: Bytes::new(bytes).unwrap(),
            }
            .into(),
            4 => NewMiningJob { channel_id: a, job_id: b, min_ntime: None, version: 1, merkle_root: [0; 32] }.into(),
            5 => {
                SetNewPrevHash { channel_id: a, job_id: b, prev_hash: [1; 32], min_ntime: 1, nbits: 0x1d00_ffff }.into()
            }
            6 => SetTarget { channel_id: a, maximum_target: [b as u8; 32] }.into(),
            7 => SetExtranoncePrefix { channel_id: a, extranonce_prefix: short }.into(),
            8 => SubmitSharesSuccess {
                channel_id: a,
                last_sequence_number: b,
                new_submits_accepted_count: 1,
                new_shares_sum: 1,
            }
            .into(),
            9 => SubmitSharesError { channel_id: a, sequence_number: b, error_code: text }.into(),
            10 => CloseChannel { channel_id: a, reason_code: text }.into(),
            _ => crate::messages::SetGroupChannel {
                group_channel_id: a,
                channel_ids: Seq::from_wire(&[1, 0, 0, 0, 2, 0, 0, 0], 2).unwrap(),
            }
            .into(),
        }
    }

    proptest::proptest! {
        /// Whatever a server sends, in any order, the endpoint answers with events or an
        /// error, never a panic, and keeps its bounds.
        #[test]
        fn any_server_conversation_keeps_the_bounds(
            steps in proptest::collection::vec(
                (0u8..14, 0u32..5, 0u32..6, proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
                0..80,
            ),
        ) {
            let mut c = connected(0);
            for _ in 0..3 {
                c.open_extended("u", 1.0, MAX_TARGET, 4).unwrap();
                c.open_standard("u", 1.0, MAX_TARGET).unwrap();
            }
            for (kind, a, b, bytes) in &steps {
                if *kind >= 12 {
                    // The client's side of the conversation: a share on some channel.
                    let share = Share { job_id: *b, nonce: 0, ntime: 0, version: 0, extranonce: &bytes[..bytes.len().min(32)] };
                    let _ = c.submit(*a, &share, u64::from(*b));
                    continue;
                }
                let _ = c.on_message(&server_message(*kind, *a, *b, bytes));
                for ch in c.channels().iter() {
                    let id = ch.channel_id();
                    if let Some(state) = c.job_state(id) {
                        proptest::prop_assert!(state.future.len() <= MAX_JOBS);
                        let full = c.extranonce_prefix(id).unwrap().len() + ch.extranonce_size();
                        proptest::prop_assert!(full <= MAX_EXTRANONCE);
                    }
                }
                proptest::prop_assert!(c.pending_len() <= MAX_PENDING_SHARES);
            }
        }
    }

    #[test]
    fn pending_shares_are_bounded() {
        let mut c = connected(0);
        open_extended(&mut c, 2, 2);
        let share = Share { job_id: 1, nonce: 1, ntime: 2, version: 3, extranonce: &[0; 8] };
        for tag in 0..(MAX_PENDING_SHARES as u64 + 10) {
            c.submit(2, &share, tag).unwrap();
        }
        let pending = c.pending_shares();
        assert_eq!(pending.len(), MAX_PENDING_SHARES);
        assert_eq!(pending[0].tag, 10);
        assert_eq!(c.forgotten_shares(), 10);
    }

    #[test]
    fn extended_jobs_hash_like_the_client_channel() {
        let mut c = connected(0);
        open_extended(&mut c, 2, 1);
        feed(&mut c, extended_job(1, 10, None)).unwrap();
        feed(&mut c, prev_hash(1, 10)).unwrap();
        let tip = c.job_state(2).unwrap().tip.clone().unwrap();
        assert_eq!(tip.job.coinbase.extranonce_len, PREFIX.len() + 8);
        for rolled in [[0u8; 8], [0x5a; 8], [1, 2, 3, 4, 5, 6, 7, 8]] {
            let work = c.channels().get(2).unwrap().work(&rolled).unwrap();
            let full = [&PREFIX[..], &rolled].concat();
            assert_eq!(merkle_root(&tip.job.coinbase.stripped(&full), &tip.job.merkle_path), work.merkle_root);
            assert_eq!(
                (work.version, work.prev_hash, work.nbits),
                (tip.job.version, tip.prev.prev_hash, tip.prev.nbits)
            );
        }
        // A downstream channel whose prefix extends the upstream one takes the job and
        // validates a share on it.
        let mut down = ServerChannel::new(
            7,
            ChannelKind::Extended { extranonce_size: 6 },
            "down",
            [&PREFIX[..], &[0xee, 0xef]].concat(),
            MAX_TARGET,
            MAX_TARGET,
            Vardiff::new(10.0, 60, 0),
        );
        down.add_job(tip.job_id, tip.job.clone(), None).unwrap();
        down.activate(tip.job_id, tip.prev).unwrap();
        let share = Share {
            job_id: tip.job_id,
            nonce: 5,
            ntime: tip.prev.min_ntime,
            version: tip.job.version,
            extranonce: &[1; 6],
        };
        let accepted = down.validate(&share, 1, tip.prev.min_ntime).unwrap();
        let work = c.channels().get(2).unwrap().work(&[0xee, 0xef, 1, 1, 1, 1, 1, 1]).unwrap();
        let header = crate::channels::hash::header_bytes(
            work.version,
            &work.prev_hash,
            &work.merkle_root,
            work.min_ntime,
            work.nbits,
            5,
        );
        assert_eq!(accepted.hash, crate::channels::hash::sha256d(&header));
    }
}
