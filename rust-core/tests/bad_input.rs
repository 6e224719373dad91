//! Bytes from a peer never panic, never make the core allocate more than they are, never
//! hang, and always end in a typed error: the frame decoder, every message decoder and the
//! Noise session (responder, initiator and transport) fed random, chunked, truncated,
//! oversized and tampered input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::collection::vec;
use proptest::prelude::*;
use sv2::codec::{CodecError, Encode, FrameDecoder, FrameHeader, HEADER_LEN, MAX_PAYLOAD_LEN};
use sv2::messages::{Message, ALL_MESSAGE_IDS};
use sv2::noise::{
    AuthorityKeypair, NoiseError, ServerAuth, ServerCredentials, Session, ACT1_LEN, ACT2_LEN, ENCRYPTED_HEADER_LEN,
    MAX_CIPHERTEXT_CHUNK,
};

// ---------------------------------------------------------------------------------------------
// Allocation probe: the largest single allocation the current thread makes inside `probe`.
// ---------------------------------------------------------------------------------------------

struct Probe;

thread_local! {
    /// (probing, largest allocation seen while probing). Const-initialised and without a
    /// destructor, so reading it from the allocator never allocates.
    static LARGEST: Cell<(bool, usize)> = const { Cell::new((false, 0)) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| {
        let (on, max) = c.get();
        if on && size > max {
            c.set((on, size));
        }
    });
}

// SAFETY: every call goes unchanged to the system allocator; the wrapper only records sizes.
unsafe impl GlobalAlloc for Probe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static PROBE: Probe = Probe;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|c| c.set((true, 0)));
    let r = f();
    let (_, max) = LARGEST.with(|c| c.replace((false, 0)));
    (r, max)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn frame_bytes(extension_type: u16, msg_type: u8, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader { extension_type, msg_type, msg_length: payload.len() as u32 };
    [&header.to_bytes()[..], payload].concat()
}

/// `bytes` cut by `sizes` (cycled); a size of 0 pushes an empty slice before a 1-byte one.
fn chunked<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for &s in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        if s == 0 {
            out.push(&rest[..0]);
        }
        let (head, tail) = rest.split_at(s.clamp(1, rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

type Owned = (FrameHeader, Vec<u8>);

/// Every frame the decoder has, and how it stopped.
fn drain(dec: &mut FrameDecoder, out: &mut Vec<Owned>) -> Result<(), CodecError> {
    while let Some(f) = dec.next_frame()? {
        let _ = f.message();
        out.push((f.header, f.payload.to_vec()));
    }
    Ok(())
}

fn decode_whole(stream: &[u8], max: usize) -> (Vec<Owned>, Result<(), CodecError>, usize) {
    let mut dec = FrameDecoder::new(max);
    dec.push(stream);
    let mut frames = Vec::new();
    let end = drain(&mut dec, &mut frames);
    (frames, end, dec.buffered())
}

fn decode_chunked(chunks: &[&[u8]], max: usize) -> (Vec<Owned>, Result<(), CodecError>, usize) {
    let mut dec = FrameDecoder::new(max);
    let mut frames = Vec::new();
    for c in chunks {
        dec.push(c);
        if let Err(e) = drain(&mut dec, &mut frames) {
            return (frames, Err(e), dec.buffered());
        }
    }
    let buffered = dec.buffered();
    (frames, Ok(()), buffered)
}

fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    (any::<u16>(), any::<u8>(), vec(any::<u8>(), 0..300)).prop_map(|(e, t, p)| frame_bytes(e, t, &p))
}

/// For each message id, the shortest all-zero payload that decodes (every strict prefix of
/// it therefore fails), and the shortest all-0x01 one where there is one under 4 KiB (strings
/// of one byte, sequences of one element, OPTIONs present).
fn sample_payloads() -> Vec<(u16, u8, &'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for &(ext, ty, _, name) in ALL_MESSAGE_IDS {
        for fill in [0u8, 1] {
            let buf = vec![fill; 4096];
            if let Some(n) = (0..=buf.len()).find(|&n| Message::decode(ext, ty, &buf[..n]).is_ok()) {
                out.push((ext, ty, name, buf[..n].to_vec()));
            }
        }
    }
    out
}

fn authority() -> AuthorityKeypair {
    AuthorityKeypair::from_secret_bytes(&[0x11; 32]).unwrap()
}

fn credentials() -> ServerCredentials {
    ServerCredentials::issue(&authority(), [0x22; 32], 0, u32::MAX, &[7; 32]).unwrap()
}

const NOW: u32 = 1_700_000_000;

fn client() -> Session {
    Session::initiator(ServerAuth::Authority(authority().public_key()), [0x33; 32], NOW).unwrap()
}

fn server() -> Session {
    Session::responder(&credentials(), [0x44; 32]).unwrap()
}

/// A client and a server after a real handshake.
fn pair() -> (Session, Session) {
    let (mut c, mut s) = (client(), server());
    s.receive(&c.take_output()).unwrap();
    c.receive(&s.take_output()).unwrap();
    assert!(c.is_established() && s.is_established());
    (c, s)
}

/// Feeds chunks, taking frames after each; stops at the first error.
fn feed(s: &mut Session, chunks: &[&[u8]]) -> (Vec<Owned>, Option<NoiseError>) {
    let mut frames = Vec::new();
    for c in chunks {
        if let Err(e) = s.receive(c) {
            return (frames, Some(e));
        }
        loop {
            match s.next_frame() {
                Ok(Some(f)) => {
                    let _ = f.message();
                    frames.push((f.header, f.payload.to_vec()));
                }
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

/// After any error a session refuses everything.
fn assert_dead(s: &mut Session) {
    assert!(!s.is_established());
    assert_eq!(s.receive(b"more"), Err(NoiseError::SessionFailed));
    assert!(matches!(s.next_frame(), Err(NoiseError::SessionFailed)));
    let header = FrameHeader { extension_type: 0, msg_type: 0x1c, msg_length: 0 };
    assert_eq!(s.send_frame(header, &[]), Err(NoiseError::SessionFailed));
}

/// The session's buffered input, as its Debug output reports it.
fn buffered_in(s: &Session) -> usize {
    let dbg = format!("{s:?}");
    let at = dbg.find("buffered_in: ").expect("Debug shows buffered_in") + "buffered_in: ".len();
    dbg[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Frame decoder
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Valid frames (and a partial tail) give the same frames whether pushed whole, in random
    /// chunks or one byte at a time, and every byte is either in a frame or still buffered.
    #[test]
    fn chunking_never_changes_the_frames(
        frames in vec(frame_strategy(), 0..8),
        tail in vec(any::<u8>(), 0..12),
        sizes in vec(0usize..80, 1..20),
    ) {
        let stream = [frames.concat(), tail.clone()].concat();
        let whole = decode_whole(&stream, MAX_PAYLOAD_LEN);
        prop_assert_eq!(whole.0.len() >= frames.len(), true);
        prop_assert_eq!(&whole.1, &Ok(()));
        let used: usize = whole.0.iter().map(|f| HEADER_LEN + f.1.len()).sum();
        prop_assert_eq!(used + whole.2, stream.len());
        prop_assert_eq!(&decode_chunked(&chunked(&stream, &sizes), MAX_PAYLOAD_LEN), &whole);
        prop_assert_eq!(&decode_chunked(&chunked(&stream, &[1]), MAX_PAYLOAD_LEN), &whole);
    }

    /// Random bytes under any max_payload: no panic, and the same outcome however chunked
    /// (frames, then either a wait for more bytes or FrameTooLarge).
    #[test]
    fn random_bytes_in_the_frame_decoder(
        stream in vec(any::<u8>(), 0..2048),
        max in prop_oneof![Just(MAX_PAYLOAD_LEN), 0usize..600],
        sizes in vec(0usize..100, 1..20),
    ) {
        let whole = decode_whole(&stream, max);
        if let Err(e) = whole.1 {
            let too_large = matches!(e, CodecError::FrameTooLarge { len, max: m } if len > m && m == max);
            prop_assert!(too_large, "{:?}", e);
        }
        for sizes in [&sizes[..], &[1]] {
            let (frames, end, buffered) = decode_chunked(&chunked(&stream, sizes), max);
            prop_assert_eq!(&frames, &whole.0);
            prop_assert_eq!(end, whole.1);
            // Fed in pieces, the decoder stops being fed at the error; until then it holds
            // the same bytes.
            if end.is_ok() {
                prop_assert_eq!(buffered, whole.2);
            }
        }
    }
}

/// A header announcing 16 MiB − 1 reserves nothing: the decoder holds exactly the bytes pushed
/// and its largest allocation follows those bytes, not the announced length.
#[test]
fn header_announcing_16_mib_keeps_the_decoder_small() {
    let mut dec = FrameDecoder::default();
    let header = FrameHeader { extension_type: 0, msg_type: 0x71, msg_length: MAX_PAYLOAD_LEN as u32 };
    let (_, largest) = largest_allocation(|| {
        dec.push(&header.to_bytes());
        assert!(matches!(dec.next_frame(), Ok(None)));
        assert_eq!(dec.buffered(), HEADER_LEN);
        for _ in 0..100 {
            dec.push(&[0xab; 100]);
            assert!(matches!(dec.next_frame(), Ok(None)));
        }
    });
    assert_eq!(dec.buffered(), HEADER_LEN + 100 * 100);
    assert!(largest < 64 * 1024, "largest allocation {largest} bytes for {} bytes pushed", dec.buffered());
}

/// A frame over the configured limit is refused as soon as its header is complete.
#[test]
fn oversized_frame_refused_at_its_header() {
    let mut dec = FrameDecoder::new(1000);
    let header = FrameHeader { extension_type: 0, msg_type: 0x71, msg_length: MAX_PAYLOAD_LEN as u32 };
    dec.push(&header.to_bytes()[..5]);
    assert!(matches!(dec.next_frame(), Ok(None)));
    dec.push(&header.to_bytes()[5..]);
    assert_eq!(
        dec.next_frame().map(|f| f.is_some()),
        Err(CodecError::FrameTooLarge { len: MAX_PAYLOAD_LEN, max: 1000 })
    );
    // And it stays refused: the stream cannot be resynchronised.
    dec.push(&[0; 64]);
    assert!(matches!(dec.next_frame(), Err(CodecError::FrameTooLarge { .. })));
    // A limit above the U24 maximum is clamped to it.
    assert_eq!(FrameDecoder::new(usize::MAX).max_payload(), MAX_PAYLOAD_LEN);
}

/// Many tiny frames in one push: each is returned once with work proportional to the bytes
/// (a decoder that shifted its whole buffer after every frame would take minutes here).
#[test]
fn many_empty_frames_in_one_push() {
    let n = 1_000_000;
    let stream: Vec<u8> = (0..n).flat_map(|_| frame_bytes(0, 0x1c, &[])).collect();
    let mut dec = FrameDecoder::default();
    dec.push(&stream);
    let mut count = 0;
    while let Some(f) = dec.next_frame().unwrap() {
        assert_eq!(f.header.msg_length, 0);
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(dec.buffered(), 0);
}

// ---------------------------------------------------------------------------------------------
// Message decoding
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any (extension_type, msg_type, payload): a message of that id, UnknownMessage for ids
    /// outside the table, or another typed error; never a panic.
    #[test]
    fn random_ids_and_payloads(ext in any::<u16>(), ty in any::<u8>(), payload in vec(any::<u8>(), 0..400)) {
        let id = (ext & 0x7fff, ty);
        let known = ALL_MESSAGE_IDS.iter().any(|&(e, t, _, _)| (e, t) == id);
        match Message::decode(ext, ty, &payload) {
            Ok((m, _)) => prop_assert_eq!((m.extension_type(), m.msg_type()), id),
            Err(CodecError::UnknownMessage { extension_type, msg_type }) => {
                prop_assert!(!known);
                prop_assert_eq!((extension_type, msg_type), id);
            }
            Err(_) => prop_assert!(known),
        }
    }

    /// Every known id with random payloads (with and without the channel_msg bit): decodes,
    /// or fails with a typed error other than UnknownMessage. Whatever decodes re-encodes to
    /// its own length.
    #[test]
    fn random_payloads_for_every_message(
        idx in 0..ALL_MESSAGE_IDS.len(),
        channel_bit in any::<bool>(),
        payload in vec(any::<u8>(), 0..600),
    ) {
        let (ext, ty, _, name) = ALL_MESSAGE_IDS[idx];
        let ext_field = ext | if channel_bit { 0x8000 } else { 0 };
        match Message::decode(ext_field, ty, &payload) {
            Ok((m, tlvs)) => prop_assert_eq!(m.encoded_len() + tlvs.as_bytes().len(), payload.len(), "{}", name),
            Err(e) => prop_assert!(!matches!(e, CodecError::UnknownMessage { .. }), "{}: {:?}", name, e),
        }
    }

    /// A payload that decodes, cut anywhere short of its end (and without TLVs), is
    /// UnexpectedEnd: never a panic, never a different message.
    #[test]
    fn truncated_random_messages(idx in 0..ALL_MESSAGE_IDS.len(), payload in vec(any::<u8>(), 0..300)) {
        let (ext, ty, _, name) = ALL_MESSAGE_IDS[idx];
        if let Ok((m, _)) = Message::decode(ext, ty, &payload) {
            let full = m.to_vec();
            for n in 0..full.len() {
                let r = Message::decode(ext, ty, &full[..n]);
                prop_assert!(matches!(r, Err(CodecError::UnexpectedEnd { .. })), "{} cut at {}: {:?}", name, n, r);
            }
        }
    }
}

/// Every message, cut at every length short of a payload that decodes, gives a typed error
/// (UnexpectedEnd: the decoder ran out of bytes), and the whole payload decodes.
#[test]
fn every_message_truncated_gives_a_typed_error() {
    let samples = sample_payloads();
    for &(ext, ty, _, name) in ALL_MESSAGE_IDS {
        assert!(samples.iter().any(|s| (s.0, s.1) == (ext, ty)), "no decodable payload found for {name}");
    }
    for (ext, ty, name, payload) in &samples {
        let (m, tlvs) = Message::decode(*ext, *ty, payload).unwrap();
        assert!(tlvs.is_empty());
        assert_eq!(&m.to_vec(), payload, "{name}");
        for n in 0..payload.len() {
            let r = Message::decode(*ext, *ty, &payload[..n]);
            assert!(matches!(r, Err(CodecError::UnexpectedEnd { .. })), "{name} cut to {n} bytes: {r:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Noise sessions
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// A responder fed random bytes as act 1 and after: no panic; an error ends the session.
    #[test]
    fn responder_fed_random_bytes(bytes in vec(any::<u8>(), 0..400), sizes in vec(0usize..90, 1..8)) {
        let mut s = server();
        let (_, err) = feed(&mut s, &chunked(&bytes, &sizes));
        if bytes.len() < ACT1_LEN {
            prop_assert_eq!(err, None);
            prop_assert!(s.pending_output().is_empty() && !s.is_established());
        } else if err.is_some() {
            assert_dead(&mut s);
        } else {
            prop_assert!(s.is_established());
            prop_assert_eq!(s.pending_output().len(), ACT2_LEN);
        }
    }

    /// An initiator fed random bytes as act 2: the handshake fails authentication once 234
    /// bytes are in, and not before; then the session is dead.
    #[test]
    fn initiator_fed_random_bytes(bytes in vec(any::<u8>(), 0..600), sizes in vec(0usize..300, 1..8)) {
        let mut c = client();
        let (frames, err) = feed(&mut c, &chunked(&bytes, &sizes));
        prop_assert!(frames.is_empty());
        if bytes.len() < ACT2_LEN {
            prop_assert_eq!(err, None);
            prop_assert!(!c.is_established());
        } else {
            prop_assert_eq!(err, Some(NoiseError::HandshakeDecryptFailed));
            assert_dead(&mut c);
        }
    }

    /// After a real handshake, random bytes as transport ciphertext (in either direction)
    /// never yield a frame; the first whole header fails authentication.
    #[test]
    fn transport_fed_random_bytes(
        to_client in any::<bool>(),
        bytes in vec(any::<u8>(), 0..600),
        sizes in vec(0usize..100, 1..8),
    ) {
        let (mut c, mut s) = pair();
        let receiver = if to_client { &mut c } else { &mut s };
        let (frames, err) = feed(receiver, &chunked(&bytes, &sizes));
        prop_assert!(frames.is_empty());
        if bytes.len() < ENCRYPTED_HEADER_LEN {
            prop_assert_eq!(err, None);
            prop_assert!(receiver.is_established());
        } else {
            prop_assert_eq!(err, Some(NoiseError::DecryptFailed));
            assert_dead(receiver);
        }
    }

    /// One flipped byte anywhere in an encrypted frame: the frames before it arrive intact,
    /// that frame fails with DecryptFailed, and the session refuses all further use.
    #[test]
    fn tampered_ciphertext_fails_and_kills_the_session(
        to_client in any::<bool>(),
        first in vec(any::<u8>(), 0..100),
        second in vec(any::<u8>(), 0..70_000),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (mut c, mut s) = pair();
        let (sender, receiver) = if to_client { (&mut s, &mut c) } else { (&mut c, &mut s) };
        let h = |n: usize| FrameHeader { extension_type: 0x8000, msg_type: 0x1c, msg_length: n as u32 };
        sender.send_frame(h(first.len()), &first).unwrap();
        let intact = sender.pending_output().len();
        sender.send_frame(h(second.len()), &second).unwrap();
        let mut wire = sender.take_output();
        let at = intact + pos.index(wire.len() - intact);
        wire[at] ^= xor;

        let (frames, err) = feed(receiver, &[&wire]);
        prop_assert_eq!(frames, vec![(h(first.len()), first)]);
        prop_assert_eq!(err, Some(NoiseError::DecryptFailed));
        assert_dead(receiver);
    }

    /// A handshake message cut anywhere: no frames, no output, no error until the rest
    /// arrives, then the handshake completes and frames flow.
    #[test]
    fn handshake_cut_short_waits(k1 in 0..ACT1_LEN, k2 in 0..ACT2_LEN, extra in vec(any::<u8>(), 0..30)) {
        let (mut c, mut s) = (client(), server());
        let act1 = c.take_output();
        prop_assert_eq!(act1.len(), ACT1_LEN);
        prop_assert_eq!(s.receive(&act1[..k1]), Ok(()));
        prop_assert!(matches!(s.next_frame(), Ok(None)));
        prop_assert!(!s.is_established() && s.pending_output().is_empty());
        prop_assert_eq!(s.receive(&act1[k1..]), Ok(()));
        prop_assert!(s.is_established());

        let act2 = s.take_output();
        prop_assert_eq!(act2.len(), ACT2_LEN);
        prop_assert_eq!(c.receive(&act2[..k2]), Ok(()));
        prop_assert!(matches!(c.next_frame(), Ok(None)));
        prop_assert!(!c.is_established() && c.handshake_info().is_none());
        prop_assert_eq!(c.receive(&act2[k2..]), Ok(()));
        prop_assert!(c.is_established());

        let h = FrameHeader { extension_type: 0, msg_type: 0x70, msg_length: extra.len() as u32 };
        c.send_frame(h, &extra).unwrap();
        let (frames, err) = feed(&mut s, &[&c.take_output()]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(frames, vec![(h, extra)]);
    }
}

/// A plaintext session's 16 MiB header reserves nothing; under a smaller max_payload it is
/// refused as soon as the header is in.
#[test]
fn plaintext_session_header_announcing_16_mib() {
    let header = FrameHeader { extension_type: 0, msg_type: 0x71, msg_length: MAX_PAYLOAD_LEN as u32 };
    let mut s = Session::plaintext();
    let (_, largest) = largest_allocation(|| {
        s.receive(&header.to_bytes()).unwrap();
        assert!(matches!(s.next_frame(), Ok(None)));
        for _ in 0..50 {
            s.receive(&[0; 200]).unwrap();
            assert!(matches!(s.next_frame(), Ok(None)));
        }
    });
    assert_eq!(buffered_in(&s), HEADER_LEN + 50 * 200);
    assert!(largest < 64 * 1024, "largest allocation {largest} bytes");

    let mut s = Session::plaintext();
    s.set_max_payload(1 << 16);
    s.receive(&header.to_bytes()).unwrap();
    assert_eq!(
        s.next_frame().map(|f| f.is_some()),
        Err(NoiseError::Codec(CodecError::FrameTooLarge { len: MAX_PAYLOAD_LEN, max: 1 << 16 }))
    );
    assert_dead(&mut s);
}

/// An encrypted header announcing 16 MiB − 1: the receiver holds only the ciphertext that has
/// arrived and allocates in proportion to it until the whole frame is in; under a smaller
/// max_payload the header alone is refused.
#[test]
fn transport_header_announcing_16_mib() {
    let (mut c, mut s) = pair();
    let header = FrameHeader { extension_type: 0, msg_type: 0x71, msg_length: MAX_PAYLOAD_LEN as u32 };
    let payload = vec![0x5a; MAX_PAYLOAD_LEN];
    c.send_frame(header, &payload).unwrap();
    let wire = c.take_output();
    let partial = ENCRYPTED_HEADER_LEN + MAX_CIPHERTEXT_CHUNK + 10;

    let (_, largest) = largest_allocation(|| {
        for piece in wire[..partial].chunks(4096) {
            s.receive(piece).unwrap();
            assert!(matches!(s.next_frame(), Ok(None)));
        }
    });
    assert_eq!(buffered_in(&s), partial - ENCRYPTED_HEADER_LEN);
    assert!(largest < 1 << 20, "largest allocation {largest} bytes with {partial} bytes received");

    // The rest arrives: the whole frame comes out.
    s.receive(&wire[partial..]).unwrap();
    let f = s.next_frame().unwrap().unwrap();
    assert_eq!(f.header, header);
    assert!(f.payload == &payload[..]);

    // Under a 64 KiB limit the 22-byte header alone is refused.
    let (mut c, mut s) = pair();
    s.set_max_payload(1 << 16);
    c.send_frame(header, &payload).unwrap();
    let wire = c.take_output();
    s.receive(&wire[..ENCRYPTED_HEADER_LEN]).unwrap();
    assert_eq!(
        s.next_frame().map(|f| f.is_some()),
        Err(NoiseError::Codec(CodecError::FrameTooLarge { len: MAX_PAYLOAD_LEN, max: 1 << 16 }))
    );
    assert_dead(&mut s);
}
