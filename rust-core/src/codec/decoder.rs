//! Streaming decoder for plaintext frames: bytes in any chunking, whole frames out.

use alloc::vec::Vec;

use super::frame::{Frame, FrameHeader, HEADER_LEN, MAX_PAYLOAD_LEN};
use super::CodecError;

/// Buffers bytes until whole frames are available.
///
/// Memory grows only with bytes actually pushed: a header that announces 16 MiB reserves
/// nothing until that many bytes arrive, and a frame over [`FrameDecoder::max_payload`] is
/// refused as soon as its header is seen.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` that belong to frames already returned.
    consumed: usize,
    max_payload: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(MAX_PAYLOAD_LEN)
    }
}

impl FrameDecoder {
    /// A decoder that refuses payloads longer than `max_payload` bytes.
    pub fn new(max_payload: usize) -> Self {
        FrameDecoder { buf: Vec::new(), consumed: 0, max_payload: max_payload.min(MAX_PAYLOAD_LEN) }
    }

    /// Largest payload accepted.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.consumed
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed, or an error when the
    /// next header announces a payload over the limit (the stream cannot be resynchronised:
    /// close the connection).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CodecError> {
        // Frames are taken from `consumed` on; the buffer is compacted only in `push`, so a
        // push holding many small frames costs time linear in its size, not quadratic.
        let start = self.consumed;
        let Some(hdr) = self.buf.get(start..start + HEADER_LEN) else { return Ok(None) };
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(hdr);
        let header = FrameHeader::from_bytes(&h);
        let len = header.msg_length as usize;
        if len > self.max_payload {
            return Err(CodecError::FrameTooLarge { len, max: self.max_payload });
        }
        let end = start + HEADER_LEN + len;
        if self.buf.len() < end {
            return Ok(None);
        }
        self.consumed = end;
        Ok(Some(Frame { header, payload: &self.buf[start + HEADER_LEN..end] }))
    }

    fn compact(&mut self) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
    }
}
