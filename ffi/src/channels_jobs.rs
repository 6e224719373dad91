//! The pool side's jobs and extranonces for C: `sv2_job_factory` turns Template Distribution
//! messages into jobs that every server channel can take, and `sv2_extranonce_allocator`
//! gives each channel its own slice of the search space.

use std::sync::{Arc, Mutex, MutexGuard};

use sv2::channels::extranonce::ExtranonceAllocator;
use sv2::channels::job::{JobFactory, TemplateJob};
use sv2::channels::server::{Job, PrevHash};
use sv2::channels::vardiff::Vardiff;
use sv2::endpoint::server::JobState;
use sv2::Message;

use crate::boundary::{arg, arg_mut, array, array_mut, bytes, guard, guard_void, write_out};
use crate::channels_server::to_c;
use crate::messages::{message_to_rust, sv2_message};
use crate::sv2_result;
use crate::views::sv2_option_u32;

/// Most jobs sv2_job_factory_jobs() lists: the tip, the newest job on it and 16 future jobs.
pub const SV2_MAX_TEMPLATE_JOBS: usize = 18;
/// Longest extranonce (and extranonce prefix) a channel can have.
pub const SV2_EXTRANONCE_MAX_LEN: usize = 32;

/// Turns templates into jobs paying one pool script, and tracks the tip.
pub struct sv2_job_factory {
    factory: JobFactory,
    /// The factory's jobs as server endpoints sync to them, renewed by every message fed.
    pub(crate) jobs: JobState,
}

/// A job a template made, by id: give it to every channel with sv2_server_channel_add_job()
/// (or sv2_group_channel_add_job()).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_template_job {
    /// The job's id, the same on every channel.
    pub job_id: u32,
    /// Absent: a future job, minable once its tip arrives. Present: minable now, from this
    /// nTime on.
    pub min_ntime: sv2_option_u32,
    /// The job of a new tip (a SetNewPrevHash made it current): every channel activates it
    /// with sv2_server_channel_activate(), which makes every other job stale.
    pub new_tip: bool,
}

impl sv2_template_job {
    fn new(job_id: u32, min_ntime: Option<u32>, new_tip: bool) -> Self {
        sv2_template_job {
            job_id,
            min_ntime: sv2_option_u32 { present: min_ntime.is_some().into(), value: min_ntime.unwrap_or(0) },
            new_tip,
        }
    }
}

impl sv2_job_factory {
    /// The job `job_id`, if the factory still keeps it (the tip's, the newest, or a future one).
    pub(crate) fn job(&self, job_id: u32) -> Result<Arc<Job>, sv2_result> {
        let f = &self.factory;
        let tip = f.current().filter(|t| t.job_id == job_id).map(|t| &t.job);
        fn made(t: &TemplateJob, job_id: u32) -> Option<&Arc<Job>> {
            (t.job_id == job_id).then_some(&t.job)
        }
        tip.or_else(|| f.latest().and_then(|t| made(t, job_id)))
            .or_else(|| f.future_jobs().find_map(|t| made(t, job_id)))
            .cloned()
            .ok_or(sv2_result::UnknownJob)
    }

    /// The current tip's job id and previous hash.
    pub(crate) fn tip(&self) -> Result<(u32, PrevHash), sv2_result> {
        self.factory.current().map(|t| (t.job_id, t.prev)).ok_or(sv2_result::NoPrevHash)
    }
}

/// A factory paying every block to `payout_script` (a scriptPubKey), pushing `tag` in the
/// coinbase scriptSig, with an extranonce hole of `extranonce_len` bytes (1–32: every
/// channel's extranonce prefix and rolled part together). `version_rolling` false makes jobs
/// that forbid version rolling (for a server that sets REQUIRES_FIXED_VERSION).
/// SV2_RESULT_SCRIPT_SIG_TOO_LONG when the tag and the extranonce cannot fit a scriptSig;
/// SV2_RESULT_INVALID_COINBASE_OUTPUTS for a script over 10 000 bytes.
///
/// @param[in] payout_script  the scriptPubKey every block pays to (at most 10 000 bytes)
/// @param payout_script_len  bytes at `payout_script`
/// @param[in] tag  bytes pushed in the coinbase scriptSig (NULL when `tag_len` is 0)
/// @param tag_len  bytes at `tag`
/// @param extranonce_len  size of the extranonce hole, 1–32
/// @param version_rolling  whether jobs allow version rolling
/// @param[out] out  receives the factory; free it with sv2_job_factory_free()
/// @return SV2_RESULT_OK; SV2_RESULT_SCRIPT_SIG_TOO_LONG (also for an extranonce_len outside
/// 1–32), SV2_RESULT_INVALID_COINBASE_OUTPUTS
///
/// # Safety
/// `payout_script` points to `payout_script_len` bytes, `tag` to `tag_len` bytes; `out` is
/// valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_job_factory_new(
    payout_script: *const u8,
    payout_script_len: usize,
    tag: *const u8,
    tag_len: usize,
    extranonce_len: usize,
    version_rolling: bool,
    out: *mut *mut sv2_job_factory,
) -> sv2_result {
    guard(|| {
        let (script, tag, out) = (bytes(payout_script, payout_script_len)?, bytes(tag, tag_len)?, arg_mut(out)?);
        let f = JobFactory::new(script, tag, extranonce_len)?.with_version_rolling(version_rolling);
        *out = Box::into_raw(Box::new(sv2_job_factory { factory: f, jobs: JobState::default() }));
        Ok(())
    })
}

/// The CoinbaseOutputConstraints message to send the template provider: the size and sigops
/// of the pool's payout output.
///
/// @param[in] factory  the factory
/// @param[out] out  receives the CoinbaseOutputConstraints message (no views)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `factory` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_job_factory_coinbase_output_constraints(
    factory: *const sv2_job_factory,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (f, out) = (arg(factory)?, arg_mut(out)?);
        *out = to_c(&f.factory.coinbase_output_constraints().into())?;
        Ok(())
    })
}

/// Feeds a Template Distribution message. NewTemplate makes a job (future, or minable now on
/// the current tip); SetNewPrevHash (SV2_MSG_SET_NEW_PREV_HASH_TDP) makes its future job the
/// tip's (`new_tip`) and drops every other job. The job goes to `out`. Any other message is
/// SV2_RESULT_INVALID_ARGUMENT. SV2_RESULT_NO_PREV_HASH for a non-future template before the
/// first tip; SV2_RESULT_UNKNOWN_JOB for a SetNewPrevHash naming no future template kept.
///
/// @param[in,out] factory  the factory
/// @param[in] msg  a NewTemplate or SetNewPrevHash (Template Distribution) message
/// @param[out] out  receives the job the message made
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT, SV2_RESULT_NO_PREV_HASH,
/// SV2_RESULT_UNKNOWN_JOB, SV2_RESULT_JOB_TOO_LARGE, SV2_RESULT_INVALID_COINBASE_OUTPUTS
///
/// # Safety
/// `factory`, `msg` and `out` are valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_job_factory_handle(
    factory: *mut sv2_job_factory,
    msg: *const sv2_message,
    out: *mut sv2_template_job,
) -> sv2_result {
    guard(|| {
        let (h, out) = (arg_mut(factory)?, arg_mut(out)?);
        let f = &mut h.factory;
        let mut tip_seq = h.jobs.tip_seq;
        *out = match message_to_rust(msg)? {
            Message::NewTemplate(t) => {
                let j = f.on_new_template(&t)?;
                sv2_template_job::new(j.job_id, j.active_ntime, false)
            }
            Message::SetNewPrevHashTdp(p) => {
                let tip = f.on_set_new_prev_hash(&p)?;
                tip_seq += 1;
                sv2_template_job::new(tip.job_id, Some(tip.prev.min_ntime), true)
            }
            _ => return Err(sv2_result::InvalidArgument),
        };
        h.jobs = JobState::from_factory(f, tip_seq);
        Ok(())
    })
}

/// Every job a channel opened now needs, in the order to give them, into `out` (room for
/// `cap`, SV2_MAX_TEMPLATE_JOBS always enough); their number goes to `written`. First the tip's
/// job (`new_tip`): add it with an absent min_ntime, then activate it. Then the newest job on
/// the tip, if another (present min_ntime), and the future jobs (absent min_ntime). Before the
/// first tip, only future jobs.
///
/// @param[in] factory  the factory
/// @param[out] out  array of `cap` jobs, written from the start
/// @param cap  room at `out`
/// @param[out] written  receives how many jobs were written
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE (nothing written) when `cap` is too small
///
/// # Safety
/// `factory` and `written` are valid; `out` points to `cap` writable items.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_job_factory_jobs(
    factory: *const sv2_job_factory,
    out: *mut sv2_template_job,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let (f, written) = (&arg(factory)?.factory, arg_mut(written)?);
        let state = JobState::from_factory(f, 0);
        let min_ntime = state.tip.as_ref().map(|t| t.prev.min_ntime);
        let jobs: Vec<sv2_template_job> = state
            .for_new_channel()
            .map(|j| match j.tip {
                true => sv2_template_job::new(j.job_id, min_ntime, true),
                false => sv2_template_job::new(j.job_id, j.active_ntime, false),
            })
            .collect();
        write_items(&jobs, out, cap)?;
        *written = jobs.len();
        Ok(())
    })
}

/// Releases a job factory (NULL does nothing). Channels keep the jobs they were given.
///
/// @param[in] factory  a factory from sv2_job_factory_new(), or NULL
///
/// # Safety
/// `factory` is NULL or came from sv2_job_factory_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_job_factory_free(factory: *mut sv2_job_factory) {
    guard_void(|| {
        if !factory.is_null() {
            drop(Box::from_raw(factory));
        }
    })
}

/// Copies `items` into the caller's array `(out, cap)`, or answers
/// [`sv2_result::InsufficientSize`] without writing.
///
/// # Safety
/// `out` is NULL or points to `cap` writable items (initialised or not).
pub(crate) unsafe fn write_items<T: Copy>(items: &[T], out: *mut T, cap: usize) -> Result<(), sv2_result> {
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    if items.len() > cap {
        return Err(sv2_result::InsufficientSize);
    }
    for (i, item) in items.iter().enumerate() {
        out.add(i).write(*item);
    }
    Ok(())
}

/// Hands out extranonce prefixes that never collide: `upstream ‖ counter`. Server endpoints
/// share it (see sv2_server_endpoint_new()), so its prefixes are unique across connections.
pub struct sv2_extranonce_allocator(pub(crate) Arc<Mutex<ExtranonceAllocator>>);

impl sv2_extranonce_allocator {
    /// The allocator (a poisoned lock is still used: nothing a panic could leave half done).
    fn lock(&self) -> MutexGuard<'_, ExtranonceAllocator> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An allocator for channels whose full extranonce (prefix and rolled part) is `full_len`
/// bytes (at most 32, the factory's extranonce_len): each prefix is `upstream` (the prefix this
/// server was given; empty for a pool) followed by a `counter_len`-byte counter (1–8).
/// SV2_RESULT_EXTRANONCE_LAYOUT when the sizes do not fit.
///
/// @param[in] upstream  the prefix this server was given (NULL when `upstream_len` is 0)
/// @param upstream_len  bytes at `upstream`
/// @param counter_len  bytes of the counter after `upstream`, 1–8
/// @param full_len  the channels' full extranonce length, at most 32
/// @param[out] out  receives the allocator; free it with sv2_extranonce_allocator_free()
/// @return SV2_RESULT_OK; SV2_RESULT_EXTRANONCE_LAYOUT
///
/// # Safety
/// `upstream` points to `upstream_len` bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_extranonce_allocator_new(
    upstream: *const u8,
    upstream_len: usize,
    counter_len: usize,
    full_len: usize,
    out: *mut *mut sv2_extranonce_allocator,
) -> sv2_result {
    guard(|| {
        let (upstream, out) = (bytes(upstream, upstream_len)?, arg_mut(out)?);
        let a = ExtranonceAllocator::new(upstream, counter_len, full_len)?;
        *out = Box::into_raw(Box::new(sv2_extranonce_allocator(Arc::new(Mutex::new(a)))));
        Ok(())
    })
}

/// Bytes an extended channel rolls: the full length minus its prefix.
///
/// @param[in] allocator  the allocator
/// @param[out] out  receives the number of bytes an extended channel rolls
/// @return SV2_RESULT_OK
///
/// # Safety
/// `allocator` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_extranonce_allocator_rollable(
    allocator: *const sv2_extranonce_allocator,
    out: *mut usize,
) -> sv2_result {
    guard(|| {
        let (a, out) = (arg(allocator)?, arg_mut(out)?);
        *out = a.lock().extended_rollable();
        Ok(())
    })
}

/// Takes the next prefix, `len` bytes, into `(out, cap)` once every argument is checked, so a
/// refused call uses none.
unsafe fn next_prefix(
    allocator: *mut sv2_extranonce_allocator,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
    standard: bool,
) -> sv2_result {
    guard(|| {
        let a = arg_mut(allocator)?;
        arg_mut(written)?;
        let mut a = a.lock();
        let len = if standard { a.full_len() } else { a.full_len() - a.extended_rollable() };
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        if len > cap {
            return Err(sv2_result::InsufficientSize);
        }
        let prefix = if standard { a.next_standard() } else { a.next_extended() }?;
        write_out(&prefix, out, cap, written)
    })
}

/// The next prefix for an extended channel (the channel rolls
/// sv2_extranonce_allocator_rollable() bytes after it), into `(out, cap)`; its length goes to
/// `written`. SV2_RESULT_EXTRANONCE_EXHAUSTED when every counter value is used.
///
/// @param[in,out] allocator  the allocator
/// @param[out] out  buffer for the prefix
/// @param cap  bytes at `out` (SV2_EXTRANONCE_MAX_LEN is always enough)
/// @param[out] written  receives the prefix's length
/// @return SV2_RESULT_OK; SV2_RESULT_EXTRANONCE_EXHAUSTED, SV2_RESULT_INSUFFICIENT_SIZE
///
/// # Safety
/// `allocator` and `written` are valid; `out` points to `cap` writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_extranonce_allocator_next_extended(
    allocator: *mut sv2_extranonce_allocator,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    next_prefix(allocator, out, cap, written, false)
}

/// The next prefix for a standard channel: unique, padded with zeros to the full length (a
/// standard channel rolls nothing). As sv2_extranonce_allocator_next_extended() otherwise.
///
/// @param[in,out] allocator  the allocator
/// @param[out] out  buffer for the prefix
/// @param cap  bytes at `out` (SV2_EXTRANONCE_MAX_LEN is always enough)
/// @param[out] written  receives the prefix's length
/// @return SV2_RESULT_OK; SV2_RESULT_EXTRANONCE_EXHAUSTED, SV2_RESULT_INSUFFICIENT_SIZE
///
/// # Safety
/// `allocator` and `written` are valid; `out` points to `cap` writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_extranonce_allocator_next_standard(
    allocator: *mut sv2_extranonce_allocator,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    next_prefix(allocator, out, cap, written, true)
}

/// Releases an allocator (NULL does nothing). Server endpoints made with it keep using it
/// until they are freed.
///
/// @param[in] allocator  an allocator from sv2_extranonce_allocator_new(), or NULL
///
/// # Safety
/// `allocator` is NULL or came from sv2_extranonce_allocator_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_extranonce_allocator_free(allocator: *mut sv2_extranonce_allocator) {
    guard_void(|| {
        if !allocator.is_null() {
            drop(Box::from_raw(allocator));
        }
    })
}

/// The share target for a device of `hashrate` h/s to find `shares_per_minute` shares a
/// minute, never easier than `max_target` (a channel's initial target from the nominal
/// hashrate of its Open*MiningChannel). A zero hashrate gives `max_target`.
/// SV2_RESULT_INVALID_NOMINAL_HASHRATE for a negative, infinite or NaN hashrate;
/// SV2_RESULT_INVALID_ARGUMENT unless `shares_per_minute` is positive and finite.
///
/// @param hashrate  the device's hashrate in hashes per second
/// @param shares_per_minute  the share rate to aim at
/// @param[in] max_target  32 bytes: the easiest target allowed
/// @param[out] out  32 bytes: receives the target
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_NOMINAL_HASHRATE, SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `max_target` points to 32 bytes; `out` to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_target_for_hashrate(
    hashrate: f64,
    shares_per_minute: f64,
    max_target: *const u8,
    out: *mut u8,
) -> sv2_result {
    guard(|| {
        let (max_target, out) = (array(max_target)?, array_mut(out)?);
        if !hashrate.is_finite() || hashrate < 0.0 {
            return Err(sv2_result::InvalidNominalHashrate);
        }
        if !shares_per_minute.is_finite() || shares_per_minute <= 0.0 {
            return Err(sv2_result::InvalidArgument);
        }
        *out = Vardiff::new(shares_per_minute, 1, 0).initial_target(hashrate, *max_target);
        Ok(())
    })
}
