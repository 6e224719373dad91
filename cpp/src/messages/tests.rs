use super::*;
use crate::bridge::ffi::{ErrorCode, Hash256, OptionU32, Transaction};

/// A value of a field type that differs from seed to seed.
pub(crate) trait Sample {
    fn sample(seed: u8) -> Self;
}

macro_rules! int_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn sample(seed: u8) -> Self {
                <$t>::from(seed).wrapping_mul(0x0101) + 1
            }
        }
    )*};
}
int_sample!(u16, u32, u64);

impl Sample for u8 {
    fn sample(seed: u8) -> Self {
        seed.wrapping_add(7)
    }
}
impl Sample for f32 {
    fn sample(seed: u8) -> Self {
        f32::from(seed) * 1.5e12
    }
}
impl Sample for bool {
    fn sample(seed: u8) -> Self {
        seed % 2 == 1
    }
}
impl Sample for [u8; 32] {
    fn sample(seed: u8) -> Self {
        std::array::from_fn(|i| seed ^ i as u8)
    }
}
impl<T: Sample> Sample for Vec<T> {
    fn sample(seed: u8) -> Self {
        (0..2 + seed % 4).map(|i| T::sample(seed.wrapping_add(i))).collect()
    }
}
impl Sample for Hash256 {
    fn sample(seed: u8) -> Self {
        Hash256 { bytes: Sample::sample(seed) }
    }
}
impl Sample for Transaction {
    fn sample(seed: u8) -> Self {
        Transaction { bytes: Sample::sample(seed) }
    }
}
impl Sample for OptionU32 {
    fn sample(seed: u8) -> Self {
        let has_value = seed % 2 == 0;
        OptionU32 { has_value, value: if has_value { Sample::sample(seed) } else { 0 } }
    }
}

#[test]
fn message_types_follow_the_core_table() {
    assert_eq!(MESSAGE_TYPES.len(), ALL_MESSAGE_IDS.len());
    for (i, ((t, name), (_, _, _, core_name))) in MESSAGE_TYPES.iter().zip(ALL_MESSAGE_IDS).enumerate() {
        assert_eq!(usize::from(t.repr), i, "{name}");
        assert_eq!(name, core_name);
        assert_eq!(message_name(*t).unwrap(), *core_name);
    }
    assert_eq!(message_type(0, 0x71).unwrap(), MessageType::NewTemplate);
    assert_eq!(message_type(0x8000, 0x20).unwrap(), MessageType::SetNewPrevHash);
    assert_eq!(message_type(0x0001, 0x02).unwrap(), MessageType::RequestExtensionsError);
    assert_eq!(message_type(0, 0x1e).unwrap_err().code(), ErrorCode::UnknownMessage);
    assert_eq!(message_spec(MessageType { repr: 200 }).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn every_message_round_trips_through_its_frame() {
    for seed in [1, 2, 200] {
        let results = round_trips(seed);
        assert_eq!(results.len(), ALL_MESSAGE_IDS.len());
        for (t, frame, same) in results {
            let spec = message_spec(t).unwrap();
            let name = message_name(t).unwrap();
            assert!(same, "{name} changed on the way through the wire (seed {seed})");
            let header = sv2::codec::FrameHeader::from_bytes(frame[..6].try_into().unwrap());
            assert_eq!(header.extension_id(), spec.extension_type, "{name}");
            assert_eq!(header.msg_type, spec.msg_type, "{name}");
            assert_eq!(header.channel_msg(), spec.channel_msg, "{name}");
            assert_eq!(header.msg_length as usize, frame.len() - 6, "{name}");
            let (core_msg, tlvs) = Message::decode(header.extension_type, header.msg_type, &frame[6..]).unwrap();
            assert_eq!(core_msg.name(), name);
            assert!(tlvs.is_empty());
        }
    }
}

#[test]
fn fields_over_their_limits_are_refused() {
    let mut out = Vec::new();
    let mut m = ffi::SetupConnection::sample_for_test();
    m.vendor = vec![b'v'; 256];
    assert_eq!(encode_setup_connection(&m, &[], &mut out).unwrap_err().code(), ErrorCode::TooLong);

    let share = ffi::SubmitSharesExtended {
        channel_id: 1,
        sequence_number: 2,
        job_id: 3,
        nonce: 4,
        ntime: 5,
        version: 6,
        extranonce: vec![0; 33],
    };
    assert_eq!(encode_submit_shares_extended(&share, &[], &mut out).unwrap_err().code(), ErrorCode::TooLong);

    let mut tmpl = ffi::NewTemplate::sample_for_test();
    tmpl.merkle_path = vec![Hash256 { bytes: [1; 32] }; 256];
    assert_eq!(encode_new_template(&tmpl, &[], &mut out).unwrap_err().code(), ErrorCode::TooLong);

    let tlv = Tlv { extension_type: 2, field_type: 1, value: vec![0; 70_000] };
    let ok = ffi::SetupConnectionSuccess { used_version: 2, flags: 0 };
    assert_eq!(encode_setup_connection_success(&ok, &[tlv], &mut out).unwrap_err().code(), ErrorCode::TooLong);
    assert_eq!(user_identity_tlv(&[b'u'; 33]).unwrap_err().code(), ErrorCode::TooLong);
}

#[test]
fn tlvs_travel_after_the_fields() {
    let share = ffi::SubmitSharesExtended {
        channel_id: 1,
        sequence_number: 2,
        job_id: 3,
        nonce: 4,
        ntime: 5,
        version: 6,
        extranonce: vec![9; 8],
    };
    let tlv = user_identity_tlv(b"worker.1").unwrap();
    let mut frame = Vec::new();
    encode_submit_shares_extended(&share, std::slice::from_ref(&tlv), &mut frame).unwrap();
    let mut back = share.clone();
    let mut tlvs = Vec::new();
    decode_submit_shares_extended(&frame[6..], &mut tlvs, &mut back).unwrap();
    assert_eq!(back, share);
    assert_eq!(tlvs, vec![tlv]);
}

#[test]
fn bad_payloads_are_errors() {
    let mut out = ffi::SetNewPrevHash { channel_id: 0, job_id: 0, prev_hash: [0; 32], min_ntime: 0, nbits: 0 };
    let mut tlvs = Vec::new();
    let full = {
        let mut f = Vec::new();
        encode_set_new_prev_hash(&out, &[], &mut f).unwrap();
        f.split_off(6)
    };
    let short = decode_set_new_prev_hash(&full[..full.len() - 1], &mut tlvs, &mut out);
    assert_eq!(short.unwrap_err().code(), ErrorCode::UnexpectedEnd);
    let mut long = full.clone();
    long.extend_from_slice(&[1, 2]);
    assert_eq!(decode_set_new_prev_hash(&long, &mut tlvs, &mut out).unwrap_err().code(), ErrorCode::InvalidTlv);

    // An OPTION count of 2 in NewMiningJob.min_ntime.
    let mut job = ffi::NewMiningJob {
        channel_id: 1,
        job_id: 2,
        min_ntime: OptionU32 { has_value: false, value: 0 },
        version: 3,
        merkle_root: [4; 32],
    };
    let mut f = Vec::new();
    encode_new_mining_job(&job, &[], &mut f).unwrap();
    f[6 + 8] = 2;
    assert_eq!(decode_new_mining_job(&f[6..], &mut tlvs, &mut job).unwrap_err().code(), ErrorCode::InvalidOption);
}

#[test]
fn text_keeps_its_raw_bytes() {
    // CloseChannel: channel_id, then a STR0_255 reason that is not UTF-8.
    let payload = [1, 0, 0, 0, 3, b'a', 0xff, b'b'];
    let mut out = ffi::CloseChannel { channel_id: 0, reason_code: Vec::new() };
    decode_close_channel(&payload, &mut Vec::new(), &mut out).unwrap();
    assert_eq!(out.channel_id, 1);
    assert_eq!(out.reason_code, [b'a', 0xff, b'b']);
    let mut frame = Vec::new();
    encode_close_channel(&out, &[], &mut frame).unwrap();
    assert_eq!(frame[6..], payload);
}

#[test]
fn errors_leave_their_code_beside_the_message() {
    let r = decode_close_channel(
        &[1, 0],
        &mut Vec::new(),
        &mut ffi::CloseChannel { channel_id: 0, reason_code: Vec::new() },
    );
    let e = r.unwrap_err();
    assert!(e.to_string().starts_with("input ends early"), "the message is the detail alone: {e}");
    assert_eq!(crate::error::take_error_code(), ErrorCode::UnexpectedEnd);
    // Taken once: a second look finds no error.
    assert_eq!(crate::error::take_error_code(), ErrorCode::Internal);
}

impl ffi::SetupConnection {
    fn sample_for_test() -> Self {
        ffi::SetupConnection {
            protocol: 0,
            min_version: 2,
            max_version: 2,
            flags: 0,
            endpoint_host: b"pool".to_vec(),
            endpoint_port: 3333,
            vendor: b"acme".to_vec(),
            hardware_version: Vec::new(),
            firmware: Vec::new(),
            device_id: Vec::new(),
        }
    }
}

impl ffi::NewTemplate {
    fn sample_for_test() -> Self {
        ffi::NewTemplate {
            template_id: 1,
            future_template: true,
            version: 0x2000_0000,
            coinbase_tx_version: 2,
            coinbase_prefix: vec![1, 0x65],
            coinbase_tx_input_sequence: u32::MAX,
            coinbase_tx_value_remaining: 50_0000_0000,
            coinbase_tx_outputs_count: 0,
            coinbase_tx_outputs: Vec::new(),
            coinbase_tx_locktime: 0,
            merkle_path: Vec::new(),
        }
    }
}

#[test]
fn panics_become_errors() {
    let r: Result<(), Error> = crate::error::guard(|| panic!("a bug"));
    assert_eq!(r.unwrap_err().code(), ErrorCode::Panic);
}
