//! Anything that decodes re-encodes to the same bytes (message, then its TLV records), apart
//! from BOOL fields whose bits 1-7 receivers ignore and senders write as zero. Re-encoding is
//! then a fixed point, and the frame built from the decoded message decodes back to it.
//!
//! Input: index into ALL_MESSAGE_IDS, flags (bit 0: channel_msg bit), payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::codec::{frame_to_vec, CodecError, Encode, FrameDecoder, Tlv, CHANNEL_MSG_BIT};
use sv2::messages::{Message, ALL_MESSAGE_IDS};
use sv2_fuzz::{bound_allocations, exercise_message, seed_corpus_dir, Input};

fn reencode(msg: &Message<'_>, tlvs: &sv2::codec::TlvList<'_>) -> Vec<u8> {
    let mut out = vec![0u8; msg.encoded_len()];
    assert_eq!(msg.encode_into(&mut out), Ok(out.len()));
    // The TLV records re-encode one by one to the bytes they were parsed from.
    let records: Vec<u8> = tlvs.iter().flat_map(|t| t.to_vec()).collect();
    assert_eq!(records, tlvs.as_bytes());
    out.extend_from_slice(&records);
    out
}

fuzz_target!(init: seed_corpus_dir("decode_reencode"), |data: &[u8]| {
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let (ext, ty, _, name) = ALL_MESSAGE_IDS[usize::from(input.u8()) % ALL_MESSAGE_IDS.len()];
    let ch = if input.u8() & 1 == 1 { CHANNEL_MSG_BIT } else { 0 };
    let payload = input.rest();

    let (msg, tlvs) = match Message::decode(ext | ch, ty, payload) {
        Ok(decoded) => decoded,
        Err(e) => {
            assert!(!matches!(e, CodecError::UnknownMessage { .. }), "{name} is in the table");
            return;
        }
    };
    exercise_message(&msg, &tlvs);
    let out = reencode(&msg, &tlvs);
    assert_eq!(out.len(), payload.len(), "{name}: re-encoding changed the length");
    for (i, (&a, &b)) in payload.iter().zip(&out).enumerate() {
        // Only a BOOL may differ, and only in the bits receivers ignore.
        assert!(a == b || (b == a & 1), "{name}: byte {i} was {a:#04x}, re-encoded {b:#04x}");
    }

    // Re-encoding what re-encoded is a fixed point.
    let (again, again_tlvs) = Message::decode(ext, ty, &out).expect("re-encoded message decodes");
    assert_eq!(reencode(&again, &again_tlvs), out, "{name}: re-encoding is not a fixed point");

    // As a whole frame through the streaming decoder.
    let tlv_list: Vec<Tlv<'_>> = tlvs.iter().collect();
    let frame = frame_to_vec(&msg, &tlv_list).expect("a payload that decoded fits a frame");
    let mut dec = FrameDecoder::default();
    dec.push(&frame);
    let f = dec.next_frame().expect("frame within limits").expect("whole frame");
    assert_eq!((f.header.extension_id(), f.header.msg_type), (ext, ty));
    assert_eq!(f.payload, &out[..]);
    assert_eq!(f.header.channel_msg(), msg.channel_msg());
});
