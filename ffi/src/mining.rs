//! Mining-client logic for C (firmware): a client channel that turns job messages into work
//! to hash, and the hashing helpers around it.

use sv2::channels::client::ClientChannel;
use sv2::channels::hash::{header_bytes, sha256d};
use sv2::channels::target::hash_meets_target;

use crate::boundary::{arg, arg_mut, array, array_mut, bytes, guard, guard_void, put};
use crate::messages::{message_to_rust, sv2_message};
use crate::sv2_result;

/// A standard or extended channel as a mining client tracks it.
pub struct sv2_client_channel(ClientChannel);

/// Work to hash: the header fields and the share target.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_work {
    /// Job id to submit shares for.
    pub job_id: u32,
    /// Header version to start from.
    pub version: u32,
    /// Version bits that may be rolled (0: none).
    pub version_mask: u32,
    /// Previous block hash.
    pub prev_hash: [u8; 32],
    /// Merkle root (for the extranonce given).
    pub merkle_root: [u8; 32],
    /// First nTime.
    pub min_ntime: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Share target of this job (little-endian 256-bit): the channel's when the job arrived,
    /// or the last SetTarget before a future job was activated.
    pub target: [u8; 32],
}

/// A standard channel from OpenStandardMiningChannel.Success's fields.
/// `allow_version_rolling` is false when the server set REQUIRES_FIXED_VERSION.
///
/// @param channel_id  the Success's channel_id
/// @param[in] target  32 bytes: the Success's target
/// @param[in] prefix  the Success's extranonce_prefix (NULL when `prefix_len` is 0)
/// @param prefix_len  bytes at `prefix`, at most SV2_EXTRANONCE_MAX_LEN
/// @param allow_version_rolling  whether the server allows version rolling
/// @param[out] out  receives the channel; free it with sv2_client_channel_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `target` points to 32 bytes, `prefix` to `prefix_len` bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_new_standard(
    channel_id: u32,
    target: *const u8,
    prefix: *const u8,
    prefix_len: usize,
    allow_version_rolling: bool,
    out: *mut *mut sv2_client_channel,
) -> sv2_result {
    guard(|| {
        let (target, prefix, out) = (array(target)?, bytes(prefix, prefix_len)?, arg_mut(out)?);
        let ch = ClientChannel::standard(channel_id, *target, prefix, allow_version_rolling);
        *out = Box::into_raw(Box::new(sv2_client_channel(ch)));
        Ok(())
    })
}

/// An extended channel from OpenExtendedMiningChannel.Success's fields.
///
/// @param channel_id  the Success's channel_id
/// @param[in] target  32 bytes: the Success's target
/// @param[in] prefix  the Success's extranonce_prefix (NULL when `prefix_len` is 0)
/// @param prefix_len  bytes at `prefix`
/// @param extranonce_size  the Success's extranonce_size: the bytes the client rolls
/// @param[out] out  receives the channel; free it with sv2_client_channel_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `target` points to 32 bytes, `prefix` to `prefix_len` bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_new_extended(
    channel_id: u32,
    target: *const u8,
    prefix: *const u8,
    prefix_len: usize,
    extranonce_size: u16,
    out: *mut *mut sv2_client_channel,
) -> sv2_result {
    guard(|| {
        let (target, prefix, out) = (array(target)?, bytes(prefix, prefix_len)?, arg_mut(out)?);
        let ch = ClientChannel::extended(channel_id, *target, prefix, extranonce_size);
        *out = Box::into_raw(Box::new(sv2_client_channel(ch)));
        Ok(())
    })
}

/// Feeds a received message. Job, previous-hash and target messages for this channel or its
/// group, SetExtranoncePrefix for this channel, and SetGroupChannel listing it update it; any
/// other message is ignored (SV2_RESULT_OK), CloseChannel included: compare its id with the
/// channel's and with sv2_client_channel_group().
///
/// @param[in,out] channel  the channel
/// @param[in] msg  a received message (read during the call only)
/// @return SV2_RESULT_OK (also for messages ignored); SV2_RESULT_TOO_LONG for a view over its
/// type's limit
///
/// # Safety
/// `channel` and `msg` are valid; the message's views are valid during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_handle(
    channel: *mut sv2_client_channel,
    msg: *const sv2_message,
) -> sv2_result {
    guard(|| {
        let ch = &mut arg_mut(channel)?.0;
        ch.on_message(&message_to_rust(msg)?);
        Ok(())
    })
}

/// Puts the channel in group `group_channel_id` (the group_channel_id of
/// OpenStandardMiningChannel.Success or OpenExtendedMiningChannel.Success), so that jobs,
/// previous hashes and targets sent to the group reach it. A standard channel builds the
/// merkle root of a group's NewExtendedMiningJob with its own extranonce prefix. The
/// channel's own id means no group.
///
/// @param[in,out] channel  the channel
/// @param group_channel_id  the group's id, or the channel's own for none
/// @return SV2_RESULT_OK
///
/// # Safety
/// `channel` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_set_group(
    channel: *mut sv2_client_channel,
    group_channel_id: u32,
) -> sv2_result {
    guard(|| {
        arg_mut(channel)?.0.set_group_channel_id(group_channel_id);
        Ok(())
    })
}

/// The channel's group id into `out`, or SV2_RESULT_NOT_FOUND (nothing written) when it is in
/// no group but its own.
///
/// @param[in] channel  the channel
/// @param[out] out  receives the group id
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND
///
/// # Safety
/// `channel` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_group(channel: *const sv2_client_channel, out: *mut u32) -> sv2_result {
    guard(|| {
        let (ch, out) = (&arg(channel)?.0, arg_mut(out)?);
        *out = ch.group_channel_id().ok_or(sv2_result::NotFound)?;
        Ok(())
    })
}

/// The work to hash now, with `extranonce` rolled (exactly the channel's extranonce size;
/// ignored for standard channels). SV2_RESULT_NEED_MORE_DATA until a job is active.
///
/// @param[in] channel  the channel
/// @param[in] extranonce  the rolled extranonce (NULL when `extranonce_len` is 0)
/// @param extranonce_len  bytes at `extranonce`
/// @param[out] out  receives the work
/// @return SV2_RESULT_OK; SV2_RESULT_NEED_MORE_DATA, SV2_RESULT_INVALID_ARGUMENT for an
/// extranonce of the wrong size
///
/// # Safety
/// `channel` and `out` are valid; `extranonce` points to `extranonce_len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_client_channel_work(
    channel: *const sv2_client_channel,
    extranonce: *const u8,
    extranonce_len: usize,
    out: *mut sv2_work,
) -> sv2_result {
    guard(|| {
        let (ch, extranonce, out) = (&arg(channel)?.0, bytes(extranonce, extranonce_len)?, arg_mut(out)?);
        *out = work(ch, extranonce)?;
        Ok(())
    })
}

/// The work on `ch` with `extranonce` rolled (exactly its size, ignored on standard channels).
pub(crate) fn work(ch: &ClientChannel, extranonce: &[u8]) -> Result<sv2_work, sv2_result> {
    if ch.extranonce_size() != 0 && extranonce.len() != ch.extranonce_size() {
        return Err(sv2_result::InvalidArgument);
    }
    let w = ch.work(extranonce).ok_or(sv2_result::NeedMoreData)?;
    Ok(sv2_work {
        job_id: w.job_id,
        version: w.version,
        version_mask: w.version_mask,
        prev_hash: w.prev_hash,
        merkle_root: w.merkle_root,
        min_ntime: w.min_ntime,
        nbits: w.nbits,
        target: w.target,
    })
}

/// Releases a client channel (NULL does nothing).
///
/// @param[in] channel  a channel from an sv2_client_channel_new_ function, or NULL
///
/// # Safety
/// `channel` is NULL or came from an sv2_client_channel_new_ function and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_client_channel_free(channel: *mut sv2_client_channel) {
    guard_void(|| {
        if !channel.is_null() {
            drop(Box::from_raw(channel));
        }
    })
}

/// SHA-256d of a block header built from `work` with `ntime`, `nonce` and `version`.
///
/// @param[in] work  the work, from sv2_client_channel_work()
/// @param version  the header's version (rolled within the job's mask, or the job's)
/// @param ntime  the header's nTime
/// @param nonce  the header's nonce
/// @param[out] out  32 bytes: receives the hash
/// @return SV2_RESULT_OK
///
/// # Safety
/// `work` is valid; `out` points to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_work_hash(
    work: *const sv2_work,
    version: u32,
    ntime: u32,
    nonce: u32,
    out: *mut u8,
) -> sv2_result {
    guard(|| {
        let (w, out) = (arg(work)?, array_mut(out)?);
        *out = sha256d(&header_bytes(version, &w.prev_hash, &w.merkle_root, ntime, w.nbits, nonce));
        Ok(())
    })
}

/// Whether `hash` (raw SHA-256d, little-endian integer) is at or below `target`.
///
/// @param[in] hash  32 bytes: the hash
/// @param[in] target  32 bytes: the target, little-endian
/// @param[out] out  receives whether the hash meets the target
/// @return SV2_RESULT_OK
///
/// # Safety
/// `hash` and `target` point to 32 bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_hash_meets_target(hash: *const u8, target: *const u8, out: *mut bool) -> sv2_result {
    guard(|| {
        let (hash, target) = (array(hash)?, array(target)?);
        put(out, hash_meets_target(hash, target))
    })
}

/// SHA-256d of `len` bytes at `data`.
///
/// @param[in] data  the bytes to hash (NULL when `len` is 0)
/// @param len  bytes at `data`
/// @param[out] out  32 bytes: receives the hash
/// @return SV2_RESULT_OK
///
/// # Safety
/// `data` points to `len` bytes; `out` to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_sha256d(data: *const u8, len: usize, out: *mut u8) -> sv2_result {
    guard(|| {
        let (data, out) = (bytes(data, len)?, array_mut(out)?);
        *out = sha256d(data);
        Ok(())
    })
}
