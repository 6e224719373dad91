//! Every message between its core type (borrowing, validated) and its bridge struct (owned,
//! what C++ holds): one table of fields and how each converts, expanded into an encode and a
//! decode function per message.

use sv2::codec::{
    encode_frame, frame_len, Bytes, Decode, Reader, Seq, Tlv as CoreTlv, TlvList, EXTENSION_WORKER_HASHRATE_TRACKING,
    FIELD_USER_IDENTITY, USER_IDENTITY_MAX,
};
use sv2::messages as core;
use sv2::messages::ALL_MESSAGE_IDS;
use sv2::Message;

use crate::bridge::ffi::{self, MessageSpec, MessageType, Tlv};
use crate::error::{guard, Error};

/// Decode direction: a core field value to its bridge form.
macro_rules! from_core {
    (v, $e:expr) => {
        $e
    };
    // STR0_255 too: its raw bytes, UTF-8 or not.
    (b, $e:expr) => {
        $e.as_bytes().to_vec()
    };
    (seq, $e:expr) => {
        $e.to_vec()
    };
    (hashes, $e:expr) => {
        $e.iter().map(|bytes| ffi::Hash256 { bytes }).collect()
    };
    (txs, $e:expr) => {
        $e.iter().map(|t| ffi::Transaction { bytes: t.as_bytes().to_vec() }).collect()
    };
    (opt, $e:expr) => {
        ffi::OptionU32 { has_value: $e.is_some(), value: $e.unwrap_or(0) }
    };
}

/// Encode direction, first step: what a core field borrows from (owned copies only where the
/// core type needs a slice of its own element type).
macro_rules! stage {
    (hashes, $e:expr) => {
        $e.iter().map(|h| h.bytes).collect::<Vec<[u8; 32]>>()
    };
    (txs, $e:expr) => {
        $e.iter().map(|t| Bytes::new(&t.bytes)).collect::<Result<Vec<_>, _>>()?
    };
    ($kind:ident, $e:expr) => {
        &$e
    };
}

/// Encode direction, second step: the core field, checked against its type's limits.
macro_rules! to_core {
    (v, $x:expr) => {
        *$x
    };
    (b, $x:expr) => {
        Bytes::new($x)?
    };
    (seq, $x:expr) => {
        Seq::new($x)?
    };
    (hashes, $x:expr) => {
        Seq::new(&$x)?
    };
    (txs, $x:expr) => {
        Seq::new(&$x)?
    };
    (opt, $x:expr) => {
        $x.has_value.then_some($x.value)
    };
}

macro_rules! messages {
    ($( $name:ident: $encode:ident, $decode:ident { $( $field:ident: $kind:ident ),* $(,)? } )*) => {
        $(
            pub(crate) fn $encode(m: &ffi::$name, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<(), Error> {
                guard(|| {
                    $( let $field = stage!($kind, m.$field); )*
                    let msg = core::$name { $( $field: to_core!($kind, $field), )* };
                    encode(&Message::$name(msg), tlvs, out)
                })
            }

            pub(crate) fn $decode(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut ffi::$name) -> Result<(), Error> {
                guard(|| {
                    let mut r = Reader::new(p);
                    let m = core::$name::read(&mut r)?;
                    let list = TlvList::parse(r.remaining())?;
                    *out = ffi::$name { $( $field: from_core!($kind, m.$field), )* };
                    *tlvs = list.iter().map(tlv_from_core).collect();
                    Ok(())
                })
            }
        )*

        /// The bridge's message types in the core table's order, with their core names.
        const MESSAGE_TYPES: &[(MessageType, &str)] = &[ $( (MessageType::$name, stringify!($name)), )* ];

        /// For each message: a sample built with `seed` in every field, its frame, and whether
        /// decoding that frame over a sample of another seed gives the first sample back.
        #[cfg(test)]
        pub(crate) fn round_trips(seed: u8) -> Vec<(MessageType, Vec<u8>, bool)> {
            use tests::Sample;
            let mut out = Vec::new();
            $(
                let sample = ffi::$name { $( $field: Sample::sample(seed), )* };
                let mut frame = Vec::new();
                $encode(&sample, &[], &mut frame).expect(stringify!($name));
                let mut back = ffi::$name { $( $field: Sample::sample(seed.wrapping_add(1)), )* };
                let mut tlvs = Vec::new();
                $decode(&frame[6..], &mut tlvs, &mut back).expect(stringify!($name));
                out.push((MessageType::$name, frame, back == sample));
            )*
            out
        }
    };
}

messages! {
    SetupConnection: encode_setup_connection, decode_setup_connection {
        protocol: v, min_version: v, max_version: v, flags: v, endpoint_host: b, endpoint_port: v, vendor: b,
        hardware_version: b, firmware: b, device_id: b,
    }
    SetupConnectionSuccess: encode_setup_connection_success, decode_setup_connection_success {
        used_version: v, flags: v,
    }
    SetupConnectionError: encode_setup_connection_error, decode_setup_connection_error { flags: v, error_code: b }
    ChannelEndpointChanged: encode_channel_endpoint_changed, decode_channel_endpoint_changed { channel_id: v }
    Reconnect: encode_reconnect, decode_reconnect { new_host: b, new_port: v }

    OpenStandardMiningChannel: encode_open_standard_mining_channel, decode_open_standard_mining_channel {
        request_id: v, user_identity: b, nominal_hash_rate: v, max_target: v,
    }
    OpenStandardMiningChannelSuccess: encode_open_standard_mining_channel_success,
        decode_open_standard_mining_channel_success {
        request_id: v, channel_id: v, target: v, extranonce_prefix: b, group_channel_id: v,
    }
    OpenMiningChannelError: encode_open_mining_channel_error, decode_open_mining_channel_error {
        request_id: v, error_code: b,
    }
    OpenExtendedMiningChannel: encode_open_extended_mining_channel, decode_open_extended_mining_channel {
        request_id: v, user_identity: b, nominal_hash_rate: v, max_target: v, min_extranonce_size: v,
    }
    OpenExtendedMiningChannelSuccess: encode_open_extended_mining_channel_success,
        decode_open_extended_mining_channel_success {
        request_id: v, channel_id: v, target: v, extranonce_size: v, extranonce_prefix: b, group_channel_id: v,
    }
    NewMiningJob: encode_new_mining_job, decode_new_mining_job {
        channel_id: v, job_id: v, min_ntime: opt, version: v, merkle_root: v,
    }
    UpdateChannel: encode_update_channel, decode_update_channel {
        channel_id: v, nominal_hash_rate: v, maximum_target: v,
    }
    UpdateChannelError: encode_update_channel_error, decode_update_channel_error { channel_id: v, error_code: b }
    CloseChannel: encode_close_channel, decode_close_channel { channel_id: v, reason_code: b }
    SetExtranoncePrefix: encode_set_extranonce_prefix, decode_set_extranonce_prefix {
        channel_id: v, extranonce_prefix: b,
    }
    SubmitSharesStandard: encode_submit_shares_standard, decode_submit_shares_standard {
        channel_id: v, sequence_number: v, job_id: v, nonce: v, ntime: v, version: v,
    }
    SubmitSharesExtended: encode_submit_shares_extended, decode_submit_shares_extended {
        channel_id: v, sequence_number: v, job_id: v, nonce: v, ntime: v, version: v, extranonce: b,
    }
    SubmitSharesSuccess: encode_submit_shares_success, decode_submit_shares_success {
        channel_id: v, last_sequence_number: v, new_submits_accepted_count: v, new_shares_sum: v,
    }
    SubmitSharesError: encode_submit_shares_error, decode_submit_shares_error {
        channel_id: v, sequence_number: v, error_code: b,
    }
    NewExtendedMiningJob: encode_new_extended_mining_job, decode_new_extended_mining_job {
        channel_id: v, job_id: v, min_ntime: opt, version: v, version_rolling_allowed: v, merkle_path: hashes,
        coinbase_tx_prefix: b, coinbase_tx_suffix: b,
    }
    SetNewPrevHash: encode_set_new_prev_hash, decode_set_new_prev_hash {
        channel_id: v, job_id: v, prev_hash: v, min_ntime: v, nbits: v,
    }
    SetTarget: encode_set_target, decode_set_target { channel_id: v, maximum_target: v }
    SetCustomMiningJob: encode_set_custom_mining_job, decode_set_custom_mining_job {
        channel_id: v, request_id: v, mining_job_token: b, version: v, prev_hash: v, min_ntime: v, nbits: v,
        coinbase_tx_version: v, coinbase_prefix: b, coinbase_tx_input_nsequence: v, coinbase_tx_outputs: b,
        coinbase_tx_locktime: v, merkle_path: hashes,
    }
    SetCustomMiningJobSuccess: encode_set_custom_mining_job_success, decode_set_custom_mining_job_success {
        channel_id: v, request_id: v, job_id: v,
    }
    SetCustomMiningJobError: encode_set_custom_mining_job_error, decode_set_custom_mining_job_error {
        channel_id: v, request_id: v, error_code: b,
    }
    SetGroupChannel: encode_set_group_channel, decode_set_group_channel { group_channel_id: v, channel_ids: seq }

    AllocateMiningJobToken: encode_allocate_mining_job_token, decode_allocate_mining_job_token {
        user_identifier: b, request_id: v,
    }
    AllocateMiningJobTokenSuccess: encode_allocate_mining_job_token_success,
        decode_allocate_mining_job_token_success {
        request_id: v, mining_job_token: b, coinbase_tx_outputs: b,
    }
    ProvideMissingTransactions: encode_provide_missing_transactions, decode_provide_missing_transactions {
        request_id: v, unknown_tx_position_list: seq,
    }
    ProvideMissingTransactionsSuccess: encode_provide_missing_transactions_success,
        decode_provide_missing_transactions_success {
        request_id: v, transaction_list: txs,
    }
    DeclareMiningJob: encode_declare_mining_job, decode_declare_mining_job {
        request_id: v, mining_job_token: b, version: v, coinbase_tx_prefix: b, coinbase_tx_suffix: b,
        wtxid_list: hashes, excess_data: b,
    }
    DeclareMiningJobSuccess: encode_declare_mining_job_success, decode_declare_mining_job_success {
        request_id: v, new_mining_job_token: b,
    }
    DeclareMiningJobError: encode_declare_mining_job_error, decode_declare_mining_job_error {
        request_id: v, error_code: b, error_details: b,
    }
    PushSolution: encode_push_solution, decode_push_solution {
        extranonce: b, prev_hash: v, nonce: v, ntime: v, nbits: v, version: v,
    }

    CoinbaseOutputConstraints: encode_coinbase_output_constraints, decode_coinbase_output_constraints {
        coinbase_output_max_additional_size: v, coinbase_output_max_additional_sigops: v,
    }
    NewTemplate: encode_new_template, decode_new_template {
        template_id: v, future_template: v, version: v, coinbase_tx_version: v, coinbase_prefix: b,
        coinbase_tx_input_sequence: v, coinbase_tx_value_remaining: v, coinbase_tx_outputs_count: v,
        coinbase_tx_outputs: b, coinbase_tx_locktime: v, merkle_path: hashes,
    }
    SetNewPrevHashTdp: encode_set_new_prev_hash_tdp, decode_set_new_prev_hash_tdp {
        template_id: v, prev_hash: v, header_timestamp: v, nbits: v, target: v,
    }
    RequestTransactionData: encode_request_transaction_data, decode_request_transaction_data { template_id: v }
    RequestTransactionDataSuccess: encode_request_transaction_data_success,
        decode_request_transaction_data_success {
        template_id: v, excess_data: b, transaction_list: txs,
    }
    RequestTransactionDataError: encode_request_transaction_data_error, decode_request_transaction_data_error {
        template_id: v, error_code: b,
    }
    SubmitSolution: encode_submit_solution, decode_submit_solution {
        template_id: v, version: v, header_timestamp: v, header_nonce: v, coinbase_tx: b,
    }

    RequestExtensions: encode_request_extensions, decode_request_extensions {
        request_id: v, requested_extensions: seq,
    }
    RequestExtensionsSuccess: encode_request_extensions_success, decode_request_extensions_success {
        request_id: v, supported_extensions: seq,
    }
    RequestExtensionsError: encode_request_extensions_error, decode_request_extensions_error {
        request_id: v, unsupported_extensions: seq, required_extensions: seq,
    }
}

/// Writes the whole frame (header, message, TLVs) over `out`'s contents, reusing its capacity.
fn encode(msg: &Message<'_>, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<(), Error> {
    let tlvs = tlvs
        .iter()
        .map(|t| {
            Bytes::<65_535>::new(&t.value)?;
            Ok(CoreTlv { extension_type: t.extension_type, field_type: t.field_type, value: &t.value })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    out.clear();
    out.resize(frame_len(msg, &tlvs), 0);
    encode_frame(msg, &tlvs, out)?;
    Ok(())
}

fn tlv_from_core(t: CoreTlv<'_>) -> Tlv {
    Tlv { extension_type: t.extension_type, field_type: t.field_type, value: t.value.to_vec() }
}

/// The message type at `(extension_type, msg_type)`; the channel_msg bit is ignored.
pub(crate) fn message_type(extension_type: u16, msg_type: u8) -> Result<MessageType, Error> {
    guard(|| {
        let ext = extension_type & !sv2::codec::CHANNEL_MSG_BIT;
        ALL_MESSAGE_IDS
            .iter()
            .position(|&(e, t, _, _)| e == ext && t == msg_type)
            .map(|i| MESSAGE_TYPES[i].0)
            .ok_or_else(|| sv2::codec::CodecError::UnknownMessage { extension_type: ext, msg_type }.into())
    })
}

fn core_entry(t: MessageType) -> Result<(u16, u8, bool, &'static str), Error> {
    ALL_MESSAGE_IDS
        .get(usize::from(t.repr))
        .copied()
        .ok_or_else(|| Error::new(ffi::ErrorCode::InvalidArgument, format!("no message type {}", t.repr)))
}

/// Where `t` sits on the wire.
pub(crate) fn message_spec(t: MessageType) -> Result<MessageSpec, Error> {
    guard(|| {
        let (extension_type, msg_type, channel_msg, _) = core_entry(t)?;
        Ok(MessageSpec { extension_type, msg_type, channel_msg })
    })
}

/// The spec's name of `t`.
pub(crate) fn message_name(t: MessageType) -> Result<&'static str, Error> {
    guard(|| Ok(core_entry(t)?.3))
}

/// The 0x0002 `user_identity` TLV of SubmitSharesExtended.
pub(crate) fn user_identity_tlv(identity: &[u8]) -> Result<Tlv, Error> {
    guard(|| {
        let value = Bytes::<USER_IDENTITY_MAX>::new(identity)?.as_bytes().to_vec();
        Ok(Tlv { extension_type: EXTENSION_WORKER_HASHRATE_TRACKING, field_type: FIELD_USER_IDENTITY, value })
    })
}

/// A copy of `bytes` that C++ can put into a message field.
pub(crate) fn copy_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

/// The version of libsv2.
pub(crate) fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests;
