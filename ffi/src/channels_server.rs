//! Channels on the server side for C: `sv2_server_channel` (standard or extended) and
//! `sv2_group_channel` (a connection's channels, sent each job once). Messages go in and come
//! out as `sv2_message`, so that a pool goes from sv2_session_next_message() to a channel and
//! back to sv2_session_send() with nothing in between.

use sv2::channels::group::GroupChannel;
use sv2::channels::server::{AcceptedShare, ChannelKind, FoundBlock, ServerChannel, Share};
use sv2::channels::target::difficulty;
use sv2::channels::vardiff::Vardiff;
use sv2::codec::Bytes;
use sv2::messages::{SetTarget, SubmitSharesError, UpdateChannelError};
use sv2::Message;

use crate::boundary::{arg, arg_mut, array, array_mut, guard, guard_void};
use crate::channels_jobs::{sv2_job_factory, write_items, SV2_EXTRANONCE_MAX_LEN};
use crate::messages::*;
use crate::result::sv2_result_error_code;
use crate::sv2_result;
use crate::views::CField;

/// A standard or extended channel as the server keeps it: jobs, tip, target, vardiff and the
/// shares it has accepted.
pub struct sv2_server_channel {
    channel: ServerChannel,
    /// The block found by the last share validated, for sv2_server_channel_solution().
    block: Option<FoundBlock>,
}

/// A connection's channels as one group: each job goes out once per group where it can.
pub struct sv2_group_channel {
    group: GroupChannel,
    /// The block found by the last share validated, for sv2_group_channel_solution().
    block: Option<FoundBlock>,
}

/// What a server channel is opened with (the views are read during sv2_server_channel_new()
/// only). The caller allocates it, so it carries its own size: zero it, set `struct_size` to
/// `sizeof(sv2_server_channel_params)`, then the fields. Fields added in later versions go at
/// the end, with zero meaning what the library did before them (docs/ABI.md).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_server_channel_params {
    /// `sizeof(sv2_server_channel_params)` as the caller's header declares it.
    pub struct_size: usize,
    /// The channel id (unique on the connection, and not the group's).
    pub channel_id: u32,
    /// 0: a standard channel; any other byte: an extended one.
    pub extended: sv2_bool,
    /// Extended: bytes the client rolls after the prefix (prefix and rolled part together make
    /// the factory's extranonce_len). Standard: must be 0.
    pub extranonce_size: u16,
    /// The user (and worker) the channel mines for: UTF-8, at most 255 bytes.
    pub user_identity: sv2_bytes,
    /// The channel's prefix from an sv2_extranonce_allocator (at most 32 bytes).
    pub extranonce_prefix: sv2_bytes,
    /// Initial share target (little-endian 256-bit), e.g. from sv2_target_for_hashrate().
    pub target: [u8; 32],
    /// The easiest target the client accepts (its Open*MiningChannel.max_target).
    pub max_target: [u8; 32],
    /// Vardiff aims at this many shares a minute (positive).
    pub shares_per_minute: f64,
    /// Vardiff judges the share rate over windows of at least this many seconds.
    pub vardiff_window_secs: u64,
}

/// An accepted share.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_accepted_share {
    /// The header hash (raw SHA-256d).
    pub hash: [u8; 32],
    /// The target it met: the job's.
    pub target: [u8; 32],
    /// Difficulty of that target (difficulty 1 = 0x00000000FFFF0000…).
    pub difficulty: f64,
    /// The hash also meets the network target: a block. Take its SubmitSolution with
    /// sv2_server_channel_solution() (or sv2_group_channel_solution()) and send it to the
    /// template provider at once.
    pub block: bool,
}

/// The C form of a message the channels make. Views point into `m`'s borrows: an extended
/// job's merkle path into the job the channels keep while the job is theirs.
pub(crate) fn to_c(m: &Message<'_>) -> Result<sv2_message, sv2_result> {
    let body = match m {
        Message::NewMiningJob(x) => sv2_message_body { new_mining_job: sv2_new_mining_job::from_rust(x) },
        Message::NewExtendedMiningJob(x) => {
            sv2_message_body { new_extended_mining_job: sv2_new_extended_mining_job::from_rust(x) }
        }
        Message::SetNewPrevHash(x) => sv2_message_body { set_new_prev_hash: sv2_set_new_prev_hash::from_rust(x) },
        Message::SetTarget(x) => sv2_message_body { set_target: sv2_set_target::from_rust(x) },
        Message::SubmitSharesSuccess(x) => {
            sv2_message_body { submit_shares_success: sv2_submit_shares_success::from_rust(x) }
        }
        Message::SubmitSharesError(x) => {
            sv2_message_body { submit_shares_error: sv2_submit_shares_error::from_rust(x) }
        }
        Message::UpdateChannelError(x) => {
            sv2_message_body { update_channel_error: sv2_update_channel_error::from_rust(x) }
        }
        Message::SubmitSolution(x) => sv2_message_body { submit_solution: sv2_submit_solution::from_rust(x) },
        Message::CoinbaseOutputConstraints(x) => {
            sv2_message_body { coinbase_output_constraints: sv2_coinbase_output_constraints::from_rust(x) }
        }
        Message::OpenStandardMiningChannelSuccess(x) => sv2_message_body {
            open_standard_mining_channel_success: sv2_open_standard_mining_channel_success::from_rust(x),
        },
        Message::OpenExtendedMiningChannelSuccess(x) => sv2_message_body {
            open_extended_mining_channel_success: sv2_open_extended_mining_channel_success::from_rust(x),
        },
        _ => return Err(sv2_result::Internal),
    };
    Ok(sv2_message { extension_type: m.extension_type(), msg_type: m.msg_type(), body })
}

/// The C form of an accepted share; its block, if any, is kept for the solution functions.
pub(crate) fn accepted(a: AcceptedShare, block: &mut Option<FoundBlock>) -> sv2_accepted_share {
    let c = sv2_accepted_share {
        hash: a.hash,
        target: a.target,
        difficulty: difficulty(&a.target),
        block: a.block.is_some(),
    };
    *block = a.block;
    c
}

/// The SubmitSolution of a kept block.
pub(crate) fn solution(block: &Option<FoundBlock>) -> Result<sv2_message, sv2_result> {
    let b = block.as_ref().ok_or(sv2_result::NotFound)?;
    // Jobs from a factory always name their template; only an oversized coinbase has no message.
    let s = b.submit_solution().ok_or(if b.template_id.is_some() {
        sv2_result::JobTooLarge
    } else {
        sv2_result::NotFound
    })?;
    to_c(&s.into())
}

fn set_target(channel_id: u32, maximum_target: [u8; 32]) -> Result<sv2_message, sv2_result> {
    to_c(&SetTarget { channel_id, maximum_target }.into())
}

/// UpdateChannel on `channel` (None: not here): a SetTarget when the target changes.
fn update(channel: Option<&mut ServerChannel>, m: &Message<'_>, now: u64) -> Result<sv2_message, sv2_result> {
    let Message::UpdateChannel(m) = m else { return Err(sv2_result::InvalidArgument) };
    to_c(&ServerChannel::answer_update(channel, m, now)?.ok_or(sv2_result::NotFound)?.into())
}

/// Writes the messages of a group call into the caller's array.
unsafe fn write_messages(
    msgs: &[Message<'_>],
    out: *mut sv2_message,
    cap: usize,
    written: *mut usize,
) -> Result<(), sv2_result> {
    let c = msgs.iter().map(to_c).collect::<Result<Vec<_>, _>>()?;
    write_items(&c, out, cap)?;
    *written = c.len();
    Ok(())
}

fn new_channel(p: &sv2_server_channel_params, now: u64) -> Result<ServerChannel, sv2_result> {
    // One layout so far; an older, shorter one will be read with zeros for the newer fields.
    if p.struct_size != std::mem::size_of::<sv2_server_channel_params>() {
        return Err(sv2_result::InvalidArgument);
    }
    // SAFETY: the caller of sv2_server_channel_new vouches for the views.
    let (user, prefix): (Bytes<'_, 255>, Bytes<'_, SV2_EXTRANONCE_MAX_LEN>) =
        unsafe { (p.user_identity.to_rust()?, p.extranonce_prefix.to_rust()?) };
    let user = std::str::from_utf8(user.as_bytes()).map_err(|_| sv2_result::InvalidArgument)?;
    let kind = match (p.extended.get(), p.extranonce_size) {
        (true, extranonce_size) => ChannelKind::Extended { extranonce_size },
        (false, 0) => ChannelKind::Standard,
        (false, _) => return Err(sv2_result::InvalidArgument),
    };
    let spm = p.shares_per_minute;
    if prefix.len() + usize::from(p.extranonce_size) > SV2_EXTRANONCE_MAX_LEN || !spm.is_finite() || spm <= 0.0 {
        return Err(sv2_result::InvalidArgument);
    }
    let vardiff = Vardiff::new(spm, p.vardiff_window_secs, now);
    Ok(ServerChannel::new(p.channel_id, kind, user, prefix.as_bytes().to_vec(), p.target, p.max_target, vardiff))
}

/// Opens a server channel at monotonic time `now` (seconds, the clock vardiff runs on).
/// SV2_RESULT_INVALID_ARGUMENT for a `struct_size` other than the size of this header's
/// sv2_server_channel_params, a user identity that is not UTF-8, a standard channel with
/// an extranonce_size, a prefix and size over 32 bytes together, or shares_per_minute not
/// positive; SV2_RESULT_TOO_LONG for a view over its type's limit.
///
/// @param[in] params  what the channel is (read during the call only)
/// @param now  monotonic time in seconds
/// @param[out] out  receives the channel; free it with sv2_server_channel_free() or move it
/// into a group with sv2_group_channel_add()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `params` and `out` are valid; the views in `params` are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_new(
    params: *const sv2_server_channel_params,
    now: u64,
    out: *mut *mut sv2_server_channel,
) -> sv2_result {
    guard(|| {
        let (p, out) = (arg(params)?, arg_mut(out)?);
        let channel = new_channel(p, now)?;
        *out = Box::into_raw(Box::new(sv2_server_channel { channel, block: None }));
        Ok(())
    })
}

/// The channel's current share target (for jobs sent from now on) into 32 bytes at `out`.
///
/// @param[in] channel  the channel
/// @param[out] out  32 bytes: receives the target
/// @return SV2_RESULT_OK
///
/// # Safety
/// `channel` is valid; `out` points to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_target(channel: *const sv2_server_channel, out: *mut u8) -> sv2_result {
    guard(|| {
        let (ch, out) = (arg(channel)?, array_mut(out)?);
        *out = ch.channel.target();
        Ok(())
    })
}

/// The answer to the Open*MiningChannel that opened the channel: OpenStandardMiningChannel
/// .Success or OpenExtendedMiningChannel.Success with its id, target, extranonce prefix (a view
/// into the channel, valid until the next call on it) and `group_channel_id`.
///
/// @param[in] channel  the channel
/// @param request_id  the request_id of the Open*MiningChannel being answered
/// @param group_channel_id  the group the channel is in (its own id when none)
/// @param[out] out  receives the Success message; its views point into `channel`
/// @return SV2_RESULT_OK
///
/// # Safety
/// `channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_open_success(
    channel: *const sv2_server_channel,
    request_id: u32,
    group_channel_id: u32,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (&arg(channel)?.channel, arg_mut(out)?);
        let m = ch.open_success(request_id, group_channel_id);
        *out = to_c(&m)?;
        Ok(())
    })
}

/// Gives the channel the factory's job `job_id`: a future job when `min_ntime` is absent
/// (activated later by sv2_server_channel_activate()), minable now from `min_ntime` when
/// present. The message that carries it to the client (NewMiningJob on a standard channel,
/// NewExtendedMiningJob on an extended one) goes to `out`; its views point into the channel
/// and stay valid until the next call on it. SV2_RESULT_UNKNOWN_JOB when the factory no longer
/// keeps the job, SV2_RESULT_EXTRANONCE_MISMATCH when its extranonce hole differs from the
/// channel's prefix and size, SV2_RESULT_NO_PREV_HASH for an active job before any tip.
///
/// @param[in,out] channel  the channel
/// @param[in] factory  the factory that made the job
/// @param job_id  the job, as sv2_job_factory_handle() or sv2_job_factory_jobs() gave it
/// @param min_ntime  absent for a future job, present for a job minable now
/// @param[out] out  receives the job message; its views point into `channel`
/// @return SV2_RESULT_OK; SV2_RESULT_UNKNOWN_JOB, SV2_RESULT_EXTRANONCE_MISMATCH,
/// SV2_RESULT_JOB_TOO_LARGE
///
/// # Safety
/// `channel`, `factory` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_add_job(
    channel: *mut sv2_server_channel,
    factory: *const sv2_job_factory,
    job_id: u32,
    min_ntime: sv2_option_u32,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, f, out) = (&mut arg_mut(channel)?.channel, arg(factory)?, arg_mut(out)?);
        let job = f.job(job_id)?;
        let ntime = min_ntime.present.then_some(min_ntime.value);
        ch.add_job(job_id, job.clone(), ntime)?;
        *out = to_c(&ch.job_message(job_id, ntime).ok_or(sv2_result::Internal)?)?;
        Ok(())
    })
}

/// Activates the factory's tip on the channel: its job (given to the channel before as a
/// future job) becomes the one to mine and every other job is stale. The SetNewPrevHash to
/// send goes to `out`. SV2_RESULT_NO_PREV_HASH before the factory's first tip,
/// SV2_RESULT_UNKNOWN_JOB when the channel does not have the tip's job.
///
/// @param[in,out] channel  the channel
/// @param[in] factory  the factory whose tip to activate
/// @param[out] out  receives the SetNewPrevHash message
/// @return SV2_RESULT_OK; SV2_RESULT_NO_PREV_HASH, SV2_RESULT_UNKNOWN_JOB
///
/// # Safety
/// `channel`, `factory` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_activate(
    channel: *mut sv2_server_channel,
    factory: *const sv2_job_factory,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, f, out) = (&mut arg_mut(channel)?.channel, arg(factory)?, arg_mut(out)?);
        let (job_id, prev) = f.tip()?;
        *out = to_c(&ch.activate(job_id, prev)?.into())?;
        Ok(())
    })
}

/// Validates a SubmitSharesStandard or SubmitSharesExtended at unix time `now` (seconds).
/// SV2_RESULT_OK: accepted, details in `out`; it counts towards vardiff and the next
/// sv2_server_channel_take_success(). A rejected share gives the result that names the
/// spec's error (SV2_RESULT_INVALID_CHANNEL_ID, _INVALID_JOB_ID, _STALE_SHARE,
/// _DIFFICULTY_TOO_LOW, _DUPLICATE_SHARE, _BAD_EXTRANONCE_SIZE,
/// _INVALID_NON_ROLLABLE_VERSION_BIT, _VERSION_ROLLING_NOT_ALLOWED, _NTIME_OUT_OF_RANGE):
/// answer it with sv2_channel_error_reply(); sv2_result_error_code() gives the text. Any other
/// message is SV2_RESULT_INVALID_ARGUMENT.
///
/// @param[in,out] channel  the channel the share was sent on
/// @param[in] submit  a SubmitSharesStandard or SubmitSharesExtended message
/// @param now  unix time in seconds
/// @param[out] out  receives the accepted share
/// @return SV2_RESULT_OK when accepted; a result 300–309 naming the spec's error when rejected;
/// SV2_RESULT_INVALID_ARGUMENT for another message
///
/// # Safety
/// `channel`, `submit` and `out` are valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_validate(
    channel: *mut sv2_server_channel,
    submit: *const sv2_message,
    now: u32,
    out: *mut sv2_accepted_share,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (arg_mut(channel)?, arg_mut(out)?);
        let m = message_to_rust(submit)?;
        let (channel_id, sequence_number, share) = Share::from_submit(&m).ok_or(sv2_result::InvalidArgument)?;
        ch.block = None;
        if channel_id != ch.channel.id() {
            return Err(sv2_result::InvalidChannelId);
        }
        *out = accepted(ch.channel.validate(&share, sequence_number, now)?, &mut ch.block);
        Ok(())
    })
}

/// The SubmitSolution (for the template provider) of the block the last validated share
/// found, into `out`; its coinbase view points into the channel and stays valid until the
/// next call on it. SV2_RESULT_NOT_FOUND when that share found no block.
///
/// @param[in] channel  the channel
/// @param[out] out  receives the SubmitSolution message; its views point into `channel`
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND, SV2_RESULT_JOB_TOO_LARGE
///
/// # Safety
/// `channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_solution(
    channel: *const sv2_server_channel,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (arg(channel)?, arg_mut(out)?);
        *out = solution(&ch.block)?;
        Ok(())
    })
}

/// The SubmitShares.Success for the shares accepted since the last call, into `out`; the
/// batch starts over. SV2_RESULT_NOT_FOUND when there are none.
///
/// @param[in,out] channel  the channel
/// @param[out] out  receives the SubmitShares.Success message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_take_success(
    channel: *mut sv2_server_channel,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (&mut arg_mut(channel)?.channel, arg_mut(out)?);
        *out = to_c(&ch.take_success().ok_or(sv2_result::NotFound)?.into())?;
        Ok(())
    })
}

/// Sets the share target for jobs sent from now on (and future jobs not yet active); the
/// SetTarget to send goes to `out`.
///
/// @param[in,out] channel  the channel
/// @param[in] target  32 bytes: the new share target
/// @param[out] out  receives the SetTarget message
/// @return SV2_RESULT_OK
///
/// # Safety
/// `channel` and `out` are valid; `target` points to 32 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_set_target(
    channel: *mut sv2_server_channel,
    target: *const u8,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, target, out) = (&mut arg_mut(channel)?.channel, array(target)?, arg_mut(out)?);
        ch.set_target(*target);
        *out = set_target(ch.id(), *target)?;
        Ok(())
    })
}

/// Applies an UpdateChannel at monotonic time `now`: the target vardiff aims at for the new
/// nominal hashrate, never easier than the new maximum target. The SetTarget to send goes to
/// `out`; SV2_RESULT_NOT_FOUND when the target stays (nothing to send).
/// SV2_RESULT_INVALID_NOMINAL_HASHRATE (channel unchanged) or SV2_RESULT_INVALID_CHANNEL_ID:
/// answer with sv2_channel_error_reply(). Any other message is SV2_RESULT_INVALID_ARGUMENT.
///
/// @param[in,out] channel  the channel
/// @param[in] update_channel  an UpdateChannel message
/// @param now  monotonic time in seconds
/// @param[out] out  receives the SetTarget message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND, SV2_RESULT_INVALID_NOMINAL_HASHRATE,
/// SV2_RESULT_INVALID_CHANNEL_ID, SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `channel`, `update_channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_update(
    channel: *mut sv2_server_channel,
    update_channel: *const sv2_message,
    now: u64,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (&mut arg_mut(channel)?.channel, arg_mut(out)?);
        *out = update(Some(ch), &message_to_rust(update_channel)?, now)?;
        Ok(())
    })
}

/// Runs vardiff at monotonic time `now`: the SetTarget to send when the observed share rate
/// calls for a new target, into `out`; SV2_RESULT_NOT_FOUND otherwise. Call it every few
/// seconds.
///
/// @param[in,out] channel  the channel
/// @param now  monotonic time in seconds
/// @param[out] out  receives the SetTarget message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_channel_retarget(
    channel: *mut sv2_server_channel,
    now: u64,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (ch, out) = (&mut arg_mut(channel)?.channel, arg_mut(out)?);
        *out = set_target(ch.id(), ch.retarget(now).ok_or(sv2_result::NotFound)?)?;
        Ok(())
    })
}

/// Releases a server channel (NULL does nothing).
///
/// @param[in] channel  a channel from sv2_server_channel_new() or sv2_group_channel_remove(), or NULL
///
/// # Safety
/// `channel` is NULL or came from sv2_server_channel_new() or sv2_group_channel_remove(), is
/// not in a group, and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_server_channel_free(channel: *mut sv2_server_channel) {
    guard_void(|| {
        if !channel.is_null() {
            drop(Box::from_raw(channel));
        }
    })
}

/// The reply that rejects `request` with `result`'s spec error code: SubmitShares.Error for a
/// SubmitSharesStandard or SubmitSharesExtended, UpdateChannel.Error for an UpdateChannel.
/// Its error_code view is a static string. SV2_RESULT_INVALID_ARGUMENT for another message or
/// a result without an error code (see sv2_result_error_code()).
///
/// @param[in] request  the SubmitShares* or UpdateChannel message to reject
/// @param result  why: a result with a spec error code
/// @param[out] out  receives the error message; its views point into `request` and static memory
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `request` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_channel_error_reply(
    request: *const sv2_message,
    result: i32,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (m, out) = (message_to_rust(request)?, arg_mut(out)?);
        let code = sv2_result_error_code(result);
        if code.is_null() {
            return Err(sv2_result::InvalidArgument);
        }
        let error_code = Bytes::new(std::ffi::CStr::from_ptr(code).to_bytes()).map_err(|_| sv2_result::Internal)?;
        let reply: Message<'_> = match m {
            Message::SubmitSharesStandard(s) => {
                SubmitSharesError { channel_id: s.channel_id, sequence_number: s.sequence_number, error_code }.into()
            }
            Message::SubmitSharesExtended(s) => {
                SubmitSharesError { channel_id: s.channel_id, sequence_number: s.sequence_number, error_code }.into()
            }
            Message::UpdateChannel(u) => UpdateChannelError { channel_id: u.channel_id, error_code }.into(),
            _ => return Err(sv2_result::InvalidArgument),
        };
        *out = to_c(&reply)?;
        Ok(())
    })
}

/// An empty group `group_id`. `requires_standard_jobs`: the connection's SetupConnection set
/// REQUIRES_STANDARD_JOBS, so each standard member gets its own NewMiningJob; otherwise one
/// NewExtendedMiningJob addressed to the group carries a job to every standard member.
///
/// @param group_id  the group's channel id
/// @param requires_standard_jobs  the connection asked for standard jobs
/// @param[out] out  receives the group; free it with sv2_group_channel_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_new(
    group_id: u32,
    requires_standard_jobs: bool,
    out: *mut *mut sv2_group_channel,
) -> sv2_result {
    guard(|| {
        let out = arg_mut(out)?;
        *out = Box::into_raw(Box::new(sv2_group_channel {
            group: GroupChannel::new(group_id, requires_standard_jobs),
            block: None,
        }));
        Ok(())
    })
}

/// Moves `*channel` into the group and sets `*channel` to NULL: the group owns it from now on.
/// Give a new channel the jobs it needs first (sv2_job_factory_jobs()), so that it gets them
/// once. SV2_RESULT_INVALID_CHANNEL_ID (and `*channel` untouched) when its id is the group's or
/// a member's.
///
/// @param[in,out] group  the group
/// @param[in,out] channel  points to the channel to move in; set to NULL once the group owns it
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID
///
/// # Safety
/// `group` is valid; `channel` points to a valid channel handle not in any group.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_add(
    group: *mut sv2_group_channel,
    channel: *mut *mut sv2_server_channel,
) -> sv2_result {
    guard(|| {
        let (g, slot) = (&mut arg_mut(group)?.group, arg_mut(channel)?);
        let id = arg(*slot)?.channel.id();
        if id == g.id() || g.get(id).is_some() {
            return Err(sv2_result::InvalidChannelId);
        }
        let ch = Box::from_raw(std::mem::replace(slot, std::ptr::null_mut()));
        g.add(ch.channel)?;
        Ok(())
    })
}

/// Takes member `channel_id` out of the group (CloseChannel) into a handle of its own at
/// `out`, to free with sv2_server_channel_free(). SV2_RESULT_INVALID_CHANNEL_ID when it is not
/// a member.
///
/// @param[in,out] group  the group
/// @param channel_id  the member to take out
/// @param[out] out  receives the member's own handle
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_CHANNEL_ID
///
/// # Safety
/// `group` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_remove(
    group: *mut sv2_group_channel,
    channel_id: u32,
    out: *mut *mut sv2_server_channel,
) -> sv2_result {
    guard(|| {
        let (g, out) = (&mut arg_mut(group)?.group, arg_mut(out)?);
        let channel = g.remove(channel_id).ok_or(sv2_result::InvalidChannelId)?;
        *out = Box::into_raw(Box::new(sv2_server_channel { channel, block: None }));
        Ok(())
    })
}

/// The number of members. Functions that give several messages need room for one more than
/// this.
///
/// @param[in] group  the group
/// @param[out] out  receives the number of members
/// @return SV2_RESULT_OK
///
/// # Safety
/// `group` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_len(group: *const sv2_group_channel, out: *mut usize) -> sv2_result {
    guard(|| {
        let (g, out) = (&arg(group)?.group, arg_mut(out)?);
        *out = g.len();
        Ok(())
    })
}

/// Checks a group call's output array before the group changes: it must hold one message per
/// member and one for the group.
unsafe fn group_output<'g>(
    group: *mut sv2_group_channel,
    out: *mut sv2_message,
    cap: usize,
    written: *mut usize,
) -> Result<&'g mut GroupChannel, sv2_result> {
    let g = &mut arg_mut(group)?.group;
    arg_mut(written)?;
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    if cap <= g.len() {
        return Err(sv2_result::InsufficientSize);
    }
    Ok(g)
}

/// Gives every member the factory's job `job_id` (`min_ntime` as in
/// sv2_server_channel_add_job()). The messages that carry it go to `out` (room for `cap`, at
/// least sv2_group_channel_len() + 1), their number to `written`: one NewExtendedMiningJob to
/// the group for its standard members (or one NewMiningJob each with REQUIRES_STANDARD_JOBS)
/// and one NewExtendedMiningJob per extended member. Their views point into the group and stay
/// valid until the next call on it. On an error members before the failing one keep the job.
///
/// @param[in,out] group  the group
/// @param[in] factory  the factory that made the job
/// @param job_id  the job
/// @param min_ntime  absent for a future job, present for a job minable now
/// @param[out] out  array of `cap` messages, written from the start; their views point into
/// `group`
/// @param cap  room at `out`
/// @param[out] written  receives how many messages were written
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE, and the results of
/// sv2_server_channel_add_job()
///
/// # Safety
/// `group`, `factory` and `written` are valid; `out` points to `cap` writable messages.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_add_job(
    group: *mut sv2_group_channel,
    factory: *const sv2_job_factory,
    job_id: u32,
    min_ntime: sv2_option_u32,
    out: *mut sv2_message,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let f = arg(factory)?;
        let g = group_output(group, out, cap, written)?;
        let job = f.job(job_id)?;
        let msgs = g.add_job(job_id, &job, min_ntime.present.then_some(min_ntime.value))?;
        write_messages(&msgs, out, cap, written)
    })
}

/// Activates the factory's tip on every member. The SetNewPrevHash messages go to `out` (room
/// for `cap`, at least sv2_group_channel_len() + 1), their number to `written`: one to the
/// group for its broadcast members and one per other member.
///
/// @param[in,out] group  the group
/// @param[in] factory  the factory whose tip to activate
/// @param[out] out  array of `cap` messages, written from the start
/// @param cap  room at `out`
/// @param[out] written  receives how many messages were written
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE, SV2_RESULT_NO_PREV_HASH,
/// SV2_RESULT_UNKNOWN_JOB
///
/// # Safety
/// `group`, `factory` and `written` are valid; `out` points to `cap` writable messages.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_activate(
    group: *mut sv2_group_channel,
    factory: *const sv2_job_factory,
    out: *mut sv2_message,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let f = arg(factory)?;
        let g = group_output(group, out, cap, written)?;
        let (job_id, prev) = f.tip()?;
        let msgs: Vec<Message<'_>> = g.activate(job_id, prev)?.into_iter().map(Message::from).collect();
        write_messages(&msgs, out, cap, written)
    })
}

/// Sets `target` on every member; the SetTarget to the group goes to `out`.
///
/// @param[in,out] group  the group
/// @param[in] target  32 bytes: the new share target
/// @param[out] out  receives the SetTarget message
/// @return SV2_RESULT_OK
///
/// # Safety
/// `group` and `out` are valid; `target` points to 32 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_set_target(
    group: *mut sv2_group_channel,
    target: *const u8,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (g, target, out) = (&mut arg_mut(group)?.group, array(target)?, arg_mut(out)?);
        *out = to_c(&g.set_target(*target).into())?;
        Ok(())
    })
}

/// Validates a share on the member it names, as sv2_server_channel_validate() does
/// (SV2_RESULT_INVALID_CHANNEL_ID for a channel that is not a member, the group's id included).
///
/// @param[in,out] group  the group
/// @param[in] submit  a SubmitSharesStandard or SubmitSharesExtended message
/// @param now  unix time in seconds
/// @param[out] out  receives the accepted share
/// @return as sv2_server_channel_validate()
///
/// # Safety
/// `group`, `submit` and `out` are valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_validate(
    group: *mut sv2_group_channel,
    submit: *const sv2_message,
    now: u32,
    out: *mut sv2_accepted_share,
) -> sv2_result {
    guard(|| {
        let (g, out) = (arg_mut(group)?, arg_mut(out)?);
        let m = message_to_rust(submit)?;
        let (channel_id, sequence_number, share) = Share::from_submit(&m).ok_or(sv2_result::InvalidArgument)?;
        g.block = None;
        *out = accepted(g.group.validate(channel_id, &share, sequence_number, now)?, &mut g.block);
        Ok(())
    })
}

/// As sv2_server_channel_solution(), for the last share validated on the group.
///
/// @param[in] group  the group
/// @param[out] out  receives the SubmitSolution message; its views point into `group`
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND, SV2_RESULT_JOB_TOO_LARGE
///
/// # Safety
/// `group` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_solution(
    group: *const sv2_group_channel,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (g, out) = (arg(group)?, arg_mut(out)?);
        *out = solution(&g.block)?;
        Ok(())
    })
}

/// The next member's SubmitShares.Success for the shares it accepted since its last one, into
/// `out`; SV2_RESULT_NOT_FOUND when no member has any. Call until NOT_FOUND.
///
/// @param[in,out] group  the group
/// @param[out] out  receives a SubmitShares.Success message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `group` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_take_success(
    group: *mut sv2_group_channel,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (g, out) = (&mut arg_mut(group)?.group, arg_mut(out)?);
        let s = g.channels_mut().find_map(|c| c.take_success()).ok_or(sv2_result::NotFound)?;
        *out = to_c(&s.into())?;
        Ok(())
    })
}

/// Applies an UpdateChannel to the member it names, as sv2_server_channel_update() does.
///
/// @param[in,out] group  the group
/// @param[in] update_channel  an UpdateChannel message
/// @param now  monotonic time in seconds
/// @param[out] out  receives the SetTarget message
/// @return as sv2_server_channel_update()
///
/// # Safety
/// `group`, `update_channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_update(
    group: *mut sv2_group_channel,
    update_channel: *const sv2_message,
    now: u64,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (g, out) = (&mut arg_mut(group)?.group, arg_mut(out)?);
        let m = message_to_rust(update_channel)?;
        let id = match &m {
            Message::UpdateChannel(u) => u.channel_id,
            _ => return Err(sv2_result::InvalidArgument),
        };
        *out = update(g.get_mut(id), &m, now)?;
        Ok(())
    })
}

/// Runs vardiff on the members at monotonic time `now`: the next SetTarget to send, into
/// `out`; SV2_RESULT_NOT_FOUND when no member needs one. Call until NOT_FOUND.
///
/// @param[in,out] group  the group
/// @param now  monotonic time in seconds
/// @param[out] out  receives a SetTarget message
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `group` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_group_channel_retarget(
    group: *mut sv2_group_channel,
    now: u64,
    out: *mut sv2_message,
) -> sv2_result {
    guard(|| {
        let (g, out) = (&mut arg_mut(group)?.group, arg_mut(out)?);
        let (id, t) =
            g.channels_mut().find_map(|c| c.retarget(now).map(|t| (c.id(), t))).ok_or(sv2_result::NotFound)?;
        *out = set_target(id, t)?;
        Ok(())
    })
}

/// Releases a group and every member in it (NULL does nothing).
///
/// @param[in] group  a group from sv2_group_channel_new(), or NULL
///
/// # Safety
/// `group` is NULL or came from sv2_group_channel_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_group_channel_free(group: *mut sv2_group_channel) {
    guard_void(|| {
        if !group.is_null() {
            drop(Box::from_raw(group));
        }
    })
}
