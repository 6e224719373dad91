//! The Mining client endpoint for C: `sv2_client_endpoint`, one upstream connection as a
//! miner or firmware uses it, over `sv2::endpoint::client::ClientEndpoint`. SetupConnection,
//! channels opened by request id, jobs, targets and prefixes applied to the channels, sequence
//! numbers and the matching of share answers to the caller's tags are the core's; this module
//! translates.

use sv2::channels::server::Share;
use sv2::codec::{Bytes, Str0_255};
use sv2::endpoint::client::{ClientConfig, ClientEndpoint, ClientError, Event, EventKind};
use sv2::endpoint::Outbox;
use sv2::Message;

use crate::boundary::{arg, arg_mut, array, bytes, guard, guard_void, put, slice};
use crate::endpoint_out::{consume, frame_message, Out};
use crate::messages::{message_to_rust, sv2_message};
use crate::mining::{sv2_work, work};
use crate::session::{sv2_frame, sv2_session};
use crate::sv2_result;
use crate::views::{sv2_bool, sv2_bytes, sv2_option_u32, sv2_u16_list, CField};

/// What a client endpoint sends in SetupConnection (the views are read during
/// sv2_client_endpoint_new() only). The caller allocates it, so it carries its own size: zero
/// it, set `struct_size` to `sizeof(sv2_client_config)`, then the fields. Fields added in later
/// versions go at the end, with zero meaning what the library did before them (docs/ABI.md).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_client_config {
    /// `sizeof(sv2_client_config)` as the caller's header declares it.
    pub struct_size: usize,
    /// Non-zero: REQUIRES_STANDARD_JOBS (standard channels get NewMiningJob, not group jobs).
    pub requires_standard_jobs: sv2_bool,
    /// Non-zero: REQUIRES_VERSION_ROLLING (refuse servers that fix the version).
    pub requires_version_rolling: sv2_bool,
    /// The port the client dialled.
    pub endpoint_port: u16,
    /// The host the client dialled (UTF-8, at most 255 bytes).
    pub endpoint_host: sv2_bytes,
    /// Vendor (UTF-8, at most 255 bytes).
    pub vendor: sv2_bytes,
    /// Hardware version (UTF-8, at most 255 bytes).
    pub hardware_version: sv2_bytes,
    /// Firmware version (UTF-8, at most 255 bytes).
    pub firmware: sv2_bytes,
    /// Device id (UTF-8, at most 255 bytes; empty: none).
    pub device_id: sv2_bytes,
}

/// One upstream Mining Protocol connection, client side.
pub struct sv2_client_endpoint {
    endpoint: ClientEndpoint,
    /// Plaintext frames queued when no session is passed.
    out: Vec<u8>,
    /// The events of the last message handled: the views of their C forms point into them.
    events: Vec<Event>,
    /// How many of them were taken.
    taken: usize,
}

/// What a message from the server changed.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_client_event_kind {
    /// Something this version of libsv2 has no kind for: ignore it.
    Other = 0,
    /// SetupConnection.Success with `flags` (REQUIRES_FIXED_VERSION, REQUIRES_EXTENDED_CHANNELS).
    Connected = 1,
    /// The open `request_id` made channel `channel_id` in group `group_channel_id`, with
    /// `target`, its extranonce prefix in `text` and `extranonce_size` bytes to roll (0:
    /// standard).
    ChannelOpened = 2,
    /// The open `request_id` was refused with the error code in `text`.
    ChannelRefused = 3,
    /// Job `job_id` for standard channel `channel_id` (`min_ntime` absent: a future job).
    StandardJob = 4,
    /// Job `job_id` for extended channel `channel_id` (`min_ntime` absent: a future job).
    ExtendedJob = 5,
    /// A new previous hash on `channel_id`: job `job_id` is active from `min_ntime`.
    PrevHash = 6,
    /// New share `target` on `channel_id` for jobs received after it.
    TargetChanged = 7,
    /// New extranonce prefix (in `text`) on `channel_id` for jobs received after it.
    ExtranoncePrefixChanged = 8,
    /// Share `sequence_number` on `channel_id`, submitted with `tag`, was acknowledged.
    ShareAccepted = 9,
    /// Share `sequence_number` on `channel_id` was rejected with the code in `text`; `tag`
    /// when `has_tag` (not when the share was not pending).
    ShareRejected = 10,
    /// UpdateChannel on `channel_id` was refused with the code in `text`.
    UpdateRefused = 11,
    /// The server closed `channel_id`, for the reason in `text`.
    ChannelClosed = 12,
    /// RequestExtensions.Success: both sides use `extensions` from now on.
    ExtensionsNegotiated = 13,
    /// RequestExtensions.Error: none are used; `extensions` are unsupported,
    /// `required_extensions` required by the server.
    ExtensionsRefused = 14,
    /// The server asks to reconnect to host `text` and `port` (empty and 0: the same).
    Reconnect = 15,
}

/// An event of a client endpoint: `kind` says which fields mean something (the others are
/// zero). libsv2 writes it; its views point into the endpoint and stay valid until the next
/// message or frame is handed to it (or it is freed).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_client_event {
    /// What changed.
    pub kind: sv2_client_event_kind,
    /// CONNECTED: the server's flags.
    pub flags: u32,
    /// The channel (every kind but CONNECTED, CHANNEL_REFUSED, EXTENSIONS_* and RECONNECT).
    pub channel_id: u32,
    /// CHANNEL_OPENED, CHANNEL_REFUSED: the request.
    pub request_id: u32,
    /// CHANNEL_OPENED: the channel's group.
    pub group_channel_id: u32,
    /// SHARE_ACCEPTED, SHARE_REJECTED: the share's sequence number.
    pub sequence_number: u32,
    /// STANDARD_JOB, EXTENDED_JOB, PREV_HASH: the job.
    pub job_id: u32,
    /// STANDARD_JOB, EXTENDED_JOB: absent for a future job; PREV_HASH: the first nTime.
    pub min_ntime: sv2_option_u32,
    /// CHANNEL_OPENED: bytes the client rolls (0 on standard channels).
    pub extranonce_size: u16,
    /// RECONNECT: the port.
    pub port: u16,
    /// CHANNEL_OPENED, TARGET_CHANGED: the share target (little-endian).
    pub target: [u8; 32],
    /// SHARE_ACCEPTED, SHARE_REJECTED: whether `tag` is the share's.
    pub has_tag: bool,
    /// The caller's tag from sv2_client_endpoint_submit().
    pub tag: u64,
    /// CHANNEL_OPENED, EXTRANONCE_PREFIX_CHANGED: the prefix; CHANNEL_REFUSED, SHARE_REJECTED,
    /// UPDATE_REFUSED: the error code; CHANNEL_CLOSED: the reason; RECONNECT: the host.
    pub text: sv2_bytes,
    /// EXTENSIONS_NEGOTIATED: the extensions in use; EXTENSIONS_REFUSED: the unsupported ones.
    pub extensions: sv2_u16_list,
    /// EXTENSIONS_REFUSED: the extensions the server requires.
    pub required_extensions: sv2_u16_list,
}

fn view(b: &[u8]) -> sv2_bytes {
    sv2_bytes { data: b.as_ptr(), len: b.len() }
}

fn list(ids: &[u16]) -> sv2_u16_list {
    sv2_u16_list { items: ids.as_ptr(), wire: std::ptr::null(), count: ids.len() }
}

fn option(v: Option<u32>) -> sv2_option_u32 {
    sv2_option_u32 { present: v.is_some().into(), value: v.unwrap_or(0) }
}

/// The C form of `ev`, whose views point into it.
fn event_to_c(ev: &Event) -> sv2_client_event {
    let f = ev.flat();
    sv2_client_event {
        kind: kind_to_c(f.kind),
        flags: f.flags,
        channel_id: f.channel_id,
        request_id: f.request_id,
        group_channel_id: f.group_channel_id,
        sequence_number: f.sequence_number,
        job_id: f.job_id,
        min_ntime: option(f.min_ntime),
        extranonce_size: f.extranonce_size,
        port: f.port,
        target: f.target,
        has_tag: f.tag.is_some(),
        tag: f.tag.unwrap_or(0),
        // One view for the prefix and the texts: no kind has both.
        text: view(if f.extranonce_prefix.is_empty() { f.text } else { f.extranonce_prefix }),
        extensions: list(f.extensions),
        required_extensions: list(f.required_extensions),
    }
}

fn kind_to_c(kind: EventKind) -> sv2_client_event_kind {
    use sv2_client_event_kind as C;
    use EventKind as K;
    match kind {
        K::Connected => C::Connected,
        K::ChannelOpened => C::ChannelOpened,
        K::ChannelRefused => C::ChannelRefused,
        K::StandardJob => C::StandardJob,
        K::ExtendedJob => C::ExtendedJob,
        K::PrevHash => C::PrevHash,
        K::TargetChanged => C::TargetChanged,
        K::ExtranoncePrefixChanged => C::ExtranoncePrefixChanged,
        K::ShareAccepted => C::ShareAccepted,
        K::ShareRejected => C::ShareRejected,
        K::UpdateRefused => C::UpdateRefused,
        K::ChannelClosed => C::ChannelClosed,
        K::ExtensionsNegotiated => C::ExtensionsNegotiated,
        K::ExtensionsRefused => C::ExtensionsRefused,
        K::Reconnect => C::Reconnect,
        _ => C::Other,
    }
}

/// Why a call or a server message failed, as a result.
fn client_error(e: ClientError) -> sv2_result {
    match e {
        ClientError::SetupRefused { .. } => sv2_result::SetupRefused,
        ClientError::Unexpected(_) | ClientError::UnknownRequest(_) => sv2_result::UnexpectedMessage,
        ClientError::UnknownChannel(_) => sv2_result::InvalidChannelId,
        ClientError::UnknownJob { .. } => sv2_result::UnknownJob,
        ClientError::BadExtranonce { .. } => sv2_result::ExtranonceLayout,
        ClientError::NotConnected => sv2_result::NotSetUp,
        ClientError::ExtendedRequired => sv2_result::ExtendedChannelsRequired,
        ClientError::TooManyOpening => sv2_result::TooManyRequests,
        ClientError::Codec(c) => c.into(),
        _ => sv2_result::Internal,
    }
}

/// UTF-8 text of at most 255 bytes from a view.
///
/// # Safety
/// The view is valid during the call.
unsafe fn text(b: &sv2_bytes) -> Result<String, sv2_result> {
    let b: Bytes<'_, 255> = b.to_rust()?;
    std::str::from_utf8(b.as_bytes()).map(str::to_string).map_err(|_| sv2_result::InvalidArgument)
}

/// UTF-8 text of at most 255 bytes from `(ptr, len)`.
///
/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn str_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a str, sv2_result> {
    let b = Str0_255::new(bytes(ptr, len)?).map_err(sv2_result::from)?;
    std::str::from_utf8(b.as_bytes()).map_err(|_| sv2_result::InvalidArgument)
}

/// A connection before its SetupConnection, which sv2_client_endpoint_setup_connection()
/// sends. SV2_RESULT_INVALID_ARGUMENT for a `struct_size` other than this version's or text
/// that is not UTF-8; SV2_RESULT_TOO_LONG for text over 255 bytes.
///
/// @param[in] config  what to send in SetupConnection (read during the call only)
/// @param[out] out  receives the endpoint; free it with sv2_client_endpoint_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `config` and `out` are valid; the config's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_new(
    config: *const sv2_client_config,
    out: *mut *mut sv2_client_endpoint,
) -> sv2_result {
    guard(|| {
        let (c, out) = (arg(config)?, arg_mut(out)?);
        // One layout so far; an older, shorter one will be read with zeros for newer fields.
        if c.struct_size != std::mem::size_of::<sv2_client_config>() {
            return Err(sv2_result::InvalidArgument);
        }
        let config = ClientConfig {
            requires_standard_jobs: c.requires_standard_jobs.get(),
            requires_version_rolling: c.requires_version_rolling.get(),
            endpoint_host: text(&c.endpoint_host)?,
            endpoint_port: c.endpoint_port,
            vendor: text(&c.vendor)?,
            hardware_version: text(&c.hardware_version)?,
            firmware: text(&c.firmware)?,
            device_id: text(&c.device_id)?,
        };
        let endpoint = ClientEndpoint::new(config);
        *out = Box::into_raw(Box::new(sv2_client_endpoint { endpoint, out: Vec::new(), events: Vec::new(), taken: 0 }));
        Ok(())
    })
}

/// Sends SetupConnection (Mining Protocol, version 2), the first message of the connection.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @return SV2_RESULT_OK; a session's errors
///
/// # Safety
/// `endpoint` is valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_setup_connection(
    endpoint: *mut sv2_client_endpoint,
    session: *mut sv2_session,
) -> sv2_result {
    guard(|| {
        let e = arg_mut(endpoint)?;
        let m = e.endpoint.setup_connection();
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends OpenStandardMiningChannel under a new request id, written to `request_id`; the
/// answer comes as a CHANNEL_OPENED or CHANNEL_REFUSED event with that id.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] user_identity  the user (and worker), UTF-8 (NULL when `user_identity_len` is 0)
/// @param user_identity_len  bytes at `user_identity`, at most 255
/// @param nominal_hash_rate  the device's hashrate in hashes per second
/// @param[in] max_target  32 bytes: the easiest share target the device accepts
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] request_id  receives the request id
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_SET_UP before SetupConnection.Success,
/// SV2_RESULT_EXTENDED_CHANNELS_REQUIRED, SV2_RESULT_TOO_MANY_REQUESTS (256 opens unanswered),
/// SV2_RESULT_TOO_LONG, SV2_RESULT_INVALID_ARGUMENT (not UTF-8), a session's errors
///
/// # Safety
/// `endpoint`, `max_target` and `request_id` are valid; `user_identity` points to
/// `user_identity_len` bytes; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_open_standard(
    endpoint: *mut sv2_client_endpoint,
    user_identity: *const u8,
    user_identity_len: usize,
    nominal_hash_rate: f32,
    max_target: *const u8,
    session: *mut sv2_session,
    request_id: *mut u32,
) -> sv2_result {
    guard(|| {
        let (e, user, max_target) =
            (arg_mut(endpoint)?, str_arg(user_identity, user_identity_len)?, array(max_target)?);
        let id = arg_mut(request_id)?;
        let m = e.endpoint.open_standard(user, nominal_hash_rate, *max_target).map_err(client_error)?;
        *id = m.request_id;
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends OpenExtendedMiningChannel under a new request id, as
/// sv2_client_endpoint_open_standard() does.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] user_identity  the user (and worker), UTF-8 (NULL when `user_identity_len` is 0)
/// @param user_identity_len  bytes at `user_identity`, at most 255
/// @param nominal_hash_rate  the device's hashrate in hashes per second
/// @param[in] max_target  32 bytes: the easiest share target the device accepts
/// @param min_extranonce_size  the fewest extranonce bytes the device needs to roll
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] request_id  receives the request id
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_SET_UP, SV2_RESULT_TOO_MANY_REQUESTS,
/// SV2_RESULT_TOO_LONG, SV2_RESULT_INVALID_ARGUMENT, a session's errors
///
/// # Safety
/// `endpoint`, `max_target` and `request_id` are valid; `user_identity` points to
/// `user_identity_len` bytes; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_open_extended(
    endpoint: *mut sv2_client_endpoint,
    user_identity: *const u8,
    user_identity_len: usize,
    nominal_hash_rate: f32,
    max_target: *const u8,
    min_extranonce_size: u16,
    session: *mut sv2_session,
    request_id: *mut u32,
) -> sv2_result {
    guard(|| {
        let (e, user, max_target) =
            (arg_mut(endpoint)?, str_arg(user_identity, user_identity_len)?, array(max_target)?);
        let id = arg_mut(request_id)?;
        let m = e
            .endpoint
            .open_extended(user, nominal_hash_rate, *max_target, min_extranonce_size)
            .map_err(client_error)?;
        *id = m.request_id;
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends RequestExtensions for `extensions` (e.g. 0x0002, worker-specific hashrate tracking);
/// the answer comes as an EXTENSIONS_NEGOTIATED or EXTENSIONS_REFUSED event.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] extensions  the extension ids (NULL when `count` is 0)
/// @param count  ids at `extensions`, at most 255
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_SET_UP, SV2_RESULT_TOO_LONG, a session's errors
///
/// # Safety
/// `endpoint` is valid; `extensions` points to `count` ids; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_request_extensions(
    endpoint: *mut sv2_client_endpoint,
    extensions: *const u16,
    count: usize,
    session: *mut sv2_session,
) -> sv2_result {
    guard(|| {
        let (e, ids) = (arg_mut(endpoint)?, slice(extensions, count)?);
        let m = e.endpoint.request_extensions(ids).map_err(client_error)?;
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends UpdateChannel for an open channel: its new nominal hashrate and easiest target.
///
/// @param[in,out] endpoint  the endpoint
/// @param channel_id  the channel
/// @param nominal_hash_rate  the device's hashrate in hashes per second
/// @param[in] max_target  32 bytes: the easiest share target the device accepts
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID, a session's errors
///
/// # Safety
/// `endpoint` and `max_target` are valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_update_channel(
    endpoint: *mut sv2_client_endpoint,
    channel_id: u32,
    nominal_hash_rate: f32,
    max_target: *const u8,
    session: *mut sv2_session,
) -> sv2_result {
    guard(|| {
        let (e, max_target) = (arg_mut(endpoint)?, array(max_target)?);
        let m = e.endpoint.update_channel(channel_id, nominal_hash_rate, *max_target).map_err(client_error)?;
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends CloseChannel and forgets the channel (its shares not answered yet stay pending).
///
/// @param[in,out] endpoint  the endpoint
/// @param channel_id  the channel
/// @param[in] reason  why, UTF-8 (NULL when `reason_len` is 0)
/// @param reason_len  bytes at `reason`, at most 255
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID, SV2_RESULT_TOO_LONG,
/// SV2_RESULT_INVALID_ARGUMENT, a session's errors
///
/// # Safety
/// `endpoint` is valid; `reason` points to `reason_len` bytes; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_close_channel(
    endpoint: *mut sv2_client_endpoint,
    channel_id: u32,
    reason: *const u8,
    reason_len: usize,
    session: *mut sv2_session,
) -> sv2_result {
    guard(|| {
        let (e, reason) = (arg_mut(endpoint)?, str_arg(reason, reason_len)?);
        let m = e.endpoint.close_channel(channel_id, reason).map_err(client_error)?;
        Out::new(session, &mut e.out).push(&m.into())
    })
}

/// Sends a share on an open channel (SubmitSharesStandard or SubmitSharesExtended, by the
/// channel's kind) under the next sequence number, written to `sequence_number`. Its answer
/// comes as a SHARE_ACCEPTED or SHARE_REJECTED event carrying `tag`.
///
/// @param[in,out] endpoint  the endpoint
/// @param channel_id  the channel
/// @param job_id  the work's job
/// @param nonce  the header's nonce
/// @param ntime  the header's nTime
/// @param version  the header's version
/// @param[in] extranonce  the rolled extranonce on an extended channel (NULL when
/// `extranonce_len` is 0; ignored on standard channels)
/// @param extranonce_len  bytes at `extranonce`, at most 32
/// @param tag  the caller's tag for the share
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] sequence_number  receives the share's sequence number
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID, SV2_RESULT_TOO_LONG, a session's
/// errors
///
/// # Safety
/// `endpoint` and `sequence_number` are valid; `extranonce` points to `extranonce_len` bytes;
/// `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_submit(
    endpoint: *mut sv2_client_endpoint,
    channel_id: u32,
    job_id: u32,
    nonce: u32,
    ntime: u32,
    version: u32,
    extranonce: *const u8,
    extranonce_len: usize,
    tag: u64,
    session: *mut sv2_session,
    sequence_number: *mut u32,
) -> sv2_result {
    guard(|| {
        let (e, extranonce, seq) = (arg_mut(endpoint)?, bytes(extranonce, extranonce_len)?, arg_mut(sequence_number)?);
        let share = Share { job_id, nonce, ntime, version, extranonce };
        let m = e.endpoint.submit(channel_id, &share, tag).map_err(client_error)?;
        *seq = match &m {
            Message::SubmitSharesStandard(s) => s.sequence_number,
            Message::SubmitSharesExtended(s) => s.sequence_number,
            _ => return Err(sv2_result::Internal),
        };
        Out::new(session, &mut e.out).push(&m)
    })
}

/// Handles `msg` once every pointer is checked.
unsafe fn handle(endpoint: *mut sv2_client_endpoint, msg: &Message<'_>, events: *mut usize) -> Result<(), sv2_result> {
    let (e, n) = (arg_mut(endpoint)?, arg_mut(events)?);
    let new = e.endpoint.on_message(msg).map_err(client_error)?;
    *n = new.len();
    (e.events, e.taken) = (new, 0);
    Ok(())
}

/// Handles one message from the server; how many events it made goes to `events` (take them
/// with sv2_client_endpoint_next_event(); the events of the message before are dropped, taken
/// or not). An error means the connection cannot go on: close it.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] msg  a message from the server (read during the call only)
/// @param[out] events  receives the number of events
/// @return SV2_RESULT_OK; SV2_RESULT_SETUP_REFUSED (SetupConnection.Error: its flags and code
/// say why), SV2_RESULT_UNEXPECTED_MESSAGE (a message out of place, an answer to a request not
/// sent), SV2_RESULT_UNKNOWN_JOB (SetNewPrevHash for a job an extended channel never got),
/// SV2_RESULT_EXTRANONCE_LAYOUT (prefix and size over 32 bytes), a view over its type's limit
///
/// # Safety
/// `endpoint`, `msg` and `events` are valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_on_message(
    endpoint: *mut sv2_client_endpoint,
    msg: *const sv2_message,
    events: *mut usize,
) -> sv2_result {
    guard(|| handle(endpoint, &message_to_rust(msg)?, events))
}

/// As sv2_client_endpoint_on_message() for a received frame, decoded here (from
/// sv2_session_next_frame() or sv2_frame_decoder_next()). A frame that does not decode gives
/// its decode error and changes nothing.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] frame  a frame from the server (read during the call only)
/// @param[out] events  receives the number of events
/// @return as sv2_client_endpoint_on_message(); a decode error (100–106)
///
/// # Safety
/// `endpoint`, `frame` and `events` are valid; the frame's payload is valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_on_frame(
    endpoint: *mut sv2_client_endpoint,
    frame: *const sv2_frame,
    events: *mut usize,
) -> sv2_result {
    guard(|| {
        // NULL before a decode error, as everywhere.
        if endpoint.is_null() || events.is_null() {
            return Err(sv2_result::NullParameter);
        }
        handle(endpoint, &frame_message(frame)?, events)
    })
}

/// The next event of the last message handled into `out`, in order; SV2_RESULT_NOT_FOUND when
/// none is left. Its views point into the endpoint until the next message or frame is handed
/// to it.
///
/// @param[in,out] endpoint  the endpoint
/// @param[out] out  receives the event
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `endpoint` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_next_event(
    endpoint: *mut sv2_client_endpoint,
    out: *mut sv2_client_event,
) -> sv2_result {
    guard(|| {
        let e = arg_mut(endpoint)?;
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let ev = e.events.get(e.taken).ok_or(sv2_result::NotFound)?;
        e.taken += 1;
        put(out, event_to_c(ev))
    })
}

/// The work to hash now on an open channel, with `extranonce` rolled (exactly the channel's
/// extranonce size; ignored on standard channels), as sv2_client_channel_work() gives it.
///
/// @param[in] endpoint  the endpoint
/// @param channel_id  the channel
/// @param[in] extranonce  the rolled extranonce (NULL when `extranonce_len` is 0)
/// @param extranonce_len  bytes at `extranonce`
/// @param[out] out  receives the work
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID, SV2_RESULT_NEED_MORE_DATA (no active
/// job yet), SV2_RESULT_INVALID_ARGUMENT (an extranonce of the wrong size)
///
/// # Safety
/// `endpoint` and `out` are valid; `extranonce` points to `extranonce_len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_work(
    endpoint: *const sv2_client_endpoint,
    channel_id: u32,
    extranonce: *const u8,
    extranonce_len: usize,
    out: *mut sv2_work,
) -> sv2_result {
    guard(|| {
        let (e, extranonce, out) = (arg(endpoint)?, bytes(extranonce, extranonce_len)?, arg_mut(out)?);
        let ch = e.endpoint.channels().get(channel_id).ok_or(sv2_result::InvalidChannelId)?;
        *out = work(ch, extranonce)?;
        Ok(())
    })
}

/// Points `data`/`len` at the plaintext frames queued by calls made with a NULL session (valid
/// until the next call on `endpoint`). After using some, call
/// sv2_client_endpoint_consume_output().
///
/// @param[in] endpoint  the endpoint
/// @param[out] data  receives a pointer to the queued bytes
/// @param[out] len  receives their number (0: nothing queued)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `endpoint`, `data` and `len` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_pending_output(
    endpoint: *const sv2_client_endpoint,
    data: *mut *const u8,
    len: *mut usize,
) -> sv2_result {
    guard(|| {
        let (e, d, l) = (arg(endpoint)?, arg_mut(data)?, arg_mut(len)?);
        (*d, *l) = (e.out.as_ptr(), e.out.len());
        Ok(())
    })
}

/// Drops the first `n` queued bytes (more than queued empties the output).
///
/// @param[in,out] endpoint  the endpoint
/// @param n  bytes used
/// @return SV2_RESULT_OK
///
/// # Safety
/// `endpoint` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_endpoint_consume_output(
    endpoint: *mut sv2_client_endpoint,
    n: usize,
) -> sv2_result {
    guard(|| {
        consume(&mut arg_mut(endpoint)?.out, n);
        Ok(())
    })
}

/// Releases an endpoint (NULL does nothing).
///
/// @param[in] endpoint  an endpoint from sv2_client_endpoint_new(), or NULL
///
/// # Safety
/// `endpoint` is NULL or came from sv2_client_endpoint_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_client_endpoint_free(endpoint: *mut sv2_client_endpoint) {
    guard_void(|| {
        if !endpoint.is_null() {
            drop(Box::from_raw(endpoint));
        }
    })
}
