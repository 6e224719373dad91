//! `sv2_frame_decoder`: plaintext frames from a byte stream in any chunking.

use sv2::codec::FrameDecoder;

use crate::boundary::{arg_mut, bytes, guard, guard_void};
use crate::session::sv2_frame;
use crate::sv2_result;

/// Buffers bytes until whole plaintext frames are available.
pub struct sv2_frame_decoder(FrameDecoder);

/// A decoder refusing payloads over `max_payload` bytes (at most 16 777 215).
///
/// @param max_payload  the largest payload accepted; larger values mean 16 777 215
/// @param[out] out  receives the decoder; free it with sv2_frame_decoder_free()
/// @return SV2_RESULT_OK
///
/// # Safety
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_frame_decoder_new(max_payload: usize, out: *mut *mut sv2_frame_decoder) -> sv2_result {
    guard(|| {
        // The out-pointer first: a handle made before a failed check would leak.
        let out = arg_mut(out)?;
        *out = Box::into_raw(Box::new(sv2_frame_decoder(FrameDecoder::new(max_payload))));
        Ok(())
    })
}

/// Appends received bytes.
///
/// @param[in,out] decoder  the decoder
/// @param[in] data  the received bytes (NULL when `len` is 0)
/// @param len  bytes at `data`
/// @return SV2_RESULT_OK
///
/// # Safety
/// `decoder` is valid; `data` points to `len` readable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_frame_decoder_push(
    decoder: *mut sv2_frame_decoder,
    data: *const u8,
    len: usize,
) -> sv2_result {
    guard(|| {
        arg_mut(decoder)?.0.push(bytes(data, len)?);
        Ok(())
    })
}

/// The next whole frame into `out`, or SV2_RESULT_NEED_MORE_DATA; SV2_RESULT_FRAME_TOO_LARGE
/// when the next header announces more than the limit (close the connection).
///
/// @param[in,out] decoder  the decoder
/// @param[out] out  receives the frame; its payload points into `decoder`
/// @return SV2_RESULT_OK; SV2_RESULT_NEED_MORE_DATA, SV2_RESULT_FRAME_TOO_LARGE
///
/// # Safety
/// `decoder` and `out` are valid. `out->payload` is valid until the next call on `decoder`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_frame_decoder_next(decoder: *mut sv2_frame_decoder, out: *mut sv2_frame) -> sv2_result {
    guard(|| {
        let d = arg_mut(decoder)?;
        let out = arg_mut(out)?;
        let frame = d.0.next_frame().map_err(sv2_result::from)?.ok_or(sv2_result::NeedMoreData)?;
        *out = frame.into();
        Ok(())
    })
}

/// Releases a decoder (NULL does nothing).
///
/// @param[in] decoder  a decoder from sv2_frame_decoder_new(), or NULL
///
/// # Safety
/// `decoder` is NULL or came from sv2_frame_decoder_new() and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_frame_decoder_free(decoder: *mut sv2_frame_decoder) {
    guard_void(|| {
        if !decoder.is_null() {
            drop(Box::from_raw(decoder));
        }
    })
}
