//! The Mining server endpoint for C: `sv2_server_endpoint`, one downstream connection as a pool
//! or proxy serves it, over `sv2::endpoint::server::ServerEndpoint`. SetupConnection
//! negotiation, channel admission, the jobs a new channel needs, UpdateChannel and
//! CloseChannel, share validation and the spec's error codes are the core's; this module
//! translates. Its options are an opaque `sv2_server_options` with setters (docs/ABI.md: a
//! group of options likely to grow). With work selection on, it also takes SetCustomMiningJob
//! (checked by the core against a `sv2_token_store` its Job Declaration servers share) and
//! completes the block a share on a Full-Template custom job finds.

use sv2::channels::server::FoundBlock;
use sv2::endpoint::server::{EndpointError, Event, Now, ServerConfig, ServerEndpoint, WorkSelection};
use sv2::Message;

use std::sync::{Arc, Mutex};

use sv2::channels::extranonce::ExtranonceAllocator;

use crate::boundary::{arg, arg_mut, guard, guard_void, put};
use crate::channels_jobs::{sv2_extranonce_allocator, sv2_job_factory};
use crate::channels_server::{accepted, solution, sv2_accepted_share};
use crate::endpoint_out::{consume, frame_message, Out};
use crate::jd_server::sv2_jd_server_options;
use crate::jd_store::sv2_token_store;
use crate::messages::{message_to_rust, sv2_message};
use crate::session::{sv2_frame, sv2_session};
use crate::sv2_result;
use crate::views::{sv2_bool, sv2_bytes};

/// What a server endpoint offers and allows on its connection. Made with defaults by
/// sv2_server_options_new(); read by sv2_server_endpoint_new() only.
pub struct sv2_server_options {
    config: ServerConfig,
    /// Set by sv2_server_options_set_work_selection().
    work: Option<WorkSelection>,
}

/// One downstream Mining Protocol connection, server side: messages in, answers out, events
/// for the caller to act on.
pub struct sv2_server_endpoint {
    endpoint: ServerEndpoint<Arc<Mutex<ExtranonceAllocator>>>,
    /// Plaintext frames queued when no session is passed.
    out: Vec<u8>,
    /// The block the last share handled found, for sv2_server_endpoint_solution().
    block: Option<FoundBlock>,
    /// The job id of the last share handled, to find its custom job.
    share_job: Option<u32>,
    /// The custom job the last message set, for sv2_server_endpoint_last_custom_job().
    custom_job: Option<u32>,
    /// The serialized block sv2_server_endpoint_custom_block() points into.
    custom_block: Vec<u8>,
}

/// What a message to a server endpoint asks of the caller.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_server_event_kind {
    /// Answered in the output, or a message a server ignores: nothing to do.
    Handled = 0,
    /// SetupConnection accepted with `flags` (the SetupConnection.Success flags sent).
    SetUp = 1,
    /// Channel `channel_id` was opened; its Success and jobs are in the output.
    ChannelOpened = 2,
    /// The open `request_id` was refused with `error_code` (the Error is in the output).
    OpenRefused = 3,
    /// CloseChannel removed `count` channels.
    ChannelsClosed = 4,
    /// A valid share (`channel_id`, `sequence_number`, `share`): record it, then send
    /// sv2_server_endpoint_take_successes(). When `share.block` is set, send
    /// sv2_server_endpoint_solution() to the template provider at once; on a custom job (no
    /// template: sv2_server_endpoint_solution() gives SV2_RESULT_NOT_FOUND) submit
    /// sv2_server_endpoint_custom_block() to the node instead.
    ShareAccepted = 5,
    /// An invalid share on `channel_id`: `error` and `error_code` say why (its
    /// SubmitShares.Error is in the output).
    ShareRejected = 6,
    /// A SetCustomMiningJob on `channel_id` was accepted (its Success is in the output):
    /// sv2_server_endpoint_last_custom_job() gives the job id and user. Only an endpoint made
    /// with sv2_server_options_set_work_selection() gives it.
    CustomJobAccepted = 7,
    /// A SetCustomMiningJob naming `channel_id` was refused with `error_code` (its Error is in
    /// the output; the token stays unspent). Without work selection every SetCustomMiningJob is
    /// refused with "unsupported-feature-flags".
    CustomJobRefused = 8,
}

/// An event of a server endpoint: `kind` says which fields mean something (the others are
/// zero). libsv2 writes it; its views point to static memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_server_event {
    /// What happened.
    pub kind: sv2_server_event_kind,
    /// SET_UP: the SetupConnection.Success flags sent.
    pub flags: u32,
    /// CHANNEL_OPENED, SHARE_ACCEPTED, SHARE_REJECTED, CUSTOM_JOB_ACCEPTED, CUSTOM_JOB_REFUSED:
    /// the channel.
    pub channel_id: u32,
    /// OPEN_REFUSED: the request refused.
    pub request_id: u32,
    /// SHARE_ACCEPTED: the share's sequence number.
    pub sequence_number: u32,
    /// CHANNELS_CLOSED: how many channels CloseChannel removed.
    pub count: usize,
    /// SHARE_REJECTED: the sv2_result (300–308) naming the share's error.
    pub error: i32,
    /// OPEN_REFUSED, SHARE_REJECTED, CUSTOM_JOB_REFUSED: the spec's error code sent (static
    /// text).
    pub error_code: sv2_bytes,
    /// SHARE_ACCEPTED: the share.
    pub share: sv2_accepted_share,
}

fn static_text(s: &'static str) -> sv2_bytes {
    sv2_bytes { data: s.as_ptr(), len: s.len() }
}

fn event_to_c(ev: Event, block: &mut Option<FoundBlock>, custom_job: &mut Option<u32>) -> sv2_server_event {
    let mut c = sv2_server_event {
        kind: sv2_server_event_kind::Handled,
        flags: 0,
        channel_id: 0,
        request_id: 0,
        sequence_number: 0,
        count: 0,
        error: 0,
        error_code: sv2_bytes { data: std::ptr::null(), len: 0 },
        share: sv2_accepted_share { hash: [0; 32], target: [0; 32], difficulty: 0.0, block: false },
    };
    match ev {
        Event::SetUp { flags } => (c.kind, c.flags) = (sv2_server_event_kind::SetUp, flags),
        Event::ChannelOpened { channel_id } => {
            (c.kind, c.channel_id) = (sv2_server_event_kind::ChannelOpened, channel_id)
        }
        Event::OpenRefused { request_id, code } => {
            (c.kind, c.request_id, c.error_code) = (sv2_server_event_kind::OpenRefused, request_id, static_text(code))
        }
        Event::ChannelsClosed { count } => (c.kind, c.count) = (sv2_server_event_kind::ChannelsClosed, count),
        Event::ShareAccepted { channel_id, sequence_number, accepted: a } => {
            (c.kind, c.channel_id, c.sequence_number) =
                (sv2_server_event_kind::ShareAccepted, channel_id, sequence_number);
            c.share = accepted(*a, block);
        }
        Event::ShareRejected { channel_id, error } => {
            (c.kind, c.channel_id) = (sv2_server_event_kind::ShareRejected, channel_id);
            (c.error, c.error_code) = (sv2_result::from(error) as i32, static_text(error.code()));
        }
        Event::CustomJobAccepted { channel_id, job_id } => {
            (c.kind, c.channel_id) = (sv2_server_event_kind::CustomJobAccepted, channel_id);
            *custom_job = Some(job_id);
        }
        Event::CustomJobRefused { channel_id, code } => {
            (c.kind, c.channel_id, c.error_code) =
                (sv2_server_event_kind::CustomJobRefused, channel_id, static_text(code))
        }
        _ => {}
    }
    c
}

/// Why the connection must close, as a result.
fn endpoint_error(e: EndpointError<sv2_result>) -> sv2_result {
    match e {
        EndpointError::Outbox(r) => r,
        EndpointError::SetupRefused(_) => sv2_result::SetupRefused,
        EndpointError::NotSetUp(_) => sv2_result::NotSetUp,
        EndpointError::SecondSetup => sv2_result::UnexpectedMessage,
        EndpointError::InvalidShareFlood(_) => sv2_result::InvalidShareFlood,
        EndpointError::TooManyShares { .. } => sv2_result::TooManyShares,
        _ => sv2_result::Internal,
    }
}

/// Options with the library's defaults: version rolling allowed, standard and extended
/// channels, 64 channels a connection, vardiff aiming at 10 shares a minute over windows of at
/// least 60 s, 1 Mh/s assumed for a nominal hashrate of 0, difficulty at least 0.001, a
/// connection closed after more than 600 invalid shares in a minute, 65 536 shares a channel
/// on one tip.
///
/// @param[out] out  receives the options; free them with sv2_server_options_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_new(out: *mut *mut sv2_server_options) -> sv2_result {
    guard(|| {
        let out = arg_mut(out)?;
        *out = Box::into_raw(Box::new(sv2_server_options { config: ServerConfig::default(), work: None }));
        Ok(())
    })
}

/// Whether miners may roll the BIP320 version bits (false: SetupConnection.Success carries
/// REQUIRES_FIXED_VERSION; give the job factory the same, see sv2_job_factory_new()).
///
/// @param[in,out] options  the options
/// @param allowed  non-zero: version rolling allowed
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_version_rolling(
    options: *mut sv2_server_options,
    allowed: sv2_bool,
) -> sv2_result {
    guard(|| {
        arg_mut(options)?.config.version_rolling = allowed.get();
        Ok(())
    })
}

/// Whether to refuse standard channels (SetupConnection.Success then carries
/// REQUIRES_EXTENDED_CHANNELS, and a SetupConnection that sets REQUIRES_STANDARD_JOBS is
/// refused).
///
/// @param[in,out] options  the options
/// @param extended_only  non-zero: extended channels only
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_extended_channels_only(
    options: *mut sv2_server_options,
    extended_only: sv2_bool,
) -> sv2_result {
    guard(|| {
        arg_mut(options)?.config.extended_channels_only = extended_only.get();
        Ok(())
    })
}

/// How many channels one connection may have open at once (more opens are refused with
/// "too-many-channels").
///
/// @param[in,out] options  the options
/// @param max_channels  the limit
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_max_channels(
    options: *mut sv2_server_options,
    max_channels: usize,
) -> sv2_result {
    guard(|| {
        arg_mut(options)?.config.max_channels = max_channels;
        Ok(())
    })
}

/// Vardiff: the share rate each channel aims at, its shortest window, the hashrate assumed for
/// a channel opened with a nominal hashrate of 0, and the easiest difficulty any channel gets.
/// SV2_RESULT_INVALID_ARGUMENT (options unchanged) unless the rate, the hashrate and the
/// difficulty are positive and finite and the window at least one second.
///
/// @param[in,out] options  the options
/// @param shares_per_minute  the share rate to aim at
/// @param window_secs  the shortest vardiff window, in seconds
/// @param default_hashrate  hashes per second assumed for a nominal hashrate of 0
/// @param min_difficulty  the easiest share difficulty
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_vardiff(
    options: *mut sv2_server_options,
    shares_per_minute: f64,
    window_secs: u64,
    default_hashrate: f64,
    min_difficulty: f64,
) -> sv2_result {
    guard(|| {
        let o = &mut arg_mut(options)?.config;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(shares_per_minute) || !positive(default_hashrate) || !positive(min_difficulty) || window_secs == 0
        {
            return Err(sv2_result::InvalidArgument);
        }
        (o.shares_per_minute, o.vardiff_window_secs) = (shares_per_minute, window_secs);
        (o.default_hashrate, o.min_difficulty) = (default_hashrate, min_difficulty);
        Ok(())
    })
}

/// Limits on shares: invalid shares a connection may send within a minute (while sending fewer
/// valid ones) before the endpoint gives SV2_RESULT_INVALID_SHARE_FLOOD, and shares one channel
/// may have accepted on one tip before SV2_RESULT_TOO_MANY_SHARES.
///
/// @param[in,out] options  the options
/// @param max_invalid_per_minute  invalid shares allowed within a minute
/// @param max_per_tip  shares one channel may have accepted on one tip
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_share_limits(
    options: *mut sv2_server_options,
    max_invalid_per_minute: u32,
    max_per_tip: usize,
) -> sv2_result {
    guard(|| {
        let o = &mut arg_mut(options)?.config;
        (o.max_invalid_shares_per_minute, o.max_shares_per_tip) = (max_invalid_per_minute, max_per_tip);
        Ok(())
    })
}

/// Work selection: endpoints made with these options accept REQUIRES_WORK_SELECTION in
/// SetupConnection and take SetCustomMiningJob on that connection's extended channels, each
/// checked against `store` (its token, and the job declared with it) and the pool outputs of
/// `jd_options`, on the tip of the job factory the endpoint is given (docs/JOB_DECLARATION.md
/// lists the checks and error codes). The events are CUSTOM_JOB_ACCEPTED and
/// CUSTOM_JOB_REFUSED; a share on an accepted job is validated and credited like any other.
///
/// @param[in,out] options  the options
/// @param[in] store  the token store the pool's sv2_jd_server handles share (the endpoints
/// keep their own handle on its tokens)
/// @param[in] jd_options  the JDS options whose pool outputs (payout script, required scripts,
/// min payout) every custom coinbase must pay (copied)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options`, `store` and `jd_options` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_options_set_work_selection(
    options: *mut sv2_server_options,
    store: *const sv2_token_store,
    jd_options: *const sv2_jd_server_options,
) -> sv2_result {
    guard(|| {
        let (o, s, jd) = (arg_mut(options)?, arg(store)?, arg(jd_options)?);
        let pool_outputs = Arc::new(jd.0.pool_outputs.clone());
        o.work = Some(WorkSelection { tokens: Arc::clone(&s.tokens), pool_outputs });
        Ok(())
    })
}

/// Releases options (NULL does nothing). Endpoints made with them keep their own copy.
///
/// @param[in] options  options from sv2_server_options_new(), or NULL
///
/// # Safety
/// `options` is NULL or came from sv2_server_options_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_server_options_free(options: *mut sv2_server_options) {
    guard_void(|| {
        if !options.is_null() {
            drop(Box::from_raw(options));
        }
    })
}

/// A connection before its SetupConnection. Channels take their extranonce prefixes from
/// `prefixes`, which every endpoint of a server shares (it stays valid as long as an endpoint
/// uses it, also after sv2_extranonce_allocator_free()); a closed channel's prefix goes back
/// to it, and so do all of an endpoint's when it is freed. Its full length must be the job
/// factory's extranonce_len.
///
/// @param[in] options  the options (copied)
/// @param[in,out] prefixes  the allocator of extranonce prefixes
/// @param[out] out  receives the endpoint; free it with sv2_server_endpoint_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options`, `prefixes` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_new(
    options: *const sv2_server_options,
    prefixes: *mut sv2_extranonce_allocator,
    out: *mut *mut sv2_server_endpoint,
) -> sv2_result {
    guard(|| {
        let (o, p, out) = (arg(options)?, arg_mut(prefixes)?, arg_mut(out)?);
        let mut endpoint = ServerEndpoint::new(o.config.clone(), Arc::clone(&p.0));
        if let Some(work) = &o.work {
            endpoint = endpoint.with_work_selection(work.clone());
        }
        *out = Box::into_raw(Box::new(sv2_server_endpoint {
            endpoint,
            out: Vec::new(),
            block: None,
            share_job: None,
            custom_job: None,
            custom_block: Vec::new(),
        }));
        Ok(())
    })
}

/// Handles `msg` once every pointer is checked.
unsafe fn handle(
    endpoint: *mut sv2_server_endpoint,
    jobs: *const sv2_job_factory,
    msg: &Message<'_>,
    now: Now,
    session: *mut sv2_session,
    out: *mut sv2_server_event,
) -> Result<(), sv2_result> {
    let (e, jobs) = (arg_mut(endpoint)?, &arg(jobs)?.jobs);
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    (e.block, e.custom_job) = (None, None);
    e.share_job = match msg {
        Message::SubmitSharesStandard(s) => Some(s.job_id),
        Message::SubmitSharesExtended(s) => Some(s.job_id),
        _ => None,
    };
    let event = e.endpoint.on_message(msg, jobs, now, &mut Out::new(session, &mut e.out)).map_err(endpoint_error)?;
    put(out, event_to_c(event, &mut e.block, &mut e.custom_job))
}

/// Handles one message from the client at monotonic time `now_mono` (seconds: vardiff and the
/// invalid-share minute) and unix time `now_unix` (a share's nTime). Answers go to `session`,
/// or to the endpoint's output when `session` is NULL; what the caller must do goes to `out`.
/// A new channel gets its jobs from `jobs`. An error means the connection must close: send what
/// is queued (SV2_RESULT_SETUP_REFUSED has queued the SetupConnection.Error), then close.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] jobs  the job factory whose jobs the connection mines
/// @param[in] msg  a message from the client (read during the call only)
/// @param now_mono  monotonic time in seconds
/// @param now_unix  unix time in seconds
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] out  receives the event
/// @return SV2_RESULT_OK; SV2_RESULT_SETUP_REFUSED, SV2_RESULT_NOT_SET_UP (a message before
/// SetupConnection), SV2_RESULT_UNEXPECTED_MESSAGE (a second SetupConnection),
/// SV2_RESULT_INVALID_SHARE_FLOOD, SV2_RESULT_TOO_MANY_SHARES, a session's errors; a message's
/// view over its type's limit
///
/// # Safety
/// `endpoint`, `jobs`, `msg` and `out` are valid; `session` is NULL or valid; the message's
/// views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_on_message(
    endpoint: *mut sv2_server_endpoint,
    jobs: *const sv2_job_factory,
    msg: *const sv2_message,
    now_mono: u64,
    now_unix: u32,
    session: *mut sv2_session,
    out: *mut sv2_server_event,
) -> sv2_result {
    guard(|| {
        let m = message_to_rust(msg)?;
        handle(endpoint, jobs, &m, Now { mono_secs: now_mono, unix_secs: now_unix }, session, out)
    })
}

/// As sv2_server_endpoint_on_message() for a received frame, decoded here (from
/// sv2_session_next_frame() or sv2_frame_decoder_next()). A frame that does not decode gives
/// its decode error and changes nothing.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] jobs  the job factory whose jobs the connection mines
/// @param[in] frame  a frame from the client (read during the call only)
/// @param now_mono  monotonic time in seconds
/// @param now_unix  unix time in seconds
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] out  receives the event
/// @return as sv2_server_endpoint_on_message(); a decode error (100–106)
///
/// # Safety
/// `endpoint`, `jobs`, `frame` and `out` are valid; `session` is NULL or valid; the frame's
/// payload is valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_on_frame(
    endpoint: *mut sv2_server_endpoint,
    jobs: *const sv2_job_factory,
    frame: *const sv2_frame,
    now_mono: u64,
    now_unix: u32,
    session: *mut sv2_session,
    out: *mut sv2_server_event,
) -> sv2_result {
    guard(|| {
        // NULL before a decode error, as everywhere.
        if endpoint.is_null() || jobs.is_null() || out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let m = frame_message(frame)?;
        handle(endpoint, jobs, &m, Now { mono_secs: now_mono, unix_secs: now_unix }, session, out)
    })
}

/// Brings every channel up to `jobs` after the factory took a message: a new tip's job and
/// SetNewPrevHash, then jobs not sent yet. A job a channel cannot take is skipped and counted
/// (the same job reaches every connection, so it does not close them).
///
/// @param[in,out] endpoint  the endpoint
/// @param[in] jobs  the job factory
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] tip_sent  receives whether a new tip went out to channels
/// @param[out] skipped  receives how many jobs were skipped
/// @return SV2_RESULT_OK; a session's errors (close the connection)
///
/// # Safety
/// `endpoint`, `jobs`, `tip_sent` and `skipped` are valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_sync(
    endpoint: *mut sv2_server_endpoint,
    jobs: *const sv2_job_factory,
    session: *mut sv2_session,
    tip_sent: *mut bool,
    skipped: *mut usize,
) -> sv2_result {
    guard(|| {
        let (e, jobs, skipped) = (arg_mut(endpoint)?, &arg(jobs)?.jobs, arg_mut(skipped)?);
        if tip_sent.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let synced = e.endpoint.sync(jobs, &mut Out::new(session, &mut e.out)).map_err(endpoint_error)?;
        *skipped = synced.skipped.len();
        put(tip_sent, synced.tip_sent)
    })
}

/// Runs vardiff on every channel at monotonic time `now_mono` and sends the SetTargets it
/// calls for. Call it every few seconds.
///
/// @param[in,out] endpoint  the endpoint
/// @param now_mono  monotonic time in seconds
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] sent  receives how many SetTarget messages were sent
/// @return SV2_RESULT_OK; a session's errors (close the connection)
///
/// # Safety
/// `endpoint` and `sent` are valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_retarget(
    endpoint: *mut sv2_server_endpoint,
    now_mono: u64,
    session: *mut sv2_session,
    sent: *mut usize,
) -> sv2_result {
    guard(|| {
        let (e, sent) = (arg_mut(endpoint)?, arg_mut(sent)?);
        let now = Now { mono_secs: now_mono, unix_secs: 0 };
        *sent = e.endpoint.retarget(now, &mut Out::new(session, &mut e.out)).map_err(endpoint_error)?;
        Ok(())
    })
}

/// Sends the SubmitShares.Success messages for every share accepted since the last call (one
/// per channel that has any). Call it once the shares are recorded, so that a miner is told
/// only of shares the pool will not lose.
///
/// @param[in,out] endpoint  the endpoint
/// @param[in,out] session  the connection's session, or NULL for the endpoint's output
/// @param[out] sent  receives how many SubmitShares.Success messages were sent
/// @return SV2_RESULT_OK; a session's errors (close the connection)
///
/// # Safety
/// `endpoint` and `sent` are valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_take_successes(
    endpoint: *mut sv2_server_endpoint,
    session: *mut sv2_session,
    sent: *mut usize,
) -> sv2_result {
    guard(|| {
        let (e, sent) = (arg_mut(endpoint)?, arg_mut(sent)?);
        let successes = e.endpoint.take_successes();
        let mut o = Out::new(session, &mut e.out);
        for s in &successes {
            sv2::endpoint::Outbox::push(&mut o, &(*s).into())?;
        }
        *sent = successes.len();
        Ok(())
    })
}

/// The SubmitSolution (for the template provider) of the block the last share handled found,
/// into `out`; its coinbase view points into the endpoint and stays valid until the next call
/// on it. SV2_RESULT_NOT_FOUND when the last message handled found no block.
///
/// @param[in] endpoint  the endpoint
/// @param[out] out  receives the SubmitSolution message; its views point into `endpoint`
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND, SV2_RESULT_JOB_TOO_LARGE
///
/// # Safety
/// `endpoint` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_solution(
    endpoint: *const sv2_server_endpoint,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (e, out) = (arg(endpoint)?, arg_mut(out)?);
        *out = solution(&e.block)?;
        Ok(())
    })
}

/// The custom job the last message handled set (after CUSTOM_JOB_ACCEPTED): the job id the
/// SetCustomMiningJob.Success carries, which shares on it name, and the user its token was
/// allocated for. SV2_RESULT_NOT_FOUND when the last message set none.
///
/// @param[in] endpoint  the endpoint
/// @param[out] job_id  receives the job id
/// @param[out] user  receives the user (UTF-8; points into `endpoint` until the next call on
/// it), or NULL
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `endpoint` and `job_id` are valid; `user` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_last_custom_job(
    endpoint: *const sv2_server_endpoint,
    job_id: *mut u32,
    user: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (e, id) = (arg(endpoint)?, arg_mut(job_id)?);
        let found = e.custom_job.and_then(|j| Some((j, e.endpoint.custom_job(j)?)));
        let (j, job) = found.ok_or(sv2_result::NotFound)?;
        if let Some(u) = user.as_mut() {
            *u = sv2_bytes { data: job.user.as_ptr(), len: job.user.len() };
        }
        *id = j;
        Ok(())
    })
}

/// The whole block (header, transaction count, coinbase, the declared transactions: what
/// `submitblock` takes) the last share handled found on a Full-Template custom job, completed
/// from the transactions its JDC declared; into `out`, a view into the endpoint valid until
/// the next call on it. SV2_RESULT_NOT_FOUND when the last message found no block, or found
/// one on a job that is not a custom job of this connection, or on a Coinbase-only custom job
/// (only its JDC knows the transactions, and submits the block itself).
///
/// @param[in,out] endpoint  the endpoint
/// @param[out] out  receives the serialized block
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `endpoint` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_custom_block(
    endpoint: *mut sv2_server_endpoint,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (e, out) = (arg_mut(endpoint)?, arg_mut(out)?);
        let found = e.block.as_ref().ok_or(sv2_result::NotFound)?;
        let job = e.share_job.and_then(|j| e.endpoint.custom_job(j)).ok_or(sv2_result::NotFound)?;
        e.custom_block = job.block(found).ok_or(sv2_result::NotFound)?.serialize();
        *out = sv2_bytes { data: e.custom_block.as_ptr(), len: e.custom_block.len() };
        Ok(())
    })
}

/// The number of open channels.
///
/// @param[in] endpoint  the endpoint
/// @param[out] out  receives the number of open channels
/// @return SV2_RESULT_OK
///
/// # Safety
/// `endpoint` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_channel_count(
    endpoint: *const sv2_server_endpoint,
    out: *mut usize,
) -> sv2_result {
    guard(|| {
        let (e, out) = (arg(endpoint)?, arg_mut(out)?);
        *out = e.endpoint.channel_count();
        Ok(())
    })
}

/// The user identity an open channel mines for (UTF-8, from its Open*MiningChannel), into
/// `out`; the view points into the endpoint and stays valid until the next call on it.
/// SV2_RESULT_INVALID_CHANNEL_ID when no such channel is open.
///
/// @param[in] endpoint  the endpoint
/// @param channel_id  the channel
/// @param[out] out  receives the user identity
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID
///
/// # Safety
/// `endpoint` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_endpoint_channel_user(
    endpoint: *const sv2_server_endpoint,
    channel_id: u32,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (e, out) = (arg(endpoint)?, arg_mut(out)?);
        let user = e.endpoint.channel(channel_id).ok_or(sv2_result::InvalidChannelId)?.user_identity();
        *out = sv2_bytes { data: user.as_ptr(), len: user.len() };
        Ok(())
    })
}

/// Points `data`/`len` at the plaintext frames queued by calls made with a NULL session (valid
/// until the next call on `endpoint`). After using some, call
/// sv2_server_endpoint_consume_output().
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
pub unsafe extern "C" fn sv2_server_endpoint_pending_output(
    endpoint: *const sv2_server_endpoint,
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
pub unsafe extern "C" fn sv2_server_endpoint_consume_output(
    endpoint: *mut sv2_server_endpoint,
    n: usize,
) -> sv2_result {
    guard(|| {
        consume(&mut arg_mut(endpoint)?.out, n);
        Ok(())
    })
}

/// Releases an endpoint (NULL does nothing); its channels' prefixes go back to the allocator.
///
/// @param[in] endpoint  an endpoint from sv2_server_endpoint_new(), or NULL
///
/// # Safety
/// `endpoint` is NULL or came from sv2_server_endpoint_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_server_endpoint_free(endpoint: *mut sv2_server_endpoint) {
    guard_void(|| {
        if !endpoint.is_null() {
            drop(Box::from_raw(endpoint));
        }
    })
}
