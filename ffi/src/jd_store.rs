//! What the Job Declaration server handles of a pool share, for C: `sv2_token_store` (every
//! live token and declared job, shared by all of the pool's JD connections and checked by its
//! Mining connections), the pool's check of a SetCustomMiningJob against it, and the
//! conversions both JD sides need (entropy, tips, error results).

use std::sync::{Arc, Mutex, MutexGuard};

use sv2::channels::server::PrevHash;
use sv2::jd::custom::{validate_custom_job, PoolView};
use sv2::jd::store::TokenStore;
use sv2::jd::{Ctx, Token};
use sv2::Message;

use crate::boundary::{arg, arg_mut, array, guard, guard_void};
use crate::jd_server::sv2_jd_server_options;
use crate::messages::{message_to_rust, sv2_message};
use crate::sv2_result;
use crate::views::{sv2_bool, sv2_bytes};

/// Tokens and declared jobs, shared by every Job Declaration server handle and every check of
/// a SetCustomMiningJob of one pool. As every handle, one is used by one thread at a time; the
/// tokens behind it are shared safely across threads: give each thread its own handle on them
/// with sv2_token_store_share().
pub struct sv2_token_store {
    pub(crate) tokens: Arc<Mutex<TokenStore>>,
    /// The user of the last custom job accepted, for sv2_token_store_check_custom_job().
    user: String,
}

/// The store, locked (a panic elsewhere while it was held leaves it usable).
pub(crate) fn lock(tokens: &Mutex<TokenStore>) -> MutexGuard<'_, TokenStore> {
    tokens.lock().unwrap_or_else(|e| e.into_inner())
}

/// The caller's clock and entropy: `entropy` NULL draws 16 bytes from the operating system.
///
/// # Safety
/// `entropy` is NULL or points to 16 readable bytes.
pub(crate) unsafe fn ctx(now: u64, entropy: *const u8) -> Result<Ctx, sv2_result> {
    let entropy: Token = if entropy.is_null() {
        let r = sv2::noise::random_bytes().map_err(|_| sv2_result::Entropy)?;
        let mut t = [0; sv2::jd::TOKEN_LEN];
        t.copy_from_slice(&r[..sv2::jd::TOKEN_LEN]);
        t
    } else {
        *array(entropy)?
    };
    Ok(Ctx { now, entropy })
}

/// The tip a Template Distribution SetNewPrevHash gives; any other message is
/// SV2_RESULT_INVALID_ARGUMENT.
///
/// # Safety
/// `msg` is valid, its views during the call.
pub(crate) unsafe fn tip(msg: *const sv2_message) -> Result<PrevHash, sv2_result> {
    match message_to_rust(msg)? {
        Message::SetNewPrevHashTdp(p) => Ok(PrevHash::from(&p)),
        _ => Err(sv2_result::InvalidArgument),
    }
}

/// A view of `b`.
pub(crate) fn view(b: &[u8]) -> sv2_bytes {
    sv2_bytes { data: b.as_ptr(), len: b.len() }
}

/// A store holding at most `max_tokens` live tokens across every connection (tokens
/// allocated and jobs declared; 0 is SV2_RESULT_INVALID_ARGUMENT). Share it between every
/// sv2_jd_server of the pool and its checks of SetCustomMiningJob.
///
/// @param max_tokens  the most live tokens, e.g. 100 000
/// @param[out] out  receives the store; free it with sv2_token_store_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_token_store_new(max_tokens: usize, out: *mut *mut sv2_token_store) -> sv2_result {
    guard(|| {
        let out = arg_mut(out)?;
        if max_tokens == 0 {
            return Err(sv2_result::InvalidArgument);
        }
        let tokens = Arc::new(Mutex::new(TokenStore::new(max_tokens)));
        *out = Box::into_raw(Box::new(sv2_token_store { tokens, user: String::new() }));
        Ok(())
    })
}

/// Another handle on the same tokens, for another thread (servers made from either share
/// them). Free each handle with sv2_token_store_free().
///
/// @param[in] store  the store
/// @param[out] out  receives the new handle
/// @return SV2_RESULT_OK
///
/// # Safety
/// `store` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_token_store_share(
    store: *const sv2_token_store,
    out: *mut *mut sv2_token_store,
) -> sv2_result {
    guard(|| {
        let (s, out) = (arg(store)?, arg_mut(out)?);
        *out = Box::into_raw(Box::new(sv2_token_store { tokens: Arc::clone(&s.tokens), user: String::new() }));
        Ok(())
    })
}

/// How many tokens the store holds (expired ones included until a full store drops them).
///
/// @param[in] store  the store
/// @param[out] out  receives the number of tokens
/// @return SV2_RESULT_OK
///
/// # Safety
/// `store` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_token_store_len(store: *const sv2_token_store, out: *mut usize) -> sv2_result {
    guard(|| {
        let (s, out) = (arg(store)?, arg_mut(out)?);
        *out = lock(&s.tokens).len();
        Ok(())
    })
}

/// Releases a handle on a store (NULL does nothing); other handles and servers made with it
/// keep the tokens.
///
/// @param[in] store  a store from sv2_token_store_new(), or NULL
///
/// # Safety
/// `store` is NULL or came from sv2_token_store_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_token_store_free(store: *mut sv2_token_store) {
    guard_void(|| {
        if !store.is_null() {
            drop(Box::from_raw(store));
        }
    })
}

/// The pool's check of a SetCustomMiningJob from a Mining connection that set
/// REQUIRES_WORK_SELECTION: its token (and the job declared with it) in `store`, the pool's
/// outputs of `options`, the pool's tip, nbits, min_ntime and version. Accepted: the token is
/// spent, SV2_RESULT_OK, `user` receives the user the token was allocated for; the caller adds
/// the job to the channel and answers SetCustomMiningJob.Success. Refused:
/// SV2_RESULT_CUSTOM_JOB_REFUSED, `code` receives the SetCustomMiningJob.Error code to send
/// (static text, docs/JOB_DECLARATION.md lists them) and the token stays unspent.
///
/// @param[in] store  the pool's token store
/// @param[in] options  the JDS options whose pool outputs the coinbase must pay
/// @param[in] msg  the SetCustomMiningJob (read during the call only)
/// @param[in] tip  the pool's tip: a Template Distribution SetNewPrevHash from its template
/// provider (read during the call only)
/// @param extranonce_len  the channel's full extranonce length (prefix and rolled part)
/// @param version_rolling  non-zero: the channel's miners may roll the version bits
/// @param now  the token store's clock, in the seconds given to the JDS
/// @param now_unix  unix seconds (min_ntime may be at most two hours ahead of it)
/// @param[out] user  receives the user on success (points into `store` until the next check
/// on it), or NULL
/// @param[out] code  receives the error code on refusal (static text), or NULL
/// @return SV2_RESULT_OK; SV2_RESULT_CUSTOM_JOB_REFUSED; SV2_RESULT_INVALID_ARGUMENT (`msg`
/// not a SetCustomMiningJob, `tip` not a SetNewPrevHash)
///
/// # Safety
/// `store`, `options`, `msg` and `tip` are valid, their views during the call; `user` and
/// `code` are NULL or valid.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sv2_token_store_check_custom_job(
    store: *mut sv2_token_store,
    options: *const sv2_jd_server_options,
    msg: *const sv2_message,
    tip: *const sv2_message,
    extranonce_len: usize,
    version_rolling: sv2_bool,
    now: u64,
    now_unix: u32,
    user: *mut sv2_bytes,
    code: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (s, o) = (arg_mut(store)?, arg(options)?);
        // NULL before a wrong message, as everywhere.
        if msg.is_null() || tip.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let prev = self::tip(tip)?;
        let Message::SetCustomMiningJob(m) = message_to_rust(msg)? else { return Err(sv2_result::InvalidArgument) };
        let pool = PoolView {
            tip: &prev,
            pool_outputs: &o.0.pool_outputs,
            extranonce_len,
            version_rolling_allowed: version_rolling.get(),
            now,
            unix_now: now_unix,
        };
        let checked = validate_custom_job(&mut lock(&s.tokens), &m, pool);
        match checked {
            Ok(job) => {
                s.user = job.user;
                if let Some(u) = user.as_mut() {
                    *u = view(s.user.as_bytes());
                }
                Ok(())
            }
            Err(e) => {
                if let Some(c) = code.as_mut() {
                    *c = view(e.code.as_bytes());
                }
                Err(sv2_result::CustomJobRefused)
            }
        }
    })
}
