//! Sessions and the plaintext frame decoder, each keeping its last received frame so that C++
//! can read the header and borrow the payload until the next call.

use sv2::codec::{Frame, FrameDecoder, FrameHeader as CoreHeader, CHANNEL_MSG_BIT, HEADER_LEN};
use sv2::noise::{random_bytes, AuthorityPublicKey, ServerAuth, Session};

use crate::bridge::ffi::{FrameHeader, HandshakeInfo, ServerCredentials};
use crate::error::{guard, Error};
use crate::keys::{certificate_from_core, credentials_to_core};

/// The last frame taken from a session or decoder, copied out of its buffer.
#[derive(Default)]
struct LastFrame {
    header: Option<FrameHeader>,
    payload: Vec<u8>,
}

impl LastFrame {
    fn set(&mut self, frame: Option<Frame<'_>>) -> bool {
        self.payload.clear();
        self.header = frame.map(|f| {
            self.payload.extend_from_slice(f.payload);
            header_from_core(f.header)
        });
        self.header.is_some()
    }

    fn header(&self) -> FrameHeader {
        self.header.unwrap_or(FrameHeader { extension_type: 0, msg_type: 0, channel_msg: false, msg_length: 0 })
    }
}

fn header_from_core(h: CoreHeader) -> FrameHeader {
    FrameHeader {
        extension_type: h.extension_id(),
        msg_type: h.msg_type,
        channel_msg: h.channel_msg(),
        msg_length: h.msg_length,
    }
}

/// One side of a connection.
pub struct SessionImpl {
    inner: Session,
    last: LastFrame,
}

fn boxed(inner: Session) -> Box<SessionImpl> {
    Box::new(SessionImpl { inner, last: LastFrame::default() })
}

/// A client pinning `authority_public_key`, checking the certificate at `now`.
pub(crate) fn session_initiator(authority_public_key: &[u8; 32], now: u32) -> Result<Box<SessionImpl>, Error> {
    guard(|| session_initiator_with_entropy(authority_public_key, &random_bytes()?, now))
}

/// As [`session_initiator`] with the caller's entropy for the ephemeral key.
pub(crate) fn session_initiator_with_entropy(
    authority_public_key: &[u8; 32],
    entropy: &[u8; 32],
    now: u32,
) -> Result<Box<SessionImpl>, Error> {
    guard(|| {
        let auth = ServerAuth::Authority(AuthorityPublicKey::from_bytes(authority_public_key)?);
        Ok(boxed(Session::initiator(auth, *entropy, now)?))
    })
}

/// A server with `credentials`.
pub(crate) fn session_responder(credentials: &ServerCredentials) -> Result<Box<SessionImpl>, Error> {
    guard(|| session_responder_with_entropy(credentials, &random_bytes()?))
}

/// As [`session_responder`] with the caller's entropy for the ephemeral key.
pub(crate) fn session_responder_with_entropy(
    credentials: &ServerCredentials,
    entropy: &[u8; 32],
) -> Result<Box<SessionImpl>, Error> {
    guard(|| Ok(boxed(Session::responder(&credentials_to_core(credentials)?, *entropy)?)))
}

/// A session without encryption.
pub(crate) fn session_plaintext() -> Box<SessionImpl> {
    boxed(Session::plaintext())
}

impl SessionImpl {
    pub(crate) fn set_max_payload(&mut self, max: usize) {
        self.inner.set_max_payload(max);
    }

    pub(crate) fn is_established(&self) -> bool {
        self.inner.is_established()
    }

    pub(crate) fn handshake_hash(&self, out: &mut [u8; 32]) -> bool {
        self.inner.handshake_hash().map(|h| *out = h).is_some()
    }

    pub(crate) fn handshake_info(&self, out: &mut HandshakeInfo) -> bool {
        self.inner
            .handshake_info()
            .map(|i| {
                *out = HandshakeInfo {
                    server_static_key: i.server_static_key,
                    certificate: certificate_from_core(&i.certificate),
                    handshake_hash: i.handshake_hash,
                }
            })
            .is_some()
    }

    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Result<(), Error> {
        guard(|| Ok(self.inner.receive(bytes)?))
    }

    pub(crate) fn next_frame(&mut self) -> Result<bool, Error> {
        guard(|| {
            let frame = self.inner.next_frame()?;
            Ok(self.last.set(frame))
        })
    }

    pub(crate) fn frame_header(&self) -> FrameHeader {
        self.last.header()
    }

    pub(crate) fn frame_payload(&self) -> &[u8] {
        &self.last.payload
    }

    /// Queues a whole plaintext frame (header and payload), as the encode functions write it.
    pub(crate) fn send_encoded(&mut self, frame: &[u8]) -> Result<(), Error> {
        guard(|| {
            let (header, payload) = frame
                .split_first_chunk::<HEADER_LEN>()
                .ok_or(sv2::codec::CodecError::UnexpectedEnd { needed: HEADER_LEN, available: frame.len() })?;
            Ok(self.inner.send_frame(CoreHeader::from_bytes(header), payload)?)
        })
    }

    /// Queues a frame given as header and payload (to forward a frame unchanged).
    pub(crate) fn send_frame(&mut self, header: &FrameHeader, payload: &[u8]) -> Result<(), Error> {
        guard(|| {
            let channel_bit = if header.channel_msg { CHANNEL_MSG_BIT } else { 0 };
            let header = CoreHeader {
                extension_type: header.extension_type | channel_bit,
                msg_type: header.msg_type,
                msg_length: header.msg_length,
            };
            Ok(self.inner.send_frame(header, payload)?)
        })
    }

    pub(crate) fn pending_output(&self) -> &[u8] {
        self.inner.pending_output()
    }

    /// Queues whole plaintext frames back to back, as an endpoint's output holds them.
    pub(crate) fn send_frames(&mut self, frames: &[u8]) -> Result<(), Error> {
        guard(|| {
            let mut d = FrameDecoder::new(sv2::codec::MAX_PAYLOAD_LEN);
            d.push(frames);
            while let Some(f) = d.next_frame()? {
                self.inner.send_frame(f.header, f.payload)?;
            }
            Ok(())
        })
    }

    pub(crate) fn consume_output(&mut self, n: usize) {
        self.inner.consume_output(n);
    }
}

/// The plaintext frame decoder.
pub struct FrameDecoderImpl {
    inner: FrameDecoder,
    last: LastFrame,
}

/// A decoder refusing payloads over `max_payload` bytes.
pub(crate) fn frame_decoder_new(max_payload: usize) -> Box<FrameDecoderImpl> {
    Box::new(FrameDecoderImpl { inner: FrameDecoder::new(max_payload), last: LastFrame::default() })
}

impl FrameDecoderImpl {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.inner.push(bytes);
    }

    pub(crate) fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    pub(crate) fn next_frame(&mut self) -> Result<bool, Error> {
        guard(|| {
            let frame = self.inner.next_frame()?;
            Ok(self.last.set(frame))
        })
    }

    pub(crate) fn frame_header(&self) -> FrameHeader {
        self.last.header()
    }

    pub(crate) fn frame_payload(&self) -> &[u8] {
        &self.last.payload
    }
}
