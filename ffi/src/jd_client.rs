//! The Job Declaration Client for C: `sv2_jd_client`, a farm's connection to the pool's JDS,
//! over `sv2::jd::client::JobDeclarationClient`. SetupConnection, tokens, jobs declared from
//! templates (Full-Template) or built straight from them (Coinbase-only), missing transactions
//! answered, the SetCustomMiningJob for the pool and PushSolution are the core's; this module
//! translates.

use sv2::codec::Str0_255;
use sv2::jd::client::{CustomJobRequest, Declared, Event, JdcConfig, JdcError, JobDeclarationClient};
use sv2::Message;

use crate::boundary::{arg, arg_mut, bytes, guard, guard_void, put, slice};
use crate::endpoint_out::{consume, frame_message, Out};
use crate::jd_store::{tip, view};
use crate::messages::{message_to_rust, sv2_message, write_c};
use crate::session::{sv2_frame, sv2_session};
use crate::sv2_result;
use crate::views::{sv2_bool, sv2_bytes};

/// How a JDC declares, and to whom (the views are read during sv2_jd_client_new() only). The
/// caller allocates it, so it carries its own size: zero it, set `struct_size` to
/// `sizeof(sv2_jd_client_config)`, then the fields. Fields added in later versions go at the
/// end, with zero meaning what the library did before them (docs/ABI.md).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_jd_client_config {
    /// `sizeof(sv2_jd_client_config)` as the caller's header declares it.
    pub struct_size: usize,
    /// Non-zero: Full-Template mode (DECLARE_TX_DATA, transactions declared); zero:
    /// Coinbase-only.
    pub full_template: sv2_bool,
    /// The upstream extended channel's full extranonce length (prefix and rolled part, 1–32).
    pub extranonce_len: u8,
    /// The port the client dialled.
    pub endpoint_port: u16,
    /// Tokens asked for and held unspent at once (at least 1).
    pub max_tokens: u32,
    /// Declarations kept for missing transactions, answers and PushSolution (at least 1).
    pub max_declarations: u32,
    /// The user tokens are asked for (UTF-8, at most 255 bytes).
    pub user_identifier: sv2_bytes,
    /// Pushed in the coinbase scriptSig after the template's prefix (at most 32 bytes; empty:
    /// none).
    pub tag: sv2_bytes,
    /// The host the client dialled (UTF-8, at most 255 bytes).
    pub endpoint_host: sv2_bytes,
    /// Vendor and version (UTF-8, at most 255 bytes).
    pub vendor: sv2_bytes,
}

/// One Job Declaration connection, client side.
pub struct sv2_jd_client {
    jdc: JobDeclarationClient,
    /// Plaintext frames queued when no session is passed.
    out: Vec<u8>,
    /// The last event, whose C form's views point into it.
    event: Option<Event>,
    /// The job of the last JOB_DECLARED event or Coinbase-only declaration.
    job: Option<Box<CustomJobRequest>>,
    /// The coinbase of the last solution pushed.
    coinbase: Vec<u8>,
}

/// What a message from the JDS changed.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_jd_client_event_kind {
    /// Something this version of libsv2 has no kind for: ignore it.
    Other = 0,
    /// SetupConnection.Success arrived: tokens may be requested.
    SetUp = 1,
    /// Token request `request_id` answered: a token is held. Tell the template provider
    /// `max_additional_size` and `max_additional_sigops` (CoinbaseOutputConstraints).
    TokenReady = 2,
    /// Declaration `request_id`: `count` missing transactions were sent (the answer is in the
    /// output).
    MissingTransactionsSent = 3,
    /// Declaration `request_id` (of template `template_id`) accepted: send
    /// sv2_jd_client_custom_job() to the pool.
    JobDeclared = 4,
    /// Declaration `request_id` refused with the code in `code` and the details in `details`
    /// (the spec's trigger to fall back to another pool).
    JobRefused = 5,
    /// A message about a declaration this client no longer keeps (why in `details`).
    Ignored = 6,
}

/// An event of a JDC: `kind` says which fields mean something (the others are zero). Its
/// views point into the client until the next call on it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_jd_client_event {
    /// What changed.
    pub kind: sv2_jd_client_event_kind,
    /// TOKEN_READY: the token request; MISSING_TRANSACTIONS_SENT, JOB_DECLARED, JOB_REFUSED:
    /// the declaration.
    pub request_id: u32,
    /// TOKEN_READY: CoinbaseOutputConstraints.coinbase_output_max_additional_size.
    pub max_additional_size: u32,
    /// TOKEN_READY: CoinbaseOutputConstraints.coinbase_output_max_additional_sigops.
    pub max_additional_sigops: u16,
    /// MISSING_TRANSACTIONS_SENT: how many.
    pub count: usize,
    /// JOB_DECLARED: the template the job was built from.
    pub template_id: u64,
    /// JOB_REFUSED: the JDS's error code.
    pub code: sv2_bytes,
    /// JOB_REFUSED: its details; IGNORED: why.
    pub details: sv2_bytes,
}

/// The C form of `ev`, whose views point into it.
fn event_to_c(ev: &Event) -> sv2_jd_client_event {
    use sv2_jd_client_event_kind as K;
    let mut c = sv2_jd_client_event {
        kind: K::Other,
        request_id: 0,
        max_additional_size: 0,
        max_additional_sigops: 0,
        count: 0,
        template_id: 0,
        code: view(&[]),
        details: view(&[]),
    };
    match ev {
        Event::SetUp => c.kind = K::SetUp,
        Event::TokenReady { request_id, constraints } => {
            (c.kind, c.request_id) = (K::TokenReady, *request_id);
            c.max_additional_size = constraints.coinbase_output_max_additional_size;
            c.max_additional_sigops = constraints.coinbase_output_max_additional_sigops;
        }
        Event::MissingTransactionsSent { request_id, count } => {
            (c.kind, c.request_id, c.count) = (K::MissingTransactionsSent, *request_id, *count)
        }
        Event::JobDeclared(job) => {
            (c.kind, c.request_id, c.template_id) = (K::JobDeclared, job.declaration_id, job.template_id)
        }
        Event::JobRefused { request_id, code, details } => {
            (c.kind, c.request_id) = (K::JobRefused, *request_id);
            (c.code, c.details) = (view(code.as_bytes()), view(details.as_bytes()));
        }
        Event::Ignored(why) => (c.kind, c.details) = (K::Ignored, view(why.as_bytes())),
        _ => {}
    }
    c
}

/// Why a call or a JDS message failed, as a result.
fn jdc_error(e: JdcError<sv2_result>) -> sv2_result {
    match e {
        JdcError::Outbox(r) => r,
        JdcError::SetupRefused(_) => sv2_result::SetupRefused,
        JdcError::NotSetUp(_) => sv2_result::NotSetUp,
        JdcError::Unexpected(_) => sv2_result::UnexpectedMessage,
        JdcError::BadPoolOutputs => sv2_result::InvalidCoinbaseOutputs,
        JdcError::BadPosition(_) => sv2_result::BadTransactionPosition,
        JdcError::TooManyTokens => sv2_result::TooManyRequests,
        JdcError::NoToken => sv2_result::NoToken,
        JdcError::UnknownDeclaration(_) => sv2_result::UnknownDeclaration,
        JdcError::Coinbase(c) => c.into(),
        JdcError::TransactionsMismatch => sv2_result::TransactionsMismatch,
        _ => sv2_result::Internal,
    }
}

/// UTF-8 text of at most 255 bytes from a view.
///
/// # Safety
/// The view is valid during the call.
unsafe fn text(b: &sv2_bytes) -> Result<String, sv2_result> {
    let b = Str0_255::new(bytes(b.data, b.len)?).map_err(sv2_result::from)?;
    std::str::from_utf8(b.as_bytes()).map(str::to_string).map_err(|_| sv2_result::InvalidArgument)
}

/// A client before its SetupConnection, which sv2_jd_client_start() sends.
/// SV2_RESULT_INVALID_ARGUMENT for a `struct_size` other than this version's, text that is
/// not UTF-8, an extranonce length outside 1–32, a tag over 32 bytes, or a limit of 0;
/// SV2_RESULT_TOO_LONG for text over 255 bytes.
///
/// @param[in] config  the client's configuration (read during the call only)
/// @param[out] out  receives the client; free it with sv2_jd_client_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `config` and `out` are valid; the config's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_new(
    config: *const sv2_jd_client_config,
    out: *mut *mut sv2_jd_client,
) -> sv2_result {
    guard(|| {
        let (c, out) = (arg(config)?, arg_mut(out)?);
        if c.struct_size != std::mem::size_of::<sv2_jd_client_config>() {
            return Err(sv2_result::InvalidArgument);
        }
        let tag = bytes(c.tag.data, c.tag.len)?;
        let bad = !(1..=32).contains(&c.extranonce_len) || tag.len() > 32;
        if bad || c.max_tokens == 0 || c.max_declarations == 0 {
            return Err(sv2_result::InvalidArgument);
        }
        let config = JdcConfig {
            full_template: c.full_template.get(),
            user_identifier: text(&c.user_identifier)?,
            tag: tag.to_vec(),
            extranonce_len: usize::from(c.extranonce_len),
            endpoint_host: text(&c.endpoint_host)?,
            endpoint_port: c.endpoint_port,
            vendor: text(&c.vendor)?,
            max_tokens: c.max_tokens as usize,
            max_declarations: c.max_declarations as usize,
        };
        let jdc = JobDeclarationClient::new(config);
        *out = Box::into_raw(Box::new(sv2_jd_client {
            jdc,
            out: Vec::new(),
            event: None,
            job: None,
            coinbase: Vec::new(),
        }));
        Ok(())
    })
}

/// Sends SetupConnection (Job Declaration, DECLARE_TX_DATA in Full-Template mode), the first
/// message of the connection.
///
/// @param[in,out] client  the client
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @return SV2_RESULT_OK; a session's errors
///
/// # Safety
/// `client` is valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_start(client: *mut sv2_jd_client, session: *mut sv2_session) -> sv2_result {
    guard(|| {
        let c = arg_mut(client)?;
        c.jdc.start(&mut Out::new(session, &mut c.out)).map_err(jdc_error)
    })
}

/// Sends AllocateMiningJobToken under a new request id, written to `request_id`; the token
/// comes as a TOKEN_READY event.
///
/// @param[in,out] client  the client
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @param[out] request_id  receives the request id
/// @return SV2_RESULT_OK; SV2_RESULT_TOO_MANY_REQUESTS (max_tokens asked for or held), a
/// session's errors
///
/// # Safety
/// `client` and `request_id` are valid; `session` is NULL or valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_request_token(
    client: *mut sv2_jd_client,
    session: *mut sv2_session,
    request_id: *mut u32,
) -> sv2_result {
    guard(|| {
        let (c, id) = (arg_mut(client)?, arg_mut(request_id)?);
        *id = c.jdc.request_token(&mut Out::new(session, &mut c.out)).map_err(jdc_error)?;
        Ok(())
    })
}

/// Unspent tokens held.
///
/// @param[in] client  the client
/// @param[out] out  receives the number of tokens
/// @return SV2_RESULT_OK
///
/// # Safety
/// `client` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_tokens(client: *const sv2_jd_client, out: *mut usize) -> sv2_result {
    guard(|| {
        let (c, out) = (arg(client)?, arg_mut(out)?);
        *out = c.jdc.tokens();
        Ok(())
    })
}

/// Builds a job from `template` on `tip` with the oldest token: the coinbase pays all the
/// template leaves to the pool's payout output, then the template's outputs. Full-Template:
/// sends DeclareMiningJob with the wtxids of `transactions` (the template's, in block order,
/// checked against its merkle path); `ready` receives false and the answer comes as a
/// JOB_DECLARED or JOB_REFUSED event. Coinbase-only: nothing is sent, `ready` receives true and
/// sv2_jd_client_custom_job() gives the SetCustomMiningJob at once (`transactions` unused).
///
/// @param[in,out] client  the client
/// @param[in] template_msg  the template: a NewTemplate (read during the call only)
/// @param[in] tip  its tip: a Template Distribution SetNewPrevHash (read during the call only)
/// @param[in] transactions  the template's transactions, serialized with witness (NULL when
/// `count` is 0)
/// @param count  views at `transactions`, at most 65 535
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @param[out] request_id  receives the declaration's id (PushSolution names it)
/// @param[out] ready  receives whether the SetCustomMiningJob is ready now (Coinbase-only)
/// @return SV2_RESULT_OK; SV2_RESULT_NO_TOKEN, SV2_RESULT_TRANSACTIONS_MISMATCH (not the
/// template's transactions, or one does not parse), SV2_RESULT_INVALID_ARGUMENT (not a
/// NewTemplate and a SetNewPrevHash), a coinbase error (320–327), a session's errors
///
/// # Safety
/// `client`, `template_msg`, `tip`, `request_id` and `ready` are valid; `transactions` points
/// to `count` views, each valid during the call; `session` is NULL or valid.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sv2_jd_client_declare(
    client: *mut sv2_jd_client,
    template_msg: *const sv2_message,
    tip: *const sv2_message,
    transactions: *const sv2_bytes,
    count: usize,
    session: *mut sv2_session,
    request_id: *mut u32,
    ready: *mut bool,
) -> sv2_result {
    guard(|| {
        let c = arg_mut(client)?;
        if request_id.is_null() || ready.is_null() || template_msg.is_null() || tip.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let views = slice(transactions, count)?;
        if views.len() > 0xFFFF {
            return Err(sv2_result::TooLong);
        }
        let txs = views.iter().map(|v| bytes(v.data, v.len)).collect::<Result<Vec<_>, _>>()?;
        let prev = self::tip(tip)?;
        let Message::NewTemplate(t) = message_to_rust(template_msg)? else { return Err(sv2_result::InvalidArgument) };
        let declared = c.jdc.declare(&t, &prev, &txs, &mut Out::new(session, &mut c.out)).map_err(jdc_error)?;
        let (id, now) = match declared {
            Declared::Sent { request_id } => (request_id, false),
            Declared::Ready(job) => {
                let id = job.declaration_id;
                c.job = Some(job);
                (id, true)
            }
        };
        *request_id = id;
        put(ready, now)
    })
}

/// Handles `msg` once every pointer is checked.
unsafe fn handle(
    client: *mut sv2_jd_client,
    msg: &Message<'_>,
    session: *mut sv2_session,
    out: *mut sv2_jd_client_event,
) -> Result<(), sv2_result> {
    let c = arg_mut(client)?;
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    let ev = c.jdc.on_message(msg, &mut Out::new(session, &mut c.out)).map_err(jdc_error)?;
    if let Event::JobDeclared(job) = &ev {
        c.job = Some(job.clone());
    }
    let e = c.event.insert(ev);
    put(out, event_to_c(e))
}

/// Handles one message from the JDS (a ProvideMissingTransactions is answered in the output);
/// what changed goes to `out`. An error means the connection cannot go on: close it.
///
/// @param[in,out] client  the client
/// @param[in] msg  a message from the JDS (read during the call only)
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @param[out] out  receives the event; its views point into `client` until the next call on
/// it
/// @return SV2_RESULT_OK; SV2_RESULT_SETUP_REFUSED, SV2_RESULT_NOT_SET_UP,
/// SV2_RESULT_UNEXPECTED_MESSAGE, SV2_RESULT_INVALID_COINBASE_OUTPUTS (the pool's outputs do
/// not parse), SV2_RESULT_BAD_TRANSACTION_POSITION, a session's errors; a message's view over
/// its type's limit
///
/// # Safety
/// `client`, `msg` and `out` are valid; `session` is NULL or valid; the message's views are
/// valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_on_message(
    client: *mut sv2_jd_client,
    msg: *const sv2_message,
    session: *mut sv2_session,
    out: *mut sv2_jd_client_event,
) -> sv2_result {
    guard(|| handle(client, &message_to_rust(msg)?, session, out))
}

/// As sv2_jd_client_on_message() for a received frame, decoded here. A frame that does not
/// decode gives its decode error and changes nothing.
///
/// @param[in,out] client  the client
/// @param[in] frame  a frame from the JDS (read during the call only)
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @param[out] out  receives the event
/// @return as sv2_jd_client_on_message(); a decode error (100–106)
///
/// # Safety
/// `client`, `frame` and `out` are valid; `session` is NULL or valid; the frame's payload is
/// valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_on_frame(
    client: *mut sv2_jd_client,
    frame: *const sv2_frame,
    session: *mut sv2_session,
    out: *mut sv2_jd_client_event,
) -> sv2_result {
    guard(|| {
        // NULL before a decode error, as everywhere.
        if client.is_null() || out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        handle(client, &frame_message(frame)?, session, out)
    })
}

/// The SetCustomMiningJob of the last job declared (JOB_DECLARED) or built (a Coinbase-only
/// sv2_jd_client_declare()), for extended channel `channel_id` of the pool connection, under
/// the caller's `request_id`. Its views point into the client until the next declaration or
/// message. SV2_RESULT_NOT_FOUND before any job.
///
/// @param[in] client  the client
/// @param channel_id  the upstream extended channel
/// @param request_id  the SetCustomMiningJob's request id
/// @param[out] out  receives the message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `client` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_custom_job(
    client: *const sv2_jd_client,
    channel_id: u32,
    request_id: u32,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let c = arg(client)?;
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let job = c.job.as_ref().ok_or(sv2_result::NotFound)?;
        write_c(&job.message(channel_id, request_id).into(), out);
        Ok(())
    })
}

/// A block was found on declaration `declaration_id`: sends PushSolution (Full-Template) and
/// points `coinbase` at the full coinbase for the template provider's SubmitSolution (sent by
/// the caller in both modes; valid until the next call on the client).
///
/// @param[in,out] client  the client
/// @param declaration_id  the declaration (sv2_jd_client_declare()'s request id)
/// @param[in] extranonce  the full extranonce (prefix and rolled part; NULL when
/// `extranonce_len` is 0)
/// @param extranonce_len  bytes at `extranonce`: the configured extranonce length
/// @param nonce  the header's nonce
/// @param ntime  the header's nTime
/// @param version  the header's version
/// @param[in,out] session  the connection's session, or NULL for the client's output
/// @param[out] coinbase  receives the full coinbase
/// @return SV2_RESULT_OK; SV2_RESULT_UNKNOWN_DECLARATION (never made, or forgotten),
/// SV2_RESULT_EXTRANONCE_MISMATCH, a session's errors
///
/// # Safety
/// `client` and `coinbase` are valid; `extranonce` points to `extranonce_len` bytes; `session`
/// is NULL or valid.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sv2_jd_client_push_solution(
    client: *mut sv2_jd_client,
    declaration_id: u32,
    extranonce: *const u8,
    extranonce_len: usize,
    nonce: u32,
    ntime: u32,
    version: u32,
    session: *mut sv2_session,
    coinbase: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (c, extranonce) = (arg_mut(client)?, bytes(extranonce, extranonce_len)?);
        if coinbase.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let mut o = Out::new(session, &mut c.out);
        c.coinbase =
            c.jdc.push_solution(declaration_id, extranonce, nonce, ntime, version, &mut o).map_err(jdc_error)?;
        put(coinbase, view(&c.coinbase))
    })
}

/// Points `data`/`len` at the plaintext frames queued by calls made with a NULL session (valid
/// until the next call on `client`). After using some, call sv2_jd_client_consume_output().
///
/// @param[in] client  the client
/// @param[out] data  receives a pointer to the queued bytes
/// @param[out] len  receives their number (0: nothing queued)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `client`, `data` and `len` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_pending_output(
    client: *const sv2_jd_client,
    data: *mut *const u8,
    len: *mut usize,
) -> sv2_result {
    guard(|| {
        let (c, d, l) = (arg(client)?, arg_mut(data)?, arg_mut(len)?);
        (*d, *l) = (c.out.as_ptr(), c.out.len());
        Ok(())
    })
}

/// Drops the first `n` queued bytes (more than queued empties the output).
///
/// @param[in,out] client  the client
/// @param n  bytes used
/// @return SV2_RESULT_OK
///
/// # Safety
/// `client` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_client_consume_output(client: *mut sv2_jd_client, n: usize) -> sv2_result {
    guard(|| {
        consume(&mut arg_mut(client)?.out, n);
        Ok(())
    })
}

/// Releases a client (NULL does nothing).
///
/// @param[in] client  a client from sv2_jd_client_new(), or NULL
///
/// # Safety
/// `client` is NULL or came from sv2_jd_client_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_jd_client_free(client: *mut sv2_jd_client) {
    guard_void(|| {
        if !client.is_null() {
            drop(Box::from_raw(client));
        }
    })
}
