//! Transport: one frame encrypted by the client and decrypted by the server over an
//! established session, for a 64-byte and a 4 KiB frame (header included). On the wire that
//! is two AEAD messages: the 6-byte header and the payload.
//!
//! Ours: `Session::send_frame`, the pending bytes handed to the peer's `Session::receive`, and
//! `Session::next_frame`. Reference: codec_sv2's `NoiseEncoder::encode_transport` over a
//! `SerializedFrame` borrowing the plaintext, and its `NoiseDecoder` fed exactly the bytes it
//! asks for until a frame comes out.
//!
//! Floor: the same two messages sealed and opened with the AEAD our build uses (ring), and,
//! listed among the primitives, with the RustCrypto crate the reference uses.

use chacha20poly1305::{AeadInPlace, ChaCha20Poly1305, KeyInit};
use codec_sv2::{Decrypted, NoiseDecoder, NoiseEncoder};
use framing_sv2::framing::SerializedFrame;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use sv2::codec::{FrameHeader, HEADER_LEN};

use crate::handshake::{our_session_pair, reference_transport_pair};
use crate::harness::{each, Harness};

/// The 12-byte Noise nonce for counter `n`.
fn nonce(n: u64) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_le_bytes());
    b
}

/// Seal and open of a frame's two messages with ring.
fn ring_floor(frame_len: usize) -> impl FnMut(u64) -> std::time::Duration {
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7; 32]).expect("32-byte key"));
    let mut header = [0u8; HEADER_LEN];
    let mut payload = vec![0x42u8; frame_len - HEADER_LEN];
    let mut n = 0u64;
    each(move || {
        for buf in [&mut header[..], &mut payload[..]] {
            let seal = Nonce::assume_unique_for_key(nonce(n));
            let tag = key.seal_in_place_separate_tag(seal, Aad::empty(), buf).expect("seals");
            let open = Nonce::assume_unique_for_key(nonce(n));
            key.open_in_place_separate_tag(open, Aad::empty(), tag, buf, 0..).expect("opens");
            n += 1;
        }
    })
}

/// The same with RustCrypto's chacha20poly1305 0.10 (what noise_sv2 uses).
fn rustcrypto_floor(frame_len: usize) -> impl FnMut(u64) -> std::time::Duration {
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut header = [0u8; HEADER_LEN];
    let mut payload = vec![0x42u8; frame_len - HEADER_LEN];
    let mut n = 0u64;
    each(move || {
        for buf in [&mut header[..], &mut payload[..]] {
            let nonce = nonce(n).into();
            let tag = cipher.encrypt_in_place_detached(&nonce, b"", buf).expect("seals");
            cipher.decrypt_in_place_detached(&nonce, b"", buf, &tag).expect("opens");
            n += 1;
        }
    })
}

fn frame_case(h: &mut Harness, frame_len: usize) {
    let case = format!("{frame_len} B frame enc+dec");
    if !h.wants(&format!("transport {case}")) {
        return;
    }
    let payload: Vec<u8> = (0..frame_len - HEADER_LEN).map(|i| i as u8).collect();
    let header = FrameHeader { extension_type: 0x8000, msg_type: 0x1b, msg_length: payload.len() as u32 };

    let (mut client, mut server) = our_session_pair();
    let mut ours = each(|| {
        client.send_frame(header, &payload).expect("sends");
        let wire = client.pending_output();
        server.receive(wire).expect("receives");
        let sent = wire.len();
        client.consume_output(sent);
        let frame = server.next_frame().expect("decrypts").expect("whole frame");
        frame.payload.len()
    });

    let (mut encrypt, decrypt) = reference_transport_pair();
    let mut decrypt = Some(decrypt);
    let (mut encoder, mut decoder) = (NoiseEncoder::new(), NoiseDecoder::new());
    let mut plain = header.to_bytes().to_vec();
    plain.extend_from_slice(&payload);
    let mut reference = each(|| {
        let frame = SerializedFrame::from_bytes(&mut plain[..]).expect("whole frame");
        let wire = encoder.encode_transport(frame, &mut encrypt).expect("encrypts");
        let mut bytes: &[u8] = wire.as_ref();
        let mut state = decrypt.take().expect("a decrypt state");
        loop {
            let writable = decoder.writable();
            let n = writable.len();
            writable.copy_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            match decoder.next_transport_frame(state).expect("decrypts") {
                Decrypted::Frame(mut frame, next) => {
                    decrypt = Some(next);
                    break frame.payload().len();
                }
                Decrypted::Incomplete(_, next) => state = next,
            }
        }
    });

    let mut floor = ring_floor(frame_len);
    h.case("transport", &case, &mut ours, Some(&mut reference), Some(("ring seal+open x2", &mut floor)));
}

pub fn run(h: &mut Harness) {
    for frame_len in [64, 4096] {
        frame_case(h, frame_len);
    }
    for frame_len in [64, 4096] {
        let sizes = format!("seal+open 6 B + {} B", frame_len - HEADER_LEN);
        h.primitive(&format!("ChaCha20-Poly1305 ring: {sizes}"), &mut ring_floor(frame_len));
        h.primitive(&format!("ChaCha20-Poly1305 RustCrypto 0.10: {sizes}"), &mut rustcrypto_floor(frame_len));
    }
}
