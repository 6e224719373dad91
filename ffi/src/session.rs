//! `sv2_session`: one side of a connection (Noise handshake, then encrypted frames), and the
//! frame type shared with the plaintext decoder.

use sv2::codec::{Frame, FrameHeader, CHANNEL_MSG_BIT};
use sv2::noise::{random_bytes, AuthorityPublicKey, ServerAuth, Session};

use crate::boundary::{arg, arg_mut, array, array_mut, bytes, guard, guard_void, put};
use crate::keys::sv2_server_credentials;
use crate::messages::{message_to_rust, sv2_message, sv2_message_decode, sv2_tlv, tlvs_to_rust};
use crate::sv2_result;
use crate::views::sv2_bytes;

/// A connection without I/O: feed it received bytes, take frames, queue messages, write its
/// pending output to the socket. Any error except NEED_MORE_DATA is fatal: close the
/// connection and free the session.
pub struct sv2_session(pub(crate) Session);

/// A received frame. `payload` points into the session's (or decoder's) buffer and is valid
/// until the next call on that handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_frame {
    /// Extension id, without the channel bit.
    pub extension_type: u16,
    /// Message id.
    pub msg_type: u8,
    /// Whether the channel_msg bit was set.
    pub channel_msg: bool,
    /// The payload.
    pub payload: sv2_bytes,
}

impl From<Frame<'_>> for sv2_frame {
    fn from(f: Frame<'_>) -> Self {
        sv2_frame {
            extension_type: f.header.extension_id(),
            msg_type: f.header.msg_type,
            channel_msg: f.header.channel_msg(),
            payload: sv2_bytes { data: f.payload.as_ptr(), len: f.payload.len() },
        }
    }
}

unsafe fn new_session(out: *mut *mut sv2_session, make: impl FnOnce() -> Result<Session, sv2_result>) -> sv2_result {
    guard(|| {
        let out = arg_mut(out)?;
        *out = Box::into_raw(Box::new(sv2_session(make()?)));
        Ok(())
    })
}

/// A client session that pins the pool's authority key (32-byte x-only; see
/// sv2_authority_key_parse()) and checks the server certificate at unix time `now`. The first
/// handshake message is queued at once: write sv2_session_pending_output() to the socket.
///
/// @param[in] authority_key  32 bytes: the authority's x-only public key
/// @param now  unix time in seconds, to check the certificate's validity
/// @param[out] out  receives the session; free it with sv2_session_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY, SV2_RESULT_ENTROPY
///
/// # Safety
/// `authority_key` points to 32 bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_new_initiator(
    authority_key: *const u8,
    now: u32,
    out: *mut *mut sv2_session,
) -> sv2_result {
    new_session(out, || {
        let pk = AuthorityPublicKey::from_bytes(array(authority_key)?).map_err(sv2_result::from)?;
        let entropy = random_bytes().map_err(sv2_result::from)?;
        Session::initiator(ServerAuth::Authority(pk), entropy, now).map_err(sv2_result::from)
    })
}

/// As sv2_session_new_initiator() with the caller's 32 bytes of entropy for the ephemeral key
/// (for deterministic tests, or platforms with their own generator).
///
/// @param[in] authority_key  32 bytes: the authority's x-only public key
/// @param[in] entropy  32 bytes of entropy for the ephemeral key
/// @param now  unix time in seconds, to check the certificate's validity
/// @param[out] out  receives the session; free it with sv2_session_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY
///
/// # Safety
/// `authority_key` and `entropy` point to 32 bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_new_initiator_with_entropy(
    authority_key: *const u8,
    entropy: *const u8,
    now: u32,
    out: *mut *mut sv2_session,
) -> sv2_result {
    new_session(out, || {
        let pk = AuthorityPublicKey::from_bytes(array(authority_key)?).map_err(sv2_result::from)?;
        Session::initiator(ServerAuth::Authority(pk), *array(entropy)?, now).map_err(sv2_result::from)
    })
}

/// A server session answering with `creds` (which may be freed afterwards).
///
/// @param[in] creds  the server's credentials
/// @param[out] out  receives the session; free it with sv2_session_free()
/// @return SV2_RESULT_OK; SV2_RESULT_ENTROPY
///
/// # Safety
/// `creds` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_new_responder(
    creds: *const sv2_server_credentials,
    out: *mut *mut sv2_session,
) -> sv2_result {
    new_session(out, || {
        let creds = &arg(creds)?.0;
        Session::responder(creds, random_bytes().map_err(sv2_result::from)?).map_err(sv2_result::from)
    })
}

/// A session without encryption, for links where the operator owns both ends.
///
/// @param[out] out  receives the session; free it with sv2_session_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_new_plaintext(out: *mut *mut sv2_session) -> sv2_result {
    new_session(out, || Ok(Session::plaintext()))
}

/// Refuses frames with payloads over `max` bytes (default and ceiling 16 777 215).
///
/// @param[in,out] session  the session
/// @param max  the largest payload accepted; larger values mean 16 777 215
/// @return SV2_RESULT_OK
///
/// # Safety
/// `session` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_set_max_payload(session: *mut sv2_session, max: usize) -> sv2_result {
    guard(|| {
        arg_mut(session)?.0.set_max_payload(max);
        Ok(())
    })
}

/// Feeds bytes received from the peer (any chunking). Completes the handshake when its
/// message is whole; the answer, if any, is then pending output.
///
/// @param[in,out] session  the session
/// @param[in] data  the received bytes (NULL when `len` is 0)
/// @param len  bytes at `data`
/// @return SV2_RESULT_OK; a Noise error (200–210): close the connection
///
/// # Safety
/// `session` is valid; `data` points to `len` readable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_receive(session: *mut sv2_session, data: *const u8, len: usize) -> sv2_result {
    guard(|| arg_mut(session)?.0.receive(bytes(data, len)?).map_err(sv2_result::from))
}

/// The next whole received frame into `out`, or SV2_RESULT_NEED_MORE_DATA.
///
/// @param[in,out] session  the session
/// @param[out] out  receives the frame; its payload points into `session`
/// @return SV2_RESULT_OK; SV2_RESULT_NEED_MORE_DATA, or an error that ends the session
///
/// # Safety
/// `session` and `out` are valid. `out->payload` is valid until the next call on `session`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_next_frame(session: *mut sv2_session, out: *mut sv2_frame) -> sv2_result {
    guard(|| {
        let s = arg_mut(session)?;
        let out = arg_mut(out)?;
        let frame = s.0.next_frame().map_err(sv2_result::from)?.ok_or(sv2_result::NeedMoreData)?;
        *out = frame.into();
        Ok(())
    })
}

/// The next whole received frame decoded as a message into `out` (TLV bytes into `tlvs_out`
/// when not NULL), or SV2_RESULT_NEED_MORE_DATA. A frame that does not decode is consumed and
/// answered with the decode error (SV2_RESULT_UNKNOWN_MESSAGE for a message of an extension
/// not negotiated); the session stays usable.
///
/// @param[in,out] session  the session
/// @param[out] out  receives the message; its views point into `session`
/// @param[out] tlvs_out  receives the TLV bytes after the fields, or NULL to ignore them
/// @return SV2_RESULT_OK; SV2_RESULT_NEED_MORE_DATA, a decode error (the frame is dropped, the
/// session goes on), or an error that ends the session
///
/// # Safety
/// `session` and `out` are valid; `tlvs_out` is NULL or valid. The message's views are valid
/// until the next call on `session`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_next_message(
    session: *mut sv2_session,
    out: *mut sv2_message,
    tlvs_out: *mut sv2_bytes,
) -> sv2_result {
    // Checked first: a frame taken from the session cannot be put back.
    if out.is_null() {
        return sv2_result::NullParameter;
    }
    let mut frame = std::mem::MaybeUninit::<sv2_frame>::uninit();
    match sv2_session_next_frame(session, frame.as_mut_ptr()) {
        sv2_result::Ok => {
            let f = frame.assume_init();
            sv2_message_decode(f.extension_type, f.msg_type, f.payload.data, f.payload.len, out, tlvs_out)
        }
        other => other,
    }
}

/// Queues `msg` (followed by `n_tlvs` TLV fields) as one frame, encrypted once the handshake
/// is done. SV2_RESULT_NOT_ESTABLISHED before that.
///
/// @param[in,out] session  the session
/// @param[in] msg  the message (read during the call only)
/// @param[in] tlvs  `n_tlvs` TLV fields to append (NULL when 0)
/// @param n_tlvs  number of TLVs
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_ESTABLISHED, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `session` and `msg` are valid; `tlvs` points to `n_tlvs` TLVs (NULL when 0).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_send(
    session: *mut sv2_session,
    msg: *const sv2_message,
    tlvs: *const sv2_tlv,
    n_tlvs: usize,
) -> sv2_result {
    guard(|| {
        let s = arg_mut(session)?;
        let m = message_to_rust(msg);
        let m = m.as_ref().map_err(|e| *e)?;
        let tlvs = tlvs_to_rust(tlvs, n_tlvs)?;
        s.0.send(m, &tlvs).map_err(sv2_result::from)
    })
}

/// Queues a frame given as ids and a raw payload (for forwarding frames unchanged).
///
/// @param[in,out] session  the session
/// @param extension_type  the frame's extension_type (without the channel bit)
/// @param msg_type  the frame's msg_type
/// @param channel_msg  whether to set the channel bit
/// @param[in] payload  the payload (NULL when `len` is 0)
/// @param len  bytes at `payload`
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_ESTABLISHED, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `session` is valid; `payload` points to `len` readable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_send_frame(
    session: *mut sv2_session,
    extension_type: u16,
    msg_type: u8,
    channel_msg: bool,
    payload: *const u8,
    len: usize,
) -> sv2_result {
    guard(|| {
        let s = arg_mut(session)?;
        let msg_length = u32::try_from(len).ok().filter(|l| *l <= 0xFF_FFFF).ok_or(sv2_result::TooLong)?;
        let payload = bytes(payload, len)?;
        let ext = (extension_type & !CHANNEL_MSG_BIT) | if channel_msg { CHANNEL_MSG_BIT } else { 0 };
        s.0.send_frame(FrameHeader { extension_type: ext, msg_type, msg_length }, payload).map_err(sv2_result::from)
    })
}

/// Points `data`/`len` at the bytes waiting to be written to the peer (valid until the next
/// call on `session`). After writing some, call sv2_session_consume_output().
///
/// @param[in] session  the session
/// @param[out] data  receives a pointer to the pending bytes
/// @param[out] len  receives their number (0: nothing to write)
/// @return SV2_RESULT_OK
///
/// # Safety
/// `session`, `data` and `len` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_pending_output(
    session: *const sv2_session,
    data: *mut *const u8,
    len: *mut usize,
) -> sv2_result {
    guard(|| {
        let (s, d, l) = (arg(session)?, arg_mut(data)?, arg_mut(len)?);
        let out = s.0.pending_output();
        *d = out.as_ptr();
        *l = out.len();
        Ok(())
    })
}

/// Marks the first `n` pending bytes as written (more than pending empties it).
///
/// @param[in,out] session  the session
/// @param n  bytes written to the socket
/// @return SV2_RESULT_OK
///
/// # Safety
/// `session` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_consume_output(session: *mut sv2_session, n: usize) -> sv2_result {
    guard(|| {
        arg_mut(session)?.0.consume_output(n);
        Ok(())
    })
}

/// Whether frames can be sent and received yet.
///
/// @param[in] session  the session
/// @param[out] out  receives whether the handshake is done
/// @return SV2_RESULT_OK
///
/// # Safety
/// `session` and `out` are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_is_established(session: *const sv2_session, out: *mut bool) -> sv2_result {
    guard(|| {
        let s = arg(session)?;
        put(out, s.0.is_established())
    })
}

/// For a client, once established: the server's x-only static key.
///
/// @param[in] session  a client session
/// @param[out] out  32 bytes: receives the server's static key
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_ESTABLISHED before the handshake ends, and always for a
/// server or plaintext session
///
/// # Safety
/// `session` is valid; `out` points to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_session_server_key(session: *const sv2_session, out: *mut u8) -> sv2_result {
    guard(|| {
        let (s, out) = (arg(session)?, array_mut(out)?);
        *out = s.0.handshake_info().ok_or(sv2_result::NotEstablished)?.server_static_key;
        Ok(())
    })
}

/// Releases a session (NULL does nothing).
///
/// @param[in] session  a session from an sv2_session_new_ function, or NULL
///
/// # Safety
/// `session` is NULL or came from an sv2_session_new_ function and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_session_free(session: *mut sv2_session) {
    guard_void(|| {
        if !session.is_null() {
            drop(Box::from_raw(session));
        }
    })
}
