//! A sans-IO connection: handshake bytes and encrypted frames in, whole plaintext frames out;
//! messages in, bytes to send out.

use alloc::boxed::Box;
use alloc::vec::Vec;

use snow::TransportState;

use super::certificate::ServerCredentials;
use super::handshake::{map_snow, HandshakeInfo, Initiator, Responder, ServerAuth, ACT1_LEN, ACT2_LEN};
use super::NoiseError;
use crate::codec::{encode_frame, frame_len, Frame, FrameHeader, Tlv, HEADER_LEN, MAX_PAYLOAD_LEN};
use crate::messages::Message;

/// Poly1305 tag size.
pub const MAC_LEN: usize = 16;
/// Largest Noise message (one AEAD ciphertext).
pub const MAX_CIPHERTEXT_CHUNK: usize = 65_535;
/// Largest plaintext chunk of a frame payload.
pub const MAX_PLAINTEXT_CHUNK: usize = MAX_CIPHERTEXT_CHUNK - MAC_LEN;
/// Size of an encrypted frame header.
pub const ENCRYPTED_HEADER_LEN: usize = HEADER_LEN + MAC_LEN;

/// Ciphertext bytes that carry a payload of `pt` plaintext bytes (each chunk of up to
/// 65 519 bytes gains a 16-byte tag).
pub const fn encrypted_payload_len(pt: usize) -> usize {
    let full = pt / MAX_PLAINTEXT_CHUNK;
    let rem = pt % MAX_PLAINTEXT_CHUNK;
    full * MAX_CIPHERTEXT_CHUNK + if rem > 0 { rem + MAC_LEN } else { 0 }
}

enum State {
    /// Client waiting for the server's 234 bytes; `now` checks the certificate.
    AwaitAct2(Box<Initiator>, u32),
    /// Server waiting for the client's 64 bytes.
    AwaitAct1(Box<Responder>),
    /// Encrypted transport.
    Transport(Box<TransportState>),
    /// No encryption (trusted local links only).
    Plaintext,
    /// A fatal error happened; the connection must be closed.
    Failed,
}

enum Recv {
    Header,
    Payload(FrameHeader),
}

/// One side of a Stratum V2 connection, without I/O.
///
/// Feed received bytes to [`Session::receive`], take frames from [`Session::next_frame`],
/// queue messages with [`Session::send`], and write [`Session::pending_output`] to the
/// socket. Any error is fatal: close the connection.
pub struct Session {
    state: State,
    inbuf: Vec<u8>,
    /// Bytes at the front of `inbuf` already used.
    in_pos: usize,
    recv: Recv,
    /// Decrypted payload of the frame last returned.
    plain: Vec<u8>,
    out: Vec<u8>,
    scratch: Vec<u8>,
    max_payload: usize,
    info: Option<HandshakeInfo>,
    handshake_hash: Option<[u8; 32]>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("established", &self.is_established())
            .field("buffered_in", &(self.inbuf.len() - self.in_pos))
            .field("pending_out", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    fn with_state(state: State) -> Self {
        Session {
            state,
            inbuf: Vec::new(),
            in_pos: 0,
            recv: Recv::Header,
            plain: Vec::new(),
            out: Vec::new(),
            scratch: Vec::new(),
            max_payload: MAX_PAYLOAD_LEN,
            info: None,
            handshake_hash: None,
        }
    }

    /// A client session; its first handshake message is queued at once. `now` (unix seconds)
    /// is when the server's certificate must be valid.
    pub fn initiator(auth: ServerAuth, ephemeral_entropy: [u8; 32], now: u32) -> Result<Self, NoiseError> {
        let (init, act1) = Initiator::new(auth, ephemeral_entropy)?;
        let mut s = Self::with_state(State::AwaitAct2(Box::new(init), now));
        s.out.extend_from_slice(&act1);
        Ok(s)
    }

    /// Moves the time the server's certificate is checked at to `now` (unix seconds): a
    /// client calls it as the server's answer arrives, since a server may sign its
    /// certificate when it answers, later than the handshake began. Nothing on a server
    /// session or once the answer was read.
    pub fn set_now(&mut self, now: u32) {
        if let State::AwaitAct2(_, at) = &mut self.state {
            *at = now;
        }
    }

    /// A server session waiting for the client's first handshake message.
    pub fn responder(credentials: &ServerCredentials, ephemeral_entropy: [u8; 32]) -> Result<Self, NoiseError> {
        Ok(Self::with_state(State::AwaitAct1(Box::new(Responder::new(credentials, ephemeral_entropy)?))))
    }

    /// A session without encryption, for links where the operator owns both ends.
    pub fn plaintext() -> Self {
        Self::with_state(State::Plaintext)
    }

    /// Refuse frames whose payload is longer than `max` bytes (default and ceiling 16 MiB − 1).
    pub fn set_max_payload(&mut self, max: usize) {
        self.max_payload = max.min(MAX_PAYLOAD_LEN);
    }

    /// True once frames can be sent and received.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Transport(_) | State::Plaintext)
    }

    /// For a client: the server's static key and certificate, once the handshake is done.
    pub fn handshake_info(&self) -> Option<&HandshakeInfo> {
        self.info.as_ref()
    }

    /// The final handshake hash, once the handshake is done.
    pub fn handshake_hash(&self) -> Option<[u8; 32]> {
        self.handshake_hash
    }

    /// Buffers received bytes and advances the handshake when its message is complete.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), NoiseError> {
        if matches!(self.state, State::Failed) {
            return Err(NoiseError::SessionFailed);
        }
        if self.in_pos > 0 {
            self.inbuf.drain(..self.in_pos);
            self.in_pos = 0;
        }
        self.inbuf.extend_from_slice(bytes);
        self.advance_handshake().inspect_err(|_| self.state = State::Failed)
    }

    fn advance_handshake(&mut self) -> Result<(), NoiseError> {
        match core::mem::replace(&mut self.state, State::Failed) {
            State::AwaitAct1(resp) if self.inbuf.len() >= ACT1_LEN => {
                let act1: &[u8; ACT1_LEN] = self.inbuf[..ACT1_LEN].try_into().map_err(|_| NoiseError::Internal)?;
                let (act2, transport, hash) = resp.respond(act1)?;
                self.in_pos = ACT1_LEN;
                self.out.extend_from_slice(&act2);
                self.handshake_hash = Some(hash);
                self.state = State::Transport(Box::new(transport));
            }
            State::AwaitAct2(init, now) if self.inbuf.len() >= ACT2_LEN => {
                let act2: &[u8; ACT2_LEN] = self.inbuf[..ACT2_LEN].try_into().map_err(|_| NoiseError::Internal)?;
                let (transport, info) = init.finish(act2, now)?;
                self.in_pos = ACT2_LEN;
                self.handshake_hash = Some(info.handshake_hash);
                self.info = Some(info);
                self.state = State::Transport(Box::new(transport));
            }
            other => self.state = other,
        }
        Ok(())
    }

    /// The next whole frame received, or `Ok(None)` when more bytes are needed. The frame
    /// borrows the session until the next call.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, NoiseError> {
        match self.next_frame_len() {
            Ok(Some(header)) => Ok(Some(Frame { header, payload: &self.plain[..header.msg_length as usize] })),
            Ok(None) => Ok(None),
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    /// Decodes the next frame into `self.plain` and returns its header.
    fn next_frame_len(&mut self) -> Result<Option<FrameHeader>, NoiseError> {
        let transport = match &mut self.state {
            State::Transport(t) => Some(t),
            State::Plaintext => None,
            State::Failed => return Err(NoiseError::SessionFailed),
            _ => return Ok(None),
        };
        let avail = &self.inbuf[self.in_pos..];
        match (transport, &self.recv) {
            (None, _) => {
                let Some(h) = avail.get(..HEADER_LEN) else { return Ok(None) };
                let header = FrameHeader::from_bytes(h.try_into().map_err(|_| NoiseError::Internal)?);
                let len = check_len(header, self.max_payload)?;
                let Some(payload) = avail.get(HEADER_LEN..HEADER_LEN + len) else { return Ok(None) };
                self.plain.clear();
                self.plain.extend_from_slice(payload);
                self.in_pos += HEADER_LEN + len;
                Ok(Some(header))
            }
            (Some(t), Recv::Header) => {
                let Some(ct) = avail.get(..ENCRYPTED_HEADER_LEN) else { return Ok(None) };
                let mut h = [0u8; HEADER_LEN];
                t.read_message(ct, &mut h).map_err(map_snow)?;
                self.in_pos += ENCRYPTED_HEADER_LEN;
                let header = FrameHeader::from_bytes(&h);
                check_len(header, self.max_payload)?;
                self.recv = Recv::Payload(header);
                self.next_frame_len()
            }
            (Some(t), Recv::Payload(header)) => {
                let header = *header;
                let len = header.msg_length as usize;
                let Some(ct) = avail.get(..encrypted_payload_len(len)) else { return Ok(None) };
                self.plain.resize(len, 0);
                let mut pos = 0;
                for chunk in ct.chunks(MAX_CIPHERTEXT_CHUNK) {
                    pos += t.read_message(chunk, &mut self.plain[pos..]).map_err(map_snow)?;
                }
                self.in_pos += ct.len();
                self.recv = Recv::Header;
                Ok(Some(header))
            }
        }
    }

    /// Queues `msg` followed by `tlvs` as one frame.
    pub fn send(&mut self, msg: &Message<'_>, tlvs: &[Tlv<'_>]) -> Result<(), NoiseError> {
        let mut frame = core::mem::take(&mut self.scratch);
        frame.resize(frame_len(msg, tlvs), 0);
        let r = encode_frame(msg, tlvs, &mut frame).map_err(NoiseError::Codec).and_then(|_| self.send_raw(&frame));
        self.scratch = frame;
        r
    }

    /// Queues a frame given as header and payload (for forwarding frames unchanged). Fails with
    /// [`crate::codec::CodecError::TooLong`] for a payload over the U24 length field.
    pub fn send_frame(&mut self, header: FrameHeader, payload: &[u8]) -> Result<(), NoiseError> {
        let header_bytes = header.try_to_bytes().map_err(NoiseError::Codec)?;
        if header.msg_length as usize != payload.len() {
            return Err(NoiseError::Codec(crate::codec::CodecError::UnexpectedEnd {
                needed: header.msg_length as usize,
                available: payload.len(),
            }));
        }
        let mut frame = core::mem::take(&mut self.scratch);
        frame.clear();
        frame.extend_from_slice(&header_bytes);
        frame.extend_from_slice(payload);
        let r = self.send_raw(&frame);
        self.scratch = frame;
        r
    }

    /// Queues one plaintext frame (header and payload), encrypting it in transport mode.
    fn send_raw(&mut self, frame: &[u8]) -> Result<(), NoiseError> {
        match &mut self.state {
            State::Plaintext => {
                self.out.extend_from_slice(frame);
                Ok(())
            }
            State::Transport(t) => {
                let start = self.out.len();
                encrypt_frame(t, frame, &mut self.out).inspect_err(|_| {
                    self.out.truncate(start);
                    self.state = State::Failed;
                })
            }
            State::Failed => Err(NoiseError::SessionFailed),
            _ => Err(NoiseError::NotEstablished),
        }
    }

    /// Bytes waiting to be written to the peer.
    pub fn pending_output(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` pending bytes as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Takes every pending byte.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }
}

fn check_len(header: FrameHeader, max: usize) -> Result<usize, NoiseError> {
    let len = header.msg_length as usize;
    if len > max {
        return Err(NoiseError::Codec(crate::codec::CodecError::FrameTooLarge { len, max }));
    }
    Ok(len)
}

/// Appends the encryption of one plaintext frame: the header as its own 22-byte AEAD message,
/// then the payload in chunks of at most 65 519 bytes.
pub(crate) fn encrypt_frame(t: &mut TransportState, frame: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
    let (header, payload) = frame.split_at(HEADER_LEN);
    let mut pos = out.len();
    out.resize(pos + ENCRYPTED_HEADER_LEN + encrypted_payload_len(payload.len()), 0);
    pos += t.write_message(header, &mut out[pos..]).map_err(map_snow)?;
    for chunk in payload.chunks(MAX_PLAINTEXT_CHUNK) {
        pos += t.write_message(chunk, &mut out[pos..]).map_err(map_snow)?;
    }
    Ok(())
}
