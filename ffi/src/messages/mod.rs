//! Every Stratum V2 message as a C struct, `sv2_message` (the id pair and a union of all of
//! them), and encode/decode.
//!
//! Each C struct mirrors its Rust message field for field, in wire order: integers as
//! integers, U256 as `uint8_t[32]`, byte strings as [`sv2_bytes`] views, sequences as list
//! views, OPTION\[U32\] as [`sv2_option_u32`].

/// Implements the conversions between a C message struct and its Rust message; every field
/// converts through [`CField`].
macro_rules! convert {
    ($c:ident, $rust:ident $(<$lt:lifetime>)? { $($field:ident),* $(,)? }) => {
        impl $c {
            pub(crate) fn from_rust(m: &sv2::messages::$rust) -> Self {
                $c { $( $field: crate::views::CField::from_rust(&m.$field), )* }
            }
            /// # Safety
            /// Every view in `self` is valid for `'a`.
            pub(crate) unsafe fn to_rust<'a>(&self) -> Result<sv2::messages::$rust $(<$lt>)?, crate::sv2_result> {
                Ok(sv2::messages::$rust { $( $field: crate::views::CField::to_rust(&self.$field)?, )* })
            }
        }
    };
}

mod common;
mod extensions;
mod job_declaration;
mod mining;
mod template_distribution;

pub use common::*;
pub use extensions::*;
pub use job_declaration::*;
pub use mining::*;
pub use template_distribution::*;

use sv2::codec::{encode_frame, frame_len, Encode, Tlv, TlvList};
use sv2::Message;

use crate::boundary::{arg, arg_mut, bytes, guard, slice};
use crate::sv2_result;
use crate::views::CField;
pub use crate::views::{sv2_bytes, sv2_bytes_list, sv2_option_u32, sv2_u16_list, sv2_u256_list, sv2_u32_list};

/// Maps each message to its union member, both ways.
macro_rules! message_union {
    ($( $ext:literal, $ty:literal => $member:ident : $c:ident = $rust:ident ),* $(,)?) => {
        /// The body of an sv2_message: read the member that `msg_type` (and `extension_type`)
        /// name.
        #[repr(C)]
        #[derive(Clone, Copy)]
        pub union sv2_message_body {
            $( #[allow(missing_docs)] pub $member: $c, )*
        }

        fn from_rust(m: &Message<'_>) -> sv2_message {
            let body = match m {
                $( Message::$rust(x) => sv2_message_body { $member: $c::from_rust(x) }, )*
            };
            sv2_message { extension_type: m.extension_type(), msg_type: m.msg_type(), body }
        }

        /// # Safety
        /// The member named by the ids is initialised and its views are valid for `'a`.
        unsafe fn to_rust<'a>(m: &sv2_message) -> Result<Message<'a>, sv2_result> {
            Ok(match (m.extension_type & 0x7fff, m.msg_type) {
                $( ($ext, $ty) => Message::$rust(m.body.$member.to_rust()?), )*
                _ => return Err(sv2_result::UnknownMessage),
            })
        }
    };
}

message_union! {
    0x0000, 0x00 => setup_connection: sv2_setup_connection = SetupConnection,
    0x0000, 0x01 => setup_connection_success: sv2_setup_connection_success = SetupConnectionSuccess,
    0x0000, 0x02 => setup_connection_error: sv2_setup_connection_error = SetupConnectionError,
    0x0000, 0x03 => channel_endpoint_changed: sv2_channel_endpoint_changed = ChannelEndpointChanged,
    0x0000, 0x04 => reconnect: sv2_reconnect = Reconnect,
}

/// A message: its ids and the union member they name. Decoded messages' views point into the
/// decoded payload.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sv2_message {
    /// Extension that defines the message (0 for core messages), without the channel bit.
    pub extension_type: u16,
    /// Message id (SV2_MSG_* constants).
    pub msg_type: u8,
    /// The fields.
    pub body: sv2_message_body,
}

/// A TLV field to append after a message's core fields (extensions such as 0x0002).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_tlv {
    /// Extension that defines the field.
    pub extension_type: u16,
    /// Field number within the extension.
    pub field_type: u8,
    /// The value (at most 65 535 bytes).
    pub value: sv2_bytes,
}

/// Converts C TLVs into Rust ones borrowing the same memory.
///
/// # Safety
/// `tlvs` points to `n` valid TLVs whose values are valid for `'a`.
pub(crate) unsafe fn tlvs_to_rust<'a>(tlvs: *const sv2_tlv, n: usize) -> Result<Vec<Tlv<'a>>, sv2_result> {
    slice(tlvs, n)?
        .iter()
        .map(|t| {
            let value = bytes(t.value.data, t.value.len)?;
            if value.len() > usize::from(u16::MAX) {
                return Err(sv2_result::TooLong);
            }
            Ok(Tlv { extension_type: t.extension_type, field_type: t.field_type, value })
        })
        .collect()
}

/// Converts a C message into the Rust one (for encoding and sending).
///
/// # Safety
/// As [`to_rust`].
pub(crate) unsafe fn message_to_rust<'a>(m: *const sv2_message) -> Result<Message<'a>, sv2_result> {
    to_rust(arg(m)?)
}

/// Decodes `payload` as the message `(extension_type, msg_type)` into `out`; its views point
/// into `payload`. The channel bit of `extension_type` is ignored. Bytes after the message's
/// fields must be whole TLV records; their raw bytes go to `tlvs_out` when it is not NULL
/// (read them with sv2_tlvs_find()).
///
/// # Safety
/// `payload` points to `payload_len` readable bytes; `out` and `tlvs_out` are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_message_decode(
    extension_type: u16,
    msg_type: u8,
    payload: *const u8,
    payload_len: usize,
    out: *mut sv2_message,
    tlvs_out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let payload = bytes(payload, payload_len)?;
        let out = arg_mut(out)?;
        let (m, tlvs) = Message::decode(extension_type, msg_type, payload).map_err(sv2_result::from)?;
        *out = from_rust(&m);
        if let Some(t) = tlvs_out.as_mut() {
            *t = sv2_bytes { data: tlvs.as_bytes().as_ptr(), len: tlvs.as_bytes().len() };
        }
        Ok(())
    })
}

/// The exact payload size of `msg` (without frame header) into `out_len`.
///
/// # Safety
/// `msg` and `out_len` are NULL or valid; the message's views are valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_message_encoded_len(msg: *const sv2_message, out_len: *mut usize) -> sv2_result {
    guard(|| {
        let len = message_to_rust(msg)?.encoded_len();
        *arg_mut(out_len)? = len;
        Ok(())
    })
}

/// Encodes the payload of `msg` (without frame header) into `(out, cap)`; its length goes to
/// `written`.
///
/// # Safety
/// `msg` valid; `out` points to `cap` writable bytes; `written` valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_message_encode(
    msg: *const sv2_message,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let m = message_to_rust(msg)?;
        let written = arg_mut(written)?;
        let needed = m.encoded_len();
        if needed > cap {
            return Err(sv2_result::InsufficientSize);
        }
        if needed > 0 && out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let buf = std::slice::from_raw_parts_mut(out, needed);
        *written = m.encode_into(buf).map_err(sv2_result::from)?;
        Ok(())
    })
}

/// The size of the whole plaintext frame (6-byte header, message, TLVs) into `out_len`.
///
/// # Safety
/// `msg` valid; `tlvs` points to `n_tlvs` valid TLVs (NULL when 0); `out_len` valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_frame_encoded_len(
    msg: *const sv2_message,
    tlvs: *const sv2_tlv,
    n_tlvs: usize,
    out_len: *mut usize,
) -> sv2_result {
    guard(|| {
        let len = frame_len(&message_to_rust(msg)?, &tlvs_to_rust(tlvs, n_tlvs)?);
        *arg_mut(out_len)? = len;
        Ok(())
    })
}

/// Encodes a whole plaintext frame — header with the spec's channel bit, message, then TLVs —
/// into `(out, cap)`; its length goes to `written`.
///
/// # Safety
/// `msg` valid; `tlvs` points to `n_tlvs` valid TLVs (NULL when 0); `out` points to `cap`
/// writable bytes; `written` valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_frame_encode(
    msg: *const sv2_message,
    tlvs: *const sv2_tlv,
    n_tlvs: usize,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let m = message_to_rust(msg)?;
        let tlvs = tlvs_to_rust(tlvs, n_tlvs)?;
        let written = arg_mut(written)?;
        let needed = frame_len(&m, &tlvs);
        if needed > cap {
            return Err(sv2_result::InsufficientSize);
        }
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        *written = encode_frame(&m, &tlvs, std::slice::from_raw_parts_mut(out, needed)).map_err(sv2_result::from)?;
        Ok(())
    })
}

/// Finds the TLV `(extension_type, field_type)` in TLV bytes returned by a decode, and points
/// `out` at its value. SV2_RESULT_NOT_FOUND when absent.
///
/// # Safety
/// `tlvs.data` is valid for `tlvs.len` bytes; `out` valid.
#[no_mangle]
pub unsafe extern "C" fn sv2_tlvs_find(
    tlvs: sv2_bytes,
    extension_type: u16,
    field_type: u8,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let list = TlvList::parse(bytes(tlvs.data, tlvs.len)?).map_err(sv2_result::from)?;
        let out = arg_mut(out)?;
        let v = list.find(extension_type, field_type).ok_or(sv2_result::NotFound)?;
        *out = sv2_bytes { data: v.as_ptr(), len: v.len() };
        Ok(())
    })
}
