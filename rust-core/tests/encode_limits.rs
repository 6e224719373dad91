//! Encoding never truncates a length: a frame payload over the U24 length field and a TLV value
//! over its U16 length field are errors, not frames whose lengths lie.

use sv2::codec::{
    encode_frame, frame_len, frame_to_vec, CodecError, Encode, FrameHeader, Tlv, HEADER_LEN, MAX_PAYLOAD_LEN,
};
use sv2::messages::{Message, SetupConnectionSuccess};
use sv2::noise::{NoiseError, Session};

fn small() -> Message<'static> {
    SetupConnectionSuccess { used_version: 2, flags: 0 }.into()
}

#[test]
fn a_tlv_value_over_u16_is_refused() {
    let value = vec![7u8; 0x1_0000];
    let tlv = Tlv { extension_type: 2, field_type: 1, value: &value };
    let mut out = vec![0u8; frame_len(&small(), &[tlv])];
    assert_eq!(encode_frame(&small(), &[tlv], &mut out), Err(CodecError::TooLong { len: 0x1_0000, max: 0xFFFF }));
    assert!(frame_to_vec(&small(), &[tlv]).is_err());
    assert!(matches!(Session::plaintext().send(&small(), &[tlv]), Err(NoiseError::Codec(CodecError::TooLong { .. }))));
    // The largest value fits, its length written whole.
    let tlv = Tlv { value: &value[..0xFFFF], ..tlv };
    let frame = frame_to_vec(&small(), &[tlv]).unwrap();
    let at = HEADER_LEN + small().encoded_len();
    assert_eq!(&frame[at..at + 5], &[2, 0, 1, 0xff, 0xff]);
}

#[test]
fn a_frame_over_the_u24_length_is_refused() {
    // Through the message encoder: a TLV list that takes the payload one byte past U24.
    let value = vec![0u8; 0xFFFF];
    let fill = MAX_PAYLOAD_LEN - small().encoded_len();
    let n = fill / (5 + 0xFFFF) + 1;
    let tlvs = vec![Tlv { extension_type: 2, field_type: 9, value: &value }; n];
    assert!(matches!(frame_to_vec(&small(), &tlvs), Err(CodecError::TooLong { max: MAX_PAYLOAD_LEN, .. })));

    // Through forwarding: a header whose length the U24 field cannot hold.
    let payload = vec![0u8; MAX_PAYLOAD_LEN + 1];
    let header = FrameHeader { extension_type: 0, msg_type: 1, msg_length: payload.len() as u32 };
    assert_eq!(header.try_to_bytes(), Err(CodecError::TooLong { len: MAX_PAYLOAD_LEN + 1, max: MAX_PAYLOAD_LEN }));
    let mut s = Session::plaintext();
    assert!(matches!(s.send_frame(header, &payload), Err(NoiseError::Codec(CodecError::TooLong { .. }))));
    assert!(s.pending_output().is_empty(), "nothing queued");
    // At the limit it is sent whole.
    let header = FrameHeader { msg_length: MAX_PAYLOAD_LEN as u32, ..header };
    assert_eq!(header.try_to_bytes().unwrap()[3..], [0xff, 0xff, 0xff]);
    s.send_frame(header, &payload[..MAX_PAYLOAD_LEN]).unwrap();
    assert_eq!(s.pending_output().len(), HEADER_LEN + MAX_PAYLOAD_LEN);
}
