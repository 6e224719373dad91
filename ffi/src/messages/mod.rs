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
            /// Every view in `self` is valid for the message's lifetime.
            pub(crate) unsafe fn to_rust $(<$lt>)? (self) -> Result<sv2::messages::$rust $(<$lt>)?, crate::sv2_result> {
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

use sv2::codec::{encode_frame, frame_len, Encode, Tlv, TlvList, CHANNEL_MSG_BIT};
use sv2::Message;

use crate::boundary::{arg, arg_mut, bytes, guard, out_buffer, slice};
use crate::sv2_result;
pub use crate::views::{
    sv2_bool, sv2_bytes, sv2_bytes_list, sv2_option_u32, sv2_u16_list, sv2_u256_list, sv2_u32_list,
};

/// The body of an sv2_message: read the member that `msg_type` (and `extension_type`) name.
/// Its size is fixed at 256 bytes (`reserved`), so that messages added later do not change
/// the size of the sv2_message a caller allocates (docs/ABI.md).
#[repr(C)]
#[derive(Clone, Copy)]
pub union sv2_message_body {
    /// SV2_MSG_SETUP_CONNECTION.
    pub setup_connection: sv2_setup_connection,
    /// SV2_MSG_SETUP_CONNECTION_SUCCESS.
    pub setup_connection_success: sv2_setup_connection_success,
    /// SV2_MSG_SETUP_CONNECTION_ERROR.
    pub setup_connection_error: sv2_setup_connection_error,
    /// SV2_MSG_CHANNEL_ENDPOINT_CHANGED.
    pub channel_endpoint_changed: sv2_channel_endpoint_changed,
    /// SV2_MSG_RECONNECT.
    pub reconnect: sv2_reconnect,
    /// SV2_MSG_OPEN_STANDARD_MINING_CHANNEL.
    pub open_standard_mining_channel: sv2_open_standard_mining_channel,
    /// SV2_MSG_OPEN_STANDARD_MINING_CHANNEL_SUCCESS.
    pub open_standard_mining_channel_success: sv2_open_standard_mining_channel_success,
    /// SV2_MSG_OPEN_MINING_CHANNEL_ERROR.
    pub open_mining_channel_error: sv2_open_mining_channel_error,
    /// SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL.
    pub open_extended_mining_channel: sv2_open_extended_mining_channel,
    /// SV2_MSG_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS.
    pub open_extended_mining_channel_success: sv2_open_extended_mining_channel_success,
    /// SV2_MSG_NEW_MINING_JOB.
    pub new_mining_job: sv2_new_mining_job,
    /// SV2_MSG_UPDATE_CHANNEL.
    pub update_channel: sv2_update_channel,
    /// SV2_MSG_UPDATE_CHANNEL_ERROR.
    pub update_channel_error: sv2_update_channel_error,
    /// SV2_MSG_CLOSE_CHANNEL.
    pub close_channel: sv2_close_channel,
    /// SV2_MSG_SET_EXTRANONCE_PREFIX.
    pub set_extranonce_prefix: sv2_set_extranonce_prefix,
    /// SV2_MSG_SUBMIT_SHARES_STANDARD.
    pub submit_shares_standard: sv2_submit_shares_standard,
    /// SV2_MSG_SUBMIT_SHARES_EXTENDED.
    pub submit_shares_extended: sv2_submit_shares_extended,
    /// SV2_MSG_SUBMIT_SHARES_SUCCESS.
    pub submit_shares_success: sv2_submit_shares_success,
    /// SV2_MSG_SUBMIT_SHARES_ERROR.
    pub submit_shares_error: sv2_submit_shares_error,
    /// SV2_MSG_NEW_EXTENDED_MINING_JOB.
    pub new_extended_mining_job: sv2_new_extended_mining_job,
    /// SV2_MSG_SET_NEW_PREV_HASH.
    pub set_new_prev_hash: sv2_set_new_prev_hash,
    /// SV2_MSG_SET_TARGET.
    pub set_target: sv2_set_target,
    /// SV2_MSG_SET_CUSTOM_MINING_JOB.
    pub set_custom_mining_job: sv2_set_custom_mining_job,
    /// SV2_MSG_SET_CUSTOM_MINING_JOB_SUCCESS.
    pub set_custom_mining_job_success: sv2_set_custom_mining_job_success,
    /// SV2_MSG_SET_CUSTOM_MINING_JOB_ERROR.
    pub set_custom_mining_job_error: sv2_set_custom_mining_job_error,
    /// SV2_MSG_SET_GROUP_CHANNEL.
    pub set_group_channel: sv2_set_group_channel,
    /// SV2_MSG_ALLOCATE_MINING_JOB_TOKEN.
    pub allocate_mining_job_token: sv2_allocate_mining_job_token,
    /// SV2_MSG_ALLOCATE_MINING_JOB_TOKEN_SUCCESS.
    pub allocate_mining_job_token_success: sv2_allocate_mining_job_token_success,
    /// SV2_MSG_PROVIDE_MISSING_TRANSACTIONS.
    pub provide_missing_transactions: sv2_provide_missing_transactions,
    /// SV2_MSG_PROVIDE_MISSING_TRANSACTIONS_SUCCESS.
    pub provide_missing_transactions_success: sv2_provide_missing_transactions_success,
    /// SV2_MSG_DECLARE_MINING_JOB.
    pub declare_mining_job: sv2_declare_mining_job,
    /// SV2_MSG_DECLARE_MINING_JOB_SUCCESS.
    pub declare_mining_job_success: sv2_declare_mining_job_success,
    /// SV2_MSG_DECLARE_MINING_JOB_ERROR.
    pub declare_mining_job_error: sv2_declare_mining_job_error,
    /// SV2_MSG_PUSH_SOLUTION.
    pub push_solution: sv2_push_solution,
    /// SV2_MSG_COINBASE_OUTPUT_CONSTRAINTS.
    pub coinbase_output_constraints: sv2_coinbase_output_constraints,
    /// SV2_MSG_NEW_TEMPLATE.
    pub new_template: sv2_new_template,
    /// SV2_MSG_SET_NEW_PREV_HASH_TDP.
    pub set_new_prev_hash_tdp: sv2_set_new_prev_hash_tdp,
    /// SV2_MSG_REQUEST_TRANSACTION_DATA.
    pub request_transaction_data: sv2_request_transaction_data,
    /// SV2_MSG_REQUEST_TRANSACTION_DATA_SUCCESS.
    pub request_transaction_data_success: sv2_request_transaction_data_success,
    /// SV2_MSG_REQUEST_TRANSACTION_DATA_ERROR.
    pub request_transaction_data_error: sv2_request_transaction_data_error,
    /// SV2_MSG_SUBMIT_SOLUTION.
    pub submit_solution: sv2_submit_solution,
    /// SV2_MSG_REQUEST_EXTENSIONS with extension_type SV2_EXTENSION_NEGOTIATION.
    pub request_extensions: sv2_request_extensions,
    /// SV2_MSG_REQUEST_EXTENSIONS_SUCCESS with extension_type SV2_EXTENSION_NEGOTIATION.
    pub request_extensions_success: sv2_request_extensions_success,
    /// SV2_MSG_REQUEST_EXTENSIONS_ERROR with extension_type SV2_EXTENSION_NEGOTIATION.
    pub request_extensions_error: sv2_request_extensions_error,
    /// Room for messages added later; never read or written.
    pub reserved: [u64; 32],
}

// Every message must fit the reserved room; one that does not is an ABI change (a new
// SONAME), not something to absorb silently.
const _: () = assert!(std::mem::size_of::<sv2_message_body>() == 256);

/// Maps each message to its union member, both ways.
macro_rules! message_union {
    ($( $ext:literal, $ty:literal => $member:ident : $c:ident = $rust:ident ),* $(,)?) => {
        /// Writes `m` into `*out` field by field: only the member in use is written, and no
        /// whole union is built and copied (that copy was most of the C ABI's decode cost).
        ///
        /// # Safety
        /// `out` points to writable memory for an sv2_message, initialised or not.
        pub(crate) unsafe fn write_c(m: &Message<'_>, out: *mut sv2_message) {
            std::ptr::addr_of_mut!((*out).extension_type).write(m.extension_type());
            std::ptr::addr_of_mut!((*out).msg_type).write(m.msg_type());
            match m {
                $( Message::$rust(x) => std::ptr::addr_of_mut!((*out).body.$member).write($c::from_rust(x)), )*
            }
        }

        /// # Safety
        /// The member named by the ids is initialised and its views are valid for `'a`.
        unsafe fn to_rust<'a>(m: &sv2_message) -> Result<Message<'a>, sv2_result> {
            Ok(match (m.extension_type & !CHANNEL_MSG_BIT, m.msg_type) {
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
    0x0000, 0x10 => open_standard_mining_channel: sv2_open_standard_mining_channel = OpenStandardMiningChannel,
    0x0000, 0x11 => open_standard_mining_channel_success: sv2_open_standard_mining_channel_success = OpenStandardMiningChannelSuccess,
    0x0000, 0x12 => open_mining_channel_error: sv2_open_mining_channel_error = OpenMiningChannelError,
    0x0000, 0x13 => open_extended_mining_channel: sv2_open_extended_mining_channel = OpenExtendedMiningChannel,
    0x0000, 0x14 => open_extended_mining_channel_success: sv2_open_extended_mining_channel_success = OpenExtendedMiningChannelSuccess,
    0x0000, 0x15 => new_mining_job: sv2_new_mining_job = NewMiningJob,
    0x0000, 0x16 => update_channel: sv2_update_channel = UpdateChannel,
    0x0000, 0x17 => update_channel_error: sv2_update_channel_error = UpdateChannelError,
    0x0000, 0x18 => close_channel: sv2_close_channel = CloseChannel,
    0x0000, 0x19 => set_extranonce_prefix: sv2_set_extranonce_prefix = SetExtranoncePrefix,
    0x0000, 0x1a => submit_shares_standard: sv2_submit_shares_standard = SubmitSharesStandard,
    0x0000, 0x1b => submit_shares_extended: sv2_submit_shares_extended = SubmitSharesExtended,
    0x0000, 0x1c => submit_shares_success: sv2_submit_shares_success = SubmitSharesSuccess,
    0x0000, 0x1d => submit_shares_error: sv2_submit_shares_error = SubmitSharesError,
    0x0000, 0x1f => new_extended_mining_job: sv2_new_extended_mining_job = NewExtendedMiningJob,
    0x0000, 0x20 => set_new_prev_hash: sv2_set_new_prev_hash = SetNewPrevHash,
    0x0000, 0x21 => set_target: sv2_set_target = SetTarget,
    0x0000, 0x22 => set_custom_mining_job: sv2_set_custom_mining_job = SetCustomMiningJob,
    0x0000, 0x23 => set_custom_mining_job_success: sv2_set_custom_mining_job_success = SetCustomMiningJobSuccess,
    0x0000, 0x24 => set_custom_mining_job_error: sv2_set_custom_mining_job_error = SetCustomMiningJobError,
    0x0000, 0x25 => set_group_channel: sv2_set_group_channel = SetGroupChannel,
    0x0000, 0x50 => allocate_mining_job_token: sv2_allocate_mining_job_token = AllocateMiningJobToken,
    0x0000, 0x51 => allocate_mining_job_token_success: sv2_allocate_mining_job_token_success = AllocateMiningJobTokenSuccess,
    0x0000, 0x55 => provide_missing_transactions: sv2_provide_missing_transactions = ProvideMissingTransactions,
    0x0000, 0x56 => provide_missing_transactions_success: sv2_provide_missing_transactions_success = ProvideMissingTransactionsSuccess,
    0x0000, 0x57 => declare_mining_job: sv2_declare_mining_job = DeclareMiningJob,
    0x0000, 0x58 => declare_mining_job_success: sv2_declare_mining_job_success = DeclareMiningJobSuccess,
    0x0000, 0x59 => declare_mining_job_error: sv2_declare_mining_job_error = DeclareMiningJobError,
    0x0000, 0x60 => push_solution: sv2_push_solution = PushSolution,
    0x0000, 0x70 => coinbase_output_constraints: sv2_coinbase_output_constraints = CoinbaseOutputConstraints,
    0x0000, 0x71 => new_template: sv2_new_template = NewTemplate,
    0x0000, 0x72 => set_new_prev_hash_tdp: sv2_set_new_prev_hash_tdp = SetNewPrevHashTdp,
    0x0000, 0x73 => request_transaction_data: sv2_request_transaction_data = RequestTransactionData,
    0x0000, 0x74 => request_transaction_data_success: sv2_request_transaction_data_success = RequestTransactionDataSuccess,
    0x0000, 0x75 => request_transaction_data_error: sv2_request_transaction_data_error = RequestTransactionDataError,
    0x0000, 0x76 => submit_solution: sv2_submit_solution = SubmitSolution,
    0x0001, 0x00 => request_extensions: sv2_request_extensions = RequestExtensions,
    0x0001, 0x01 => request_extensions_success: sv2_request_extensions_success = RequestExtensionsSuccess,
    0x0001, 0x02 => request_extensions_error: sv2_request_extensions_error = RequestExtensionsError,
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
/// @param extension_type  the frame's extension_type (channel bit ignored)
/// @param msg_type  the frame's msg_type
/// @param[in] payload  the payload bytes (NULL when `payload_len` is 0)
/// @param payload_len  bytes at `payload`
/// @param[out] out  receives the message; its views point into `payload`
/// @param[out] tlvs_out  receives the TLV bytes after the fields, or NULL to ignore them
/// @return SV2_RESULT_OK; a decode error (100–107)
///
/// # Safety
/// `payload` points to `payload_len` readable bytes; `out` and `tlvs_out` are NULL or valid.
#[no_mangle]
#[must_use]
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
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let (m, tlvs) = match Message::decode(extension_type, msg_type, payload) {
            Ok(decoded) => decoded,
            Err(e) => return Err(e.into()),
        };
        write_c(&m, out);
        if let Some(t) = tlvs_out.as_mut() {
            *t = sv2_bytes { data: tlvs.as_bytes().as_ptr(), len: tlvs.as_bytes().len() };
        }
        Ok(())
    })
}

/// The exact payload size of `msg` (without frame header) into `out_len`.
///
/// @param[in] msg  the message
/// @param[out] out_len  receives the payload size in bytes
/// @return SV2_RESULT_OK; SV2_RESULT_TOO_LONG and the other errors of a view that does not fit
/// its type
///
/// # Safety
/// `msg` and `out_len` are NULL or valid; the message's views are valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_message_encoded_len(msg: *const sv2_message, out_len: *mut usize) -> sv2_result {
    guard(|| {
        let out_len = arg_mut(out_len)?;
        *out_len = message_to_rust(msg)?.encoded_len();
        Ok(())
    })
}

/// Encodes the payload of `msg` (without frame header) into `(out, cap)`; its length goes to
/// `written`.
///
/// @param[in] msg  the message
/// @param[out] out  buffer for the payload
/// @param cap  bytes at `out`
/// @param[out] written  receives the payload's length
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE, and the errors of
/// sv2_message_encoded_len()
///
/// # Safety
/// `msg` valid; `out` points to `cap` writable bytes; `written` valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_message_encode(
    msg: *const sv2_message,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        // Borrowed where it was built: moving a Message costs a copy the size of the largest.
        let m = message_to_rust(msg);
        let m = m.as_ref().map_err(|e| *e)?;
        let written = arg_mut(written)?;
        *written = m.encode_into(out_buffer(out, cap)?).map_err(sv2_result::from)?;
        Ok(())
    })
}

/// The size of the whole plaintext frame (6-byte header, message, TLVs) into `out_len`.
///
/// @param[in] msg  the message
/// @param[in] tlvs  `n_tlvs` TLV fields to append (NULL when 0)
/// @param n_tlvs  number of TLVs
/// @param[out] out_len  receives the frame size in bytes
/// @return SV2_RESULT_OK; SV2_RESULT_TOO_LONG
///
/// # Safety
/// `msg` valid; `tlvs` points to `n_tlvs` valid TLVs (NULL when 0); `out_len` valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_frame_encoded_len(
    msg: *const sv2_message,
    tlvs: *const sv2_tlv,
    n_tlvs: usize,
    out_len: *mut usize,
) -> sv2_result {
    guard(|| {
        let out_len = arg_mut(out_len)?;
        *out_len = frame_len(&message_to_rust(msg)?, &tlvs_to_rust(tlvs, n_tlvs)?);
        Ok(())
    })
}

/// Encodes a whole plaintext frame — header with the spec's channel bit, message, then TLVs —
/// into `(out, cap)`; its length goes to `written`.
///
/// @param[in] msg  the message
/// @param[in] tlvs  `n_tlvs` TLV fields to append (NULL when 0)
/// @param n_tlvs  number of TLVs
/// @param[out] out  buffer for the frame
/// @param cap  bytes at `out`
/// @param[out] written  receives the frame's length
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `msg` valid; `tlvs` points to `n_tlvs` valid TLVs (NULL when 0); `out` points to `cap`
/// writable bytes; `written` valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_frame_encode(
    msg: *const sv2_message,
    tlvs: *const sv2_tlv,
    n_tlvs: usize,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let m = message_to_rust(msg);
        let m = m.as_ref().map_err(|e| *e)?;
        let tlvs = tlvs_to_rust(tlvs, n_tlvs)?;
        let written = arg_mut(written)?;
        *written = encode_frame(m, &tlvs, out_buffer(out, cap)?).map_err(sv2_result::from)?;
        Ok(())
    })
}

/// Finds the TLV `(extension_type, field_type)` in TLV bytes returned by a decode, and points
/// `out` at its value. SV2_RESULT_NOT_FOUND when absent.
///
/// @param tlvs  the TLV bytes (`tlvs_out` of a decode)
/// @param extension_type  the TLV's extension
/// @param field_type  the TLV's field type within that extension
/// @param[out] out  receives a view of the value, into `tlvs`
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND, SV2_RESULT_INVALID_TLV
///
/// # Safety
/// `tlvs.data` is valid for `tlvs.len` bytes; `out` valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_tlvs_find(
    tlvs: sv2_bytes,
    extension_type: u16,
    field_type: u8,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let out = arg_mut(out)?;
        let list = TlvList::parse(bytes(tlvs.data, tlvs.len)?).map_err(sv2_result::from)?;
        let v = list.find(extension_type, field_type).ok_or(sv2_result::NotFound)?;
        *out = sv2_bytes { data: v.as_ptr(), len: v.len() };
        Ok(())
    })
}
