//! After a real in-process handshake, one side sends frames and the other is fed the
//! ciphertext after arbitrary mutations: bytes flipped, the stream cut short, bytes inserted
//! or raw bytes appended. The receiver never panics and never returns a frame that was not
//! sent: what it returns is always a prefix of what was sent, in order. The first error is
//! DecryptFailed (or FrameTooLarge under a small max_payload), after which the session
//! refuses all use. An untouched stream arrives whole, however it is chunked.
//!
//! Input: flags (bit 0: server sends; bit 1: receiver max_payload = `limit × 64`), `limit`,
//! chunking seed, then operations until the input ends:
//! 0 frame (ext U16, type, len U16, payload), 1 large frame (spanning 0-3 whole 65 519-byte
//! chunks ± 127 bytes), 2 flip a byte (position U24, xor), 3 cut the stream (position U24),
//! 4 insert bytes (position U24, count, bytes), 5 a typed message from the sample payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::codec::{CodecError, FrameHeader};
use sv2::messages::Message;
use sv2::noise::{NoiseError, MAX_PLAINTEXT_CHUNK};
use sv2_fuzz::{
    assert_session_dead, bound_allocations, established_pair, feed_session, sample_payloads, seed_corpus_dir,
    unbound_allocations, Input, OwnedFrame,
};

/// Stop adding frames once this much ciphertext is queued (keeps each run fast).
const MAX_STREAM: usize = 1 << 20;

fuzz_target!(init: seed_corpus_dir("noise_transport"), |data: &[u8]| {
    unbound_allocations();
    let samples = sample_payloads();
    let (mut client, mut server) = established_pair();
    let mut input = Input::new(data);
    let (flags, limit, seed) = (input.u8(), input.u8(), input.u8());
    let (sender, receiver) = if flags & 1 == 1 { (&mut server, &mut client) } else { (&mut client, &mut server) };
    let max = if flags & 2 == 2 { usize::from(limit) * 64 } else { usize::MAX };
    if flags & 2 == 2 {
        receiver.set_max_payload(max);
    }

    let mut sent: Vec<OwnedFrame> = Vec::new();
    let mut stream: Vec<u8> = Vec::new();
    let mut touched = false;
    while !input.is_empty() {
        match input.u8() % 6 {
            0 | 1 | 5 if stream.len() > MAX_STREAM => {}
            op @ (0 | 1) => {
                let header_ids = (input.u16(), input.u8());
                let payload: Vec<u8> = if op == 0 {
                    let len = usize::from(input.u16());
                    input.bytes(len).to_vec()
                } else {
                    let chunks = usize::from(input.u8() % 4);
                    let delta = i32::from(input.u8() as i8);
                    let len = (chunks * MAX_PLAINTEXT_CHUNK) as i32 + delta;
                    (0..len.max(0) as usize).map(|i| (i % 251) as u8).collect()
                };
                let header = FrameHeader {
                    extension_type: header_ids.0,
                    msg_type: header_ids.1,
                    msg_length: payload.len() as u32,
                };
                sender.send_frame(header, &payload).expect("send_frame");
                sent.push(OwnedFrame { header, payload });
            }
            5 => {
                let (ext, ty, payload) = &samples[usize::from(input.u8()) % samples.len()];
                let (msg, _) = Message::decode(*ext, *ty, payload).expect("sample payload decodes");
                sender.send(&msg, &[]).expect("send");
                let frame = sv2::codec::frame_to_vec(&msg, &[]).expect("frame");
                let header = FrameHeader::from_bytes(frame[..6].try_into().expect("header"));
                sent.push(OwnedFrame { header, payload: frame[6..].to_vec() });
            }
            op => {
                stream.extend_from_slice(&sender.take_output());
                let pos = input.u24() as usize % (stream.len() + 1);
                match op {
                    2 => {
                        let xor = input.u8();
                        if let Some(b) = stream.get_mut(pos) {
                            *b ^= xor;
                            touched |= xor != 0;
                        }
                    }
                    3 => {
                        touched |= pos < stream.len();
                        stream.truncate(pos);
                    }
                    _ => {
                        let n = usize::from(input.u8() % 32);
                        let bytes = input.bytes(n);
                        touched |= !bytes.is_empty();
                        stream.splice(pos..pos, bytes.iter().copied());
                    }
                }
            }
        }
    }
    stream.extend_from_slice(&sender.take_output());

    bound_allocations(stream.len().max(data.len()));
    let (received, err) = feed_session(receiver, &stream, seed);

    // Authenticated encryption: only frames that were sent, in the order sent.
    assert!(received.len() <= sent.len(), "more frames than were sent");
    assert_eq!(received, sent[..received.len()], "a frame that was not sent");
    match err {
        None => {}
        Some(NoiseError::DecryptFailed) => assert!(touched, "an untouched stream failed to decrypt"),
        Some(NoiseError::Codec(CodecError::FrameTooLarge { len, max: m })) => {
            assert!(len > m && m == max);
        }
        Some(e) => panic!("unexpected first error {e:?}"),
    }
    if err.is_some() {
        assert_session_dead(receiver);
    } else if !touched {
        assert_eq!(received.len(), sent.len(), "an untouched stream arrives whole");
    }
});
