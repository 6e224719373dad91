//! Shared pieces of the fuzz targets: an allocation bound, deterministic chunking, Noise
//! fixtures, oracles, and the seed corpus each target writes into an empty corpus directory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use sv2::codec::{CodecError, Frame, FrameDecoder, FrameHeader, TlvList, HEADER_LEN};
use sv2::messages::{Message, ALL_MESSAGE_IDS};
use sv2::noise::{AuthorityKeypair, NoiseError, ServerAuth, ServerCredentials, Session};

// ---------------------------------------------------------------------------------------------
// Allocation bound
// ---------------------------------------------------------------------------------------------

/// Aborts the process (which libFuzzer reports as a crash and saves the input for) when one
/// allocation exceeds the bound set by [`bound_allocations`]. This is how the targets catch a
/// decoder that trusts a length it read (a header announcing 16 MiB) and reserves memory
/// before the bytes arrive, without relying on a sanitizer runtime (the smoke run uses
/// `--sanitizer none` so that it works on a stable toolchain).
pub struct BoundedAlloc;

static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

#[global_allocator]
static GLOBAL: BoundedAlloc = BoundedAlloc;

/// Fixed allowance for one allocation, whatever the input.
pub const ALLOC_BASE: usize = 1 << 20;
/// Allowance per byte of input (buffers may double while they grow, and a session holds
/// the ciphertext, the decrypted payload and its own output).
pub const ALLOC_PER_INPUT_BYTE: usize = 8;

/// From now on, any single allocation larger than `ALLOC_BASE + 8 × input_len` aborts.
pub fn bound_allocations(input_len: usize) {
    let limit = ALLOC_BASE.saturating_add(input_len.saturating_mul(ALLOC_PER_INPUT_BYTE));
    LIMIT.store(limit, Ordering::Relaxed);
}

/// Lifts the bound (for a target's own set-up work on an input).
pub fn unbound_allocations() {
    LIMIT.store(usize::MAX, Ordering::Relaxed);
}

#[inline]
fn check_size(size: usize) {
    // A panic report (with its backtrace) may allocate freely: the panic is the finding.
    if size > LIMIT.load(Ordering::Relaxed) && !std::thread::panicking() {
        over_limit(size);
    }
}

#[cold]
fn over_limit(size: usize) -> ! {
    let limit = LIMIT.swap(usize::MAX, Ordering::Relaxed);
    let _ = writeln!(
        std::io::stderr(),
        "sv2-fuzz: one allocation of {size} bytes exceeds the bound of {limit} bytes for this input"
    );
    std::process::abort();
}

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper only reads
// the requested size first.
unsafe impl GlobalAlloc for BoundedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_size(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading fuzz input
// ---------------------------------------------------------------------------------------------

/// A cursor over fuzz input that yields zeros once the input is used up, so that every
/// input, however short, maps to some test case.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    /// The next two bytes little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// The next three bytes little-endian.
    pub fn u24(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), 0])
    }
    /// The next four bytes little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// The next 32 bytes (zero-padded).
    pub fn array32(&mut self) -> [u8; 32] {
        let mut a = [0u8; 32];
        a.iter_mut().for_each(|b| *b = self.u8());
        a
    }
    /// Up to `n` next bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }
    /// Every remaining byte.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// Splits a byte stream into chunks whose sizes follow a small PRNG seeded by the input:
/// empty chunks, single bytes, a few bytes, a few hundred, or everything left.
pub struct Chunks<'a> {
    rest: &'a [u8],
    state: u32,
}

impl<'a> Chunks<'a> {
    /// Chunks of `stream` chosen by `seed`.
    pub fn new(stream: &'a [u8], seed: u8) -> Self {
        Chunks { rest: stream, state: (u32::from(seed) << 8 | 0x5a).wrapping_mul(0x9e37_79b9) | 1 }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        // xorshift32: never reaches zero from a non-zero state.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let r = (self.state >> 4) as usize;
        let n = match self.state & 7 {
            0 => 0,
            1 | 2 => 1,
            3 => 2 + r % 7,
            4 => r % 64,
            5 => r % 700,
            6 => HEADER_LEN + 16,
            _ => self.rest.len(),
        };
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        Some(head)
    }
}

// ---------------------------------------------------------------------------------------------
// Exercising what decoded
// ---------------------------------------------------------------------------------------------

/// A `fmt::Write` that drops everything: formats a value without allocating for it.
struct Sink;

impl fmt::Write for Sink {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// Touches every accessor of a decoded message and its TLVs (encoding, Debug, iteration).
pub fn exercise_message(msg: &Message<'_>, tlvs: &TlvList<'_>) {
    let encoded = sv2::codec::Encode::to_vec(msg);
    assert_eq!(encoded.len(), sv2::codec::Encode::encoded_len(msg));
    let _ = write!(Sink, "{msg:?} {} {:?} {}", msg.name(), msg.protocol(), msg.channel_msg());
    for tlv in tlvs.iter() {
        let _ = write!(Sink, "{tlv:?}");
    }
    let _ = tlvs.user_identity();
}

/// Decodes a frame's message, if it is one, and touches it.
pub fn exercise_frame(frame: &Frame<'_>) {
    let _ = frame.channel_id();
    assert_eq!(frame.payload.len(), frame.header.msg_length as usize);
    if let Ok((msg, tlvs)) = frame.message() {
        exercise_message(&msg, &tlvs);
    }
}

/// A frame copied out of the decoder or session that returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// The header.
    pub header: FrameHeader,
    /// The payload.
    pub payload: Vec<u8>,
}

impl From<&Frame<'_>> for OwnedFrame {
    fn from(f: &Frame<'_>) -> Self {
        OwnedFrame { header: f.header, payload: f.payload.to_vec() }
    }
}

/// Takes every whole frame a decoder has, stopping at the first error.
pub fn drain_decoder(dec: &mut FrameDecoder, out: &mut Vec<OwnedFrame>) -> Result<(), CodecError> {
    while let Some(frame) = dec.next_frame()? {
        exercise_frame(&frame);
        out.push(OwnedFrame::from(&frame));
    }
    Ok(())
}

/// Takes every whole frame a session has, stopping at the first error.
pub fn drain_session(s: &mut Session, out: &mut Vec<OwnedFrame>) -> Result<(), NoiseError> {
    while let Some(frame) = s.next_frame()? {
        exercise_frame(&frame);
        out.push(OwnedFrame::from(&frame));
    }
    Ok(())
}

/// Feeds `stream` to a session in the chunks `seed` chooses, taking frames after each chunk;
/// returns the frames and the first error (after which it stops).
pub fn feed_session(s: &mut Session, stream: &[u8], seed: u8) -> (Vec<OwnedFrame>, Option<NoiseError>) {
    let mut frames = Vec::new();
    for chunk in Chunks::new(stream, seed) {
        if let Err(e) = s.receive(chunk).and_then(|()| drain_session(s, &mut frames)) {
            return (frames, Some(e));
        }
    }
    (frames, None)
}

/// Every error is fatal: a failed session refuses all further use.
pub fn assert_session_dead(s: &mut Session) {
    assert!(!s.is_established());
    assert_eq!(s.receive(&[0u8; 7]), Err(NoiseError::SessionFailed));
    assert!(matches!(s.next_frame(), Err(NoiseError::SessionFailed)));
    let header = FrameHeader { extension_type: 0, msg_type: 0x1c, msg_length: 0 };
    assert_eq!(s.send_frame(header, &[]), Err(NoiseError::SessionFailed));
}

// ---------------------------------------------------------------------------------------------
// Noise fixtures
// ---------------------------------------------------------------------------------------------

/// Ephemeral key entropy of the fixture client.
pub const CLIENT_EPHEMERAL: [u8; 32] = [0x33; 32];
/// Ephemeral key entropy of the fixture server.
pub const SERVER_EPHEMERAL: [u8; 32] = [0x44; 32];
/// The fixture server's static secret.
pub const SERVER_STATIC: [u8; 32] = [0x22; 32];
/// The time the fixture client checks the certificate at.
pub const NOW: u32 = 1_700_000_000;

/// The fixture pool authority.
pub fn authority() -> &'static AuthorityKeypair {
    static A: OnceLock<AuthorityKeypair> = OnceLock::new();
    A.get_or_init(|| AuthorityKeypair::from_secret_bytes(&[0x11; 32]).expect("valid authority key"))
}

/// An authority that did not sign the fixture certificate.
pub fn other_authority() -> &'static AuthorityKeypair {
    static A: OnceLock<AuthorityKeypair> = OnceLock::new();
    A.get_or_init(|| AuthorityKeypair::from_secret_bytes(&[0x55; 32]).expect("valid authority key"))
}

/// The fixture server's credentials, valid at any time.
pub fn credentials() -> &'static ServerCredentials {
    static C: OnceLock<ServerCredentials> = OnceLock::new();
    C.get_or_init(|| {
        ServerCredentials::issue(authority(), SERVER_STATIC, 0, u32::MAX, &[7; 32]).expect("valid credentials")
    })
}

/// A client and a server session after a real in-process handshake.
pub fn established_pair() -> (Session, Session) {
    let mut client = Session::initiator(ServerAuth::Authority(authority().public_key()), CLIENT_EPHEMERAL, NOW)
        .expect("client session");
    let mut server = Session::responder(credentials(), SERVER_EPHEMERAL).expect("server session");
    server.receive(&client.take_output()).expect("act 1");
    client.receive(&server.take_output()).expect("act 2");
    assert!(client.is_established() && server.is_established());
    (client, server)
}

/// The fixture client's act 1 (64 bytes).
pub fn valid_act1() -> &'static [u8] {
    static A: OnceLock<Vec<u8>> = OnceLock::new();
    A.get_or_init(|| {
        let mut client =
            Session::initiator(ServerAuth::InsecureAcceptAnyServer, CLIENT_EPHEMERAL, NOW).expect("client session");
        client.take_output()
    })
}

// ---------------------------------------------------------------------------------------------
// Valid payloads and seeds
// ---------------------------------------------------------------------------------------------

/// For each known message id, the shortest payload of all zero bytes that decodes and the
/// shortest of all 0x01 bytes that decodes (empty strings and sequences, then one-element
/// ones, `OPTION`s present), where one of at most 4 KiB exists. Found by trying, so they
/// follow the message definitions without naming their fields.
pub fn sample_payloads() -> &'static [(u16, u8, Vec<u8>)] {
    static P: OnceLock<Vec<(u16, u8, Vec<u8>)>> = OnceLock::new();
    P.get_or_init(|| {
        let mut out = Vec::new();
        for &(ext, ty, _, _) in ALL_MESSAGE_IDS {
            for fill in [0u8, 1] {
                let buf = vec![fill; 4096];
                if let Some(n) = (0..=buf.len()).find(|&n| Message::decode(ext, ty, &buf[..n]).is_ok()) {
                    out.push((ext, ty, buf[..n].to_vec()));
                }
            }
        }
        out
    })
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| {
            let v = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            v(p[0]) << 4 | v(p[1])
        })
        .collect()
}

/// Frames from the spec's byte examples (01-datatypes-framing.md).
fn spec_frames() -> Vec<Vec<u8>> {
    [
        "000000260000 00 0200 0200 05000000 0c706f6f6c2e6578616d706c65 050d 0461636d65 03687731 03667731 00",
        "00801a180000 07000000 00000000 2b000000 efbeadde 01f15365 00200020",
    ]
    .iter()
    .map(|h| unhex(h))
    .collect()
}

/// Plaintext frames of every sample payload, the spec's examples, and a SubmitSharesExtended
/// with a worker-identity TLV.
pub fn sample_frames() -> Vec<Vec<u8>> {
    let mut frames = spec_frames();
    for (ext, ty, payload) in sample_payloads() {
        let ch = ALL_MESSAGE_IDS.iter().any(|&(e, t, c, _)| e == *ext && t == *ty && c);
        let header = FrameHeader {
            extension_type: ext | if ch { 0x8000 } else { 0 },
            msg_type: *ty,
            msg_length: payload.len() as u32,
        };
        let mut f = header.to_bytes().to_vec();
        f.extend_from_slice(payload);
        if *ty == 0x1b && *ext == 0 {
            // user_identity TLV of extension 0x0002.
            let mut with_tlv = f.clone();
            with_tlv.extend_from_slice(&[0x02, 0x00, 0x01, 0x05, 0x00]);
            with_tlv.extend_from_slice(b"alice");
            let len = (with_tlv.len() - HEADER_LEN) as u32;
            with_tlv[3..6].copy_from_slice(&len.to_le_bytes()[..3]);
            frames.push(with_tlv);
        }
        frames.push(f);
    }
    frames
}

/// Seed inputs for `target`, in that target's input format.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let frames = sample_frames();
    let all: Vec<u8> = frames.concat();
    let prefixed = |prefix: &[u8], body: &[u8]| [prefix, body].concat();
    match target {
        "frame_decoder" => {
            let mut s: Vec<Vec<u8>> = frames.iter().map(|f| prefixed(&[0, 0x42], f)).collect();
            s.push(prefixed(&[0, 0x17], &all));
            s.push(prefixed(&[1, 8, 0x99], &all));
            s
        }
        "message_dispatch" => {
            sample_payloads().iter().map(|(ext, ty, p)| prefixed(&[0, *ext as u8, (*ext >> 8) as u8, *ty], p)).collect()
        }
        "decode_reencode" => sample_payloads()
            .iter()
            .map(|(ext, ty, p)| {
                let idx = ALL_MESSAGE_IDS.iter().position(|&(e, t, _, _)| e == *ext && t == *ty).unwrap_or(0);
                prefixed(&[idx as u8, 0], p)
            })
            .collect(),
        "noise_responder" | "noise_initiator" => {
            // Real transport frames from the peer after the fixture handshake, which the
            // target reproduces byte for byte in its "valid handshake" mode.
            let (mut client, mut server) = established_pair();
            let from_peer = if target == "noise_responder" { &mut client } else { &mut server };
            let mut wire = Vec::new();
            for f in &frames {
                let header = FrameHeader::from_bytes(f[..HEADER_LEN].try_into().expect("6 bytes"));
                from_peer.send_frame(header, &f[HEADER_LEN..]).expect("send");
                wire.extend_from_slice(&from_peer.take_output());
            }
            let head: &[u8] = if target == "noise_responder" {
                &[1, 0x21, 0]
            } else {
                // flags (real act 2, right authority), now, window, chunk seed, no mutations.
                &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]
            };
            vec![prefixed(head, &wire), prefixed(head, &[]), vec![0; 64], vec![0xff; 300]]
        }
        "noise_transport" => {
            // Direction, max-payload setting, chunk seed, then "send this frame" operations.
            let mut s = Vec::new();
            for dir in [0u8, 1] {
                let mut prog = vec![dir, 0, 0x21];
                for f in frames.iter().take(12) {
                    let len = (f.len() - HEADER_LEN) as u16;
                    prog.extend_from_slice(&[0, f[0], f[1], f[2], len as u8, (len >> 8) as u8]);
                    prog.extend_from_slice(&f[HEADER_LEN..]);
                }
                s.push(prog);
            }
            s.push(vec![0, 0, 0x21, 1, 2, 0, 1, 0x80, 0x11, 0x00]);
            s
        }
        "sv1_lines" => [
            &b"{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":16}]}\n"[..],
            b"{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"bosminer/1\",null,\"h:3333\",null]}\r\n",
            b"{\"id\":\"3\",\"method\":\"mining.submit\",\"params\":[\"u.w\",\"1a\",\"00000001\",\"6553f100\",\"deadbeef\",\"00002000\"]}\n",
            b"{\"id\":null,\"method\":\"mining.suggest_difficulty\",\"params\":512}\n",
            b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"1\",\"0000000000000000000000000000000000000000000000000000000000000000\",\"01\",\"02\",[],\"20000000\",\"207fffff\",\"6553f100\",true]}\n",
            b"{\"id\":4,\"result\":false,\"error\":[23,\"Low difficulty share\",null]}\n",
        ]
        .iter()
        .flat_map(|line| [prefixed(&[0, 0, 0x21], line), prefixed(&[1, 8, 0x03], line)])
        .collect(),
        _ => Vec::new(),
    }
}

/// Writes [`seeds`] into the corpus directory libFuzzer was given, when that directory is
/// empty (a first run). Called from each target's `init`; does nothing when reproducing a
/// single input or merging corpora.
pub fn seed_corpus_dir(target: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a.starts_with("-merge") || a.starts_with("-set_cover_merge") || a.starts_with("-minimize")) {
        return;
    }
    let Some(dir) = args.iter().find(|a| !a.starts_with('-')).map(std::path::Path::new) else { return };
    let empty = dir.is_dir() && std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
    if !empty {
        return;
    }
    for (i, seed) in seeds(target).iter().enumerate() {
        let _ = std::fs::write(dir.join(format!("seed-{i:03}")), seed);
    }
}
