//! The Job Declaration Server for C: `sv2_jd_server`, one Job Declaration connection as the
//! pool serves it, over `sv2::jd::server::JobDeclarator`. SetupConnection, tokens with their
//! lifetime and rate limit, declarations checked against the pool's outputs and the caller's
//! mempool, missing transactions asked for, the caller's verdict, and PushSolution rebuilt into
//! a block are the core's; this module translates. The mempool is a C callback (wtxid ->
//! transaction); tokens live in an `sv2_token_store` shared by every connection.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use sv2::jd::coinbase::PoolOutputs;
use sv2::jd::server::{DeclaredJob, Event, JdError, JdsConfig, JobDeclarator, Mempool, MempoolTx};
use sv2::jd::store::{StoreError, TokenStore};
use sv2::Message;

use crate::boundary::{arg, arg_mut, bytes, guard, guard_void, put};
use crate::endpoint_out::{consume, frame_message, Out};
use crate::jd_store::{ctx, lock, sv2_token_store, view};
use crate::messages::{message_to_rust, sv2_message};
use crate::session::{sv2_frame, sv2_session};
use crate::sv2_result;
use crate::views::{sv2_bool, sv2_bytes, sv2_bytes_list};

/// The largest transaction a mempool callback may return (a whole block's weight limit).
const MAX_TX_LEN: usize = 4_000_000;

/// What a JDS offers and requires on each connection: the pool's outputs, the modes and the
/// limits. Made by sv2_jd_server_options_new(); read by sv2_jd_server_new() (copied) and
/// sv2_token_store_check_custom_job().
pub struct sv2_jd_server_options(pub(crate) JdsConfig);

/// The caller's mempool: the transaction whose wtxid (32 bytes, internal byte order) is
/// `wtxid`, serialized with witness, into `tx` (read before the callback's caller returns, so
/// the memory needs to live only until then); true if the mempool has it. A transaction whose
/// wtxid is not `wtxid`, or over 4 MB, counts as unknown (the JDC is asked for it). It runs
/// while the server's token store is locked: it must not call libsv2 with that store or a
/// server sharing it.
pub type sv2_mempool_get_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, wtxid: *const u8, tx: *mut sv2_bytes) -> sv2_bool>;

/// The C callback as the core's mempool.
struct CMempool {
    get: sv2_mempool_get_fn,
    user: *mut c_void,
}

impl Mempool for CMempool {
    fn get(&self, wtxid: &[u8; 32]) -> Option<MempoolTx> {
        let get = self.get?;
        let mut tx = sv2_bytes { data: std::ptr::null(), len: 0 };
        // SAFETY: the caller of sv2_jd_server_new() promised a callback valid with `user`.
        if !unsafe { get(self.user, wtxid.as_ptr(), &mut tx) }.get() || tx.len > MAX_TX_LEN {
            return None;
        }
        // SAFETY: the callback promised `tx` points to `len` readable bytes until it returns
        // to us; they are copied before anything else runs.
        let data = unsafe { bytes(tx.data, tx.len) }.ok()?;
        let (txid, id) = sv2::jd::coinbase::tx_ids(data)?;
        (id == *wtxid).then(|| MempoolTx { txid, data: Arc::from(data) })
    }
}

/// One Job Declaration connection, server side.
pub struct sv2_jd_server {
    jds: JobDeclarator,
    tokens: Arc<Mutex<TokenStore>>,
    mempool: CMempool,
    /// Plaintext frames queued when no session is passed.
    out: Vec<u8>,
    /// What the views of the last event point into.
    held: Held,
}

/// The memory behind the last event's views.
#[derive(Default)]
struct Held {
    text: String,
    job: Option<Arc<DeclaredJob>>,
    coinbase: Vec<u8>,
    transactions: Vec<u8>,
    block: Vec<u8>,
}

/// What a message or verdict asks of the JDS's caller.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_jd_server_event_kind {
    /// Answered in the output, or nothing to do.
    Handled = 0,
    /// SetupConnection accepted; `full_template` says whether the client declares
    /// transactions.
    SetUp = 1,
    /// Token request `request_id` answered (AllocateMiningJobToken.Success in the output).
    TokenAllocated = 2,
    /// Declaration `request_id`: ProvideMissingTransactions for `count` transactions is in the
    /// output.
    MissingTransactionsRequested = 3,
    /// Declaration `request_id` has every transaction: check the block is valid with the
    /// caller's node (`version`, `user`, `coinbase`, `merkle_root`, `transactions`), then call
    /// sv2_jd_server_verdict().
    ValidateJob = 4,
    /// Declaration `request_id` accepted (DeclareMiningJob.Success in the output).
    JobDeclared = 5,
    /// Declaration `request_id` refused with the code in `text` (the Error is in the output).
    JobRefused = 6,
    /// A PushSolution made a block: `block` is the serialized block (for submitblock),
    /// `block_hash` its hash.
    BlockFound = 7,
    /// A PushSolution that makes no block, for the reason in `text`.
    SolutionIgnored = 8,
}

/// An event of a JDS: `kind` says which fields mean something (the others are zero). Its
/// views point into the server until the next call on it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_jd_server_event {
    /// What happened.
    pub kind: sv2_jd_server_event_kind,
    /// Every kind but SET_UP, BLOCK_FOUND and SOLUTION_IGNORED: the request.
    pub request_id: u32,
    /// SET_UP: the client declares transactions (Full-Template mode).
    pub full_template: bool,
    /// MISSING_TRANSACTIONS_REQUESTED: how many transactions were asked for;
    /// VALIDATE_JOB: how many transactions the block has besides the coinbase.
    pub count: usize,
    /// JOB_REFUSED: the error code sent; SOLUTION_IGNORED: why.
    pub text: sv2_bytes,
    /// VALIDATE_JOB: the header version declared.
    pub version: u32,
    /// VALIDATE_JOB: the user the token was allocated for (UTF-8).
    pub user: sv2_bytes,
    /// VALIDATE_JOB: the declared coinbase, serialized with an all-zero extranonce.
    pub coinbase: sv2_bytes,
    /// VALIDATE_JOB: the block's merkle root with that coinbase.
    pub merkle_root: [u8; 32],
    /// VALIDATE_JOB: the other transactions in block order (walk with sv2_bytes_list_next()).
    pub transactions: sv2_bytes_list,
    /// BLOCK_FOUND: the serialized block.
    pub block: sv2_bytes,
    /// BLOCK_FOUND: its hash (SHA-256d of the header, internal byte order).
    pub block_hash: [u8; 32],
}

impl sv2_jd_server_event {
    fn empty() -> Self {
        sv2_jd_server_event {
            kind: sv2_jd_server_event_kind::Handled,
            request_id: 0,
            full_template: false,
            count: 0,
            text: view(&[]),
            version: 0,
            user: view(&[]),
            coinbase: view(&[]),
            merkle_root: [0; 32],
            transactions: sv2_bytes_list { wire: std::ptr::null(), wire_len: 0, count: 0 },
            block: view(&[]),
            block_hash: [0; 32],
        }
    }
}

/// The transactions in a bytes list's wire form (each a 3-byte length and its bytes).
fn wire_list(txs: &[Arc<[u8]>]) -> Vec<u8> {
    let mut w = Vec::with_capacity(txs.iter().map(|t| t.len() + 3).sum());
    for t in txs {
        // Each came in a B0_16M or from a callback bounded under it.
        w.extend_from_slice(&(t.len() as u32).to_le_bytes()[..3]);
        w.extend_from_slice(t);
    }
    w
}

/// The C form of `ev`, keeping in `held` what its views point at.
fn event_to_c(ev: Event, held: &mut Held) -> sv2_jd_server_event {
    use sv2_jd_server_event_kind as K;
    *held = Held::default();
    let mut c = sv2_jd_server_event::empty();
    match ev {
        Event::SetUp { full_template } => (c.kind, c.full_template) = (K::SetUp, full_template),
        Event::TokenAllocated { request_id } => (c.kind, c.request_id) = (K::TokenAllocated, request_id),
        Event::MissingTransactionsRequested { request_id, count } => {
            (c.kind, c.request_id, c.count) = (K::MissingTransactionsRequested, request_id, count)
        }
        Event::ValidateJob { request_id, job } => {
            (c.kind, c.request_id, c.version, c.count) =
                (K::ValidateJob, request_id, job.version, job.transactions.len());
            if let Some(parts) = job.coinbase.parts() {
                let zeros = vec![0; parts.extranonce_len];
                held.coinbase = parts.full(&zeros);
                c.merkle_root = sv2::channels::hash::merkle_root(&parts.stripped(&zeros), &job.merkle_path);
            }
            held.transactions = wire_list(&job.transactions);
            c.coinbase = view(&held.coinbase);
            c.transactions = sv2_bytes_list {
                wire: held.transactions.as_ptr(),
                wire_len: held.transactions.len(),
                count: job.transactions.len(),
            };
            held.job = Some(job);
            c.user = view(held.job.as_ref().map_or(&[][..], |j| j.user.as_bytes()));
        }
        Event::JobDeclared { request_id } => (c.kind, c.request_id) = (K::JobDeclared, request_id),
        Event::JobRefused { request_id, code } => {
            (c.kind, c.request_id) = (K::JobRefused, request_id);
            held.text = code;
            c.text = view(held.text.as_bytes());
        }
        Event::BlockFound(b) => {
            c.kind = K::BlockFound;
            c.block_hash = b.hash();
            held.block = b.serialize();
            c.block = view(&held.block);
        }
        Event::SolutionIgnored(why) => (c.kind, c.text) = (K::SolutionIgnored, view(why.as_bytes())),
        _ => {}
    }
    c
}

/// Why the connection must close, as a result.
fn jd_error(e: JdError<sv2_result>) -> sv2_result {
    match e {
        JdError::Outbox(r) => r,
        JdError::SetupRefused(_) => sv2_result::SetupRefused,
        JdError::NotSetUp(_) => sv2_result::NotSetUp,
        JdError::SecondSetup | JdError::Unexpected(_) => sv2_result::UnexpectedMessage,
        JdError::AllocationFlood(_) => sv2_result::TokenRequestFlood,
        JdError::DuplicateRequestId(_) => sv2_result::DuplicateRequestId,
        JdError::Store(StoreError::Full) => sv2_result::TokenStoreFull,
        JdError::Store(_) => sv2_result::TokenCollision,
        _ => sv2_result::Internal,
    }
}

/// Options with the library's defaults: both modes (Coinbase-only and Full-Template), every
/// satoshi of the coinbase to the pool's outputs, tokens living 600 s, 16 unspent tokens and
/// 8 declared jobs a connection, 120 token requests a minute, 4 declarations in flight, at
/// most 16 384 unknown transactions and 4 000 000 bytes of them a declaration.
///
/// @param[in] payout_script  the scriptPubKey every custom coinbase must pay
/// @param payout_script_len  bytes at `payout_script`, 1 to 10 000
/// @param[out] out  receives the options; free them with sv2_jd_server_options_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT (an empty or longer script)
///
/// # Safety
/// `payout_script` points to `payout_script_len` bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_new(
    payout_script: *const u8,
    payout_script_len: usize,
    out: *mut *mut sv2_jd_server_options,
) -> sv2_result {
    guard(|| {
        let (script, out) = (script_arg(payout_script, payout_script_len)?, arg_mut(out)?);
        *out = Box::into_raw(Box::new(sv2_jd_server_options(JdsConfig::new(PoolOutputs::single(script)))));
        Ok(())
    })
}

/// A scriptPubKey argument: 1 to 10 000 bytes (the consensus limit on a script).
unsafe fn script_arg<'a>(p: *const u8, len: usize) -> Result<&'a [u8], sv2_result> {
    let s = bytes(p, len)?;
    if s.is_empty() || s.len() > 10_000 {
        return Err(sv2_result::InvalidArgument);
    }
    Ok(s)
}

/// Adds a script every custom coinbase must also pay (an output with it must be present; any
/// value).
///
/// @param[in,out] options  the options
/// @param[in] script  the scriptPubKey
/// @param script_len  bytes at `script`, 1 to 10 000
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid; `script` points to `script_len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_add_required_script(
    options: *mut sv2_jd_server_options,
    script: *const u8,
    script_len: usize,
) -> sv2_result {
    guard(|| {
        let (o, s) = (arg_mut(options)?, script_arg(script, script_len)?);
        o.0.pool_outputs.extra_scripts.push(s.to_vec());
        Ok(())
    })
}

/// The share of a coinbase's total output value the payout script must get, in millionths
/// (1 000 000, the default: all of it); more than 1 000 000 is SV2_RESULT_INVALID_ARGUMENT.
///
/// @param[in,out] options  the options
/// @param min_payout_ppm  millionths of the coinbase's value, 0 to 1 000 000
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_set_min_payout_ppm(
    options: *mut sv2_jd_server_options,
    min_payout_ppm: u32,
) -> sv2_result {
    guard(|| {
        let o = arg_mut(options)?;
        if min_payout_ppm > 1_000_000 {
            return Err(sv2_result::InvalidArgument);
        }
        o.0.pool_outputs.min_payout_ppm = min_payout_ppm;
        Ok(())
    })
}

/// Which clients to accept: Coinbase-only (DECLARE_TX_DATA clear), Full-Template (set), or
/// both; neither is SV2_RESULT_INVALID_ARGUMENT.
///
/// @param[in,out] options  the options
/// @param coinbase_only  non-zero: accept Coinbase-only clients
/// @param full_template  non-zero: accept Full-Template clients
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_set_modes(
    options: *mut sv2_jd_server_options,
    coinbase_only: sv2_bool,
    full_template: sv2_bool,
) -> sv2_result {
    guard(|| {
        let o = arg_mut(options)?;
        if !coinbase_only.get() && !full_template.get() {
            return Err(sv2_result::InvalidArgument);
        }
        (o.0.coinbase_only, o.0.full_template) = (coinbase_only.get(), full_template.get());
        Ok(())
    })
}

/// Token limits: how long a token lives (allocated and declared alike), unspent allocated
/// tokens one connection may hold (a further allocation revokes the oldest), token requests a
/// connection may make within a minute (one more: SV2_RESULT_TOKEN_REQUEST_FLOOD), and declared
/// jobs whose tokens stay valid per connection (a further one revokes the oldest). Any 0 is
/// SV2_RESULT_INVALID_ARGUMENT.
///
/// @param[in,out] options  the options
/// @param lifetime_secs  a token's lifetime, in the caller's seconds
/// @param max_per_connection  unspent allocated tokens a connection may hold
/// @param max_requests_per_minute  token requests a connection may make within a minute
/// @param max_declared_jobs  declared jobs a connection keeps valid
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_set_token_limits(
    options: *mut sv2_jd_server_options,
    lifetime_secs: u64,
    max_per_connection: usize,
    max_requests_per_minute: u32,
    max_declared_jobs: usize,
) -> sv2_result {
    guard(|| {
        let o = &mut arg_mut(options)?.0;
        if lifetime_secs == 0 || max_per_connection == 0 || max_requests_per_minute == 0 || max_declared_jobs == 0 {
            return Err(sv2_result::InvalidArgument);
        }
        (o.token_lifetime_secs, o.max_tokens_per_connection) = (lifetime_secs, max_per_connection);
        (o.max_allocations_per_minute, o.max_declared_jobs_per_connection) =
            (max_requests_per_minute, max_declared_jobs);
        Ok(())
    })
}

/// Declaration limits: declarations one connection may have waiting for transactions or a
/// verdict (0 is SV2_RESULT_INVALID_ARGUMENT), unknown transactions one declaration may have,
/// and the bytes they may add up to (more: the declaration is refused).
///
/// @param[in,out] options  the options
/// @param max_pending  declarations in flight per connection
/// @param max_missing_txs  unknown transactions per declaration
/// @param max_missing_bytes  bytes of unknown transactions per declaration
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `options` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_options_set_declaration_limits(
    options: *mut sv2_jd_server_options,
    max_pending: usize,
    max_missing_txs: usize,
    max_missing_bytes: usize,
) -> sv2_result {
    guard(|| {
        let o = &mut arg_mut(options)?.0;
        if max_pending == 0 {
            return Err(sv2_result::InvalidArgument);
        }
        (o.max_pending_declarations, o.max_missing_txs, o.max_missing_bytes) =
            (max_pending, max_missing_txs, max_missing_bytes);
        Ok(())
    })
}

/// Releases options (NULL does nothing). Servers made with them keep their own copy.
///
/// @param[in] options  options from sv2_jd_server_options_new(), or NULL
///
/// # Safety
/// `options` is NULL or came from sv2_jd_server_options_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_jd_server_options_free(options: *mut sv2_jd_server_options) {
    guard_void(|| {
        if !options.is_null() {
            drop(Box::from_raw(options));
        }
    })
}

/// A Job Declaration connection before its SetupConnection, allocating from `store` (shared:
/// it stays valid as long as a server uses it, also after sv2_token_store_free()). The
/// transactions a declaration names are looked up with `mempool_get(mempool_user, ...)`
/// (NULL: no mempool, every transaction is asked of the client), called from inside
/// sv2_jd_server_on_message() and sv2_jd_server_on_frame() only.
///
/// @param[in] options  the options (copied)
/// @param[in] store  the pool's token store
/// @param mempool_get  the mempool lookup, or NULL
/// @param mempool_user  passed to `mempool_get` as is
/// @param[out] out  receives the server; free it with sv2_jd_server_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `options`, `store` and `out` are valid; `mempool_get` is NULL or a function that may be
/// called with `mempool_user` as long as the server lives.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_new(
    options: *const sv2_jd_server_options,
    store: *const sv2_token_store,
    mempool_get: sv2_mempool_get_fn,
    mempool_user: *mut c_void,
    out: *mut *mut sv2_jd_server,
) -> sv2_result {
    guard(|| {
        let (o, s, out) = (arg(options)?, arg(store)?, arg_mut(out)?);
        let tokens = Arc::clone(&s.tokens);
        let jds = JobDeclarator::new(o.0.clone(), &mut lock(&tokens));
        let mempool = CMempool { get: mempool_get, user: mempool_user };
        *out = Box::into_raw(Box::new(sv2_jd_server { jds, tokens, mempool, out: Vec::new(), held: Held::default() }));
        Ok(())
    })
}

/// Handles `msg` once every pointer is checked.
unsafe fn handle(
    server: *mut sv2_jd_server,
    msg: &Message<'_>,
    now: u64,
    entropy: *const u8,
    session: *mut sv2_session,
    out: *mut sv2_jd_server_event,
) -> Result<(), sv2_result> {
    let s = arg_mut(server)?;
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    let ctx = ctx(now, entropy)?;
    let mut store = lock(&s.tokens);
    let ev =
        s.jds.on_message(msg, &mut store, &s.mempool, ctx, &mut Out::new(session, &mut s.out)).map_err(jd_error)?;
    drop(store);
    put(out, event_to_c(ev, &mut s.held))
}

/// Handles one message from the client at `now` (the caller's seconds: token lifetimes and
/// the request rate). A token handed out is `entropy`'s 16 bytes (NULL: 16 bytes from the
/// operating system). Answers go to `session`, or to the server's output when `session` is
/// NULL; what the caller must do goes to `out`. An error means the connection must close: send
/// what is queued (SV2_RESULT_SETUP_REFUSED has queued the SetupConnection.Error), free the
/// server (which revokes its unspent tokens), close.
///
/// @param[in,out] server  the server
/// @param[in] msg  a message from the client (read during the call only)
/// @param now  the caller's clock, in seconds
/// @param[in] entropy  16 random bytes, or NULL
/// @param[in,out] session  the connection's session, or NULL for the server's output
/// @param[out] out  receives the event; its views point into `server` until the next call on
/// it
/// @return SV2_RESULT_OK; SV2_RESULT_SETUP_REFUSED, SV2_RESULT_NOT_SET_UP,
/// SV2_RESULT_UNEXPECTED_MESSAGE (a second SetupConnection, a message a JDS does not take),
/// SV2_RESULT_TOKEN_REQUEST_FLOOD, SV2_RESULT_DUPLICATE_REQUEST_ID, SV2_RESULT_TOKEN_STORE_FULL,
/// SV2_RESULT_TOKEN_COLLISION, SV2_RESULT_ENTROPY, a session's errors; a message's view over
/// its type's limit
///
/// # Safety
/// `server`, `msg` and `out` are valid; `entropy` is NULL or 16 readable bytes; `session` is
/// NULL or valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_on_message(
    server: *mut sv2_jd_server,
    msg: *const sv2_message,
    now: u64,
    entropy: *const u8,
    session: *mut sv2_session,
    out: *mut sv2_jd_server_event,
) -> sv2_result {
    guard(|| {
        let m = message_to_rust(msg)?;
        handle(server, &m, now, entropy, session, out)
    })
}

/// As sv2_jd_server_on_message() for a received frame, decoded here. A frame that does not
/// decode gives its decode error and changes nothing.
///
/// @param[in,out] server  the server
/// @param[in] frame  a frame from the client (read during the call only)
/// @param now  the caller's clock, in seconds
/// @param[in] entropy  16 random bytes, or NULL
/// @param[in,out] session  the connection's session, or NULL for the server's output
/// @param[out] out  receives the event
/// @return as sv2_jd_server_on_message(); a decode error (100–106)
///
/// # Safety
/// `server`, `frame` and `out` are valid; `entropy` is NULL or 16 readable bytes; `session`
/// is NULL or valid; the frame's payload is valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_on_frame(
    server: *mut sv2_jd_server,
    frame: *const sv2_frame,
    now: u64,
    entropy: *const u8,
    session: *mut sv2_session,
    out: *mut sv2_jd_server_event,
) -> sv2_result {
    guard(|| {
        // NULL before a decode error, as everywhere.
        if server.is_null() || out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let m = frame_message(frame)?;
        handle(server, &m, now, entropy, session, out)
    })
}

/// The caller's verdict on declaration `request_id` (a VALIDATE_JOB event), whenever its node
/// has decided: `code` NULL (and `code_len` 0) accepts it — the job's token (`entropy`'s 16
/// bytes, or 16 from the operating system when NULL) is stored and DeclareMiningJob.Success
/// queued, JOB_DECLARED; otherwise `code` is the DeclareMiningJob.Error code (printable ASCII,
/// e.g. "bad-txns-inputs-missingorspent"; anything else is sent as "invalid-job"),
/// JOB_REFUSED. A verdict for a declaration not waiting for one gives HANDLED.
///
/// @param[in,out] server  the server
/// @param request_id  the declaration
/// @param[in] code  the refusal's code, or NULL to accept
/// @param code_len  bytes at `code`, at most 255
/// @param now  the caller's clock, in seconds
/// @param[in] entropy  16 random bytes, or NULL
/// @param[in,out] session  the connection's session, or NULL for the server's output
/// @param[out] out  receives the event
/// @return SV2_RESULT_OK; SV2_RESULT_TOO_LONG, SV2_RESULT_TOKEN_STORE_FULL,
/// SV2_RESULT_TOKEN_COLLISION, SV2_RESULT_ENTROPY, a session's errors (close the connection)
///
/// # Safety
/// `server` and `out` are valid; `code` points to `code_len` bytes; `entropy` is NULL or 16
/// readable bytes; `session` is NULL or valid.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sv2_jd_server_verdict(
    server: *mut sv2_jd_server,
    request_id: u32,
    code: *const u8,
    code_len: usize,
    now: u64,
    entropy: *const u8,
    session: *mut sv2_session,
    out: *mut sv2_jd_server_event,
) -> sv2_result {
    guard(|| {
        let (s, code) = (arg_mut(server)?, bytes(code, code_len)?);
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        if code.len() > 255 {
            return Err(sv2_result::TooLong);
        }
        let ctx = ctx(now, entropy)?;
        // Not text: sent as invalid-job, as any code that is not printable ASCII.
        let code = std::str::from_utf8(code).unwrap_or("\u{1}");
        let verdict = if code.is_empty() { Ok(()) } else { Err(code) };
        let mut store = lock(&s.tokens);
        let ev = s
            .jds
            .on_verdict(request_id, verdict, &mut store, ctx, &mut Out::new(session, &mut s.out))
            .map_err(jd_error)?;
        drop(store);
        put(out, event_to_c(ev, &mut s.held))
    })
}

/// Declarations waiting for transactions or a verdict.
///
/// @param[in] server  the server
/// @param[out] out  receives the number of declarations in flight
/// @return SV2_RESULT_OK
///
/// # Safety
/// `server` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_pending_declarations(
    server: *const sv2_jd_server,
    out: *mut usize,
) -> sv2_result {
    guard(|| {
        let (s, out) = (arg(server)?, arg_mut(out)?);
        *out = s.jds.pending_declarations();
        Ok(())
    })
}

/// Points `data`/`len` at the plaintext frames queued by calls made with a NULL session (valid
/// until the next call on `server`). After using some, call sv2_jd_server_consume_output().
///
/// @param[in] server  the server
/// @param[out] data  receives a pointer to the queued bytes
/// @param[out] len  receives their number (0: nothing queued)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `server`, `data` and `len` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_pending_output(
    server: *const sv2_jd_server,
    data: *mut *const u8,
    len: *mut usize,
) -> sv2_result {
    guard(|| {
        let (s, d, l) = (arg(server)?, arg_mut(data)?, arg_mut(len)?);
        (*d, *l) = (s.out.as_ptr(), s.out.len());
        Ok(())
    })
}

/// Drops the first `n` queued bytes (more than queued empties the output).
///
/// @param[in,out] server  the server
/// @param n  bytes used
/// @return SV2_RESULT_OK
///
/// # Safety
/// `server` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_jd_server_consume_output(server: *mut sv2_jd_server, n: usize) -> sv2_result {
    guard(|| {
        consume(&mut arg_mut(server)?.out, n);
        Ok(())
    })
}

/// Releases a server (NULL does nothing): the connection is over, its unspent allocated tokens
/// are revoked (jobs it declared stay valid for SetCustomMiningJob until they expire).
///
/// @param[in] server  a server from sv2_jd_server_new(), or NULL
///
/// # Safety
/// `server` is NULL or came from sv2_jd_server_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_jd_server_free(server: *mut sv2_jd_server) {
    guard_void(|| {
        if !server.is_null() {
            let mut s = Box::from_raw(server);
            let tokens = Arc::clone(&s.tokens);
            s.jds.close(&mut lock(&tokens));
        }
    })
}
