//! The 6-byte frame header and whole frames.

use super::tlv::{Tlv, TlvList, TLV_VALUE_MAX};
use super::wire::{Encode, Writer};
use super::CodecError;
use crate::messages::Message;

/// Size of the plaintext frame header.
pub const HEADER_LEN: usize = 6;
/// The channel_msg bit of `extension_type`.
pub const CHANNEL_MSG_BIT: u16 = 0x8000;
/// Largest payload a frame can announce (U24).
pub const MAX_PAYLOAD_LEN: usize = 0xFF_FFFF;

/// `extension_type` (U16, channel_msg in bit 15), `msg_type` (U8), `msg_length` (U24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Extension id with the channel_msg bit.
    pub extension_type: u16,
    /// Message id within the extension.
    pub msg_type: u8,
    /// Payload length in bytes (0 ..= 16 777 215).
    pub msg_length: u32,
}

impl FrameHeader {
    /// Parses a header from its 6 bytes.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Self {
        FrameHeader {
            extension_type: u16::from_le_bytes([b[0], b[1]]),
            msg_type: b[2],
            msg_length: u32::from_le_bytes([b[3], b[4], b[5], 0]),
        }
    }

    /// The 6 header bytes, or [`CodecError::TooLong`] when `msg_length` does not fit the U24
    /// length field (over [`MAX_PAYLOAD_LEN`]). Every encoding path uses this.
    pub fn try_to_bytes(&self) -> Result<[u8; HEADER_LEN], CodecError> {
        let len = self.msg_length as usize;
        if len > MAX_PAYLOAD_LEN {
            return Err(CodecError::TooLong { len, max: MAX_PAYLOAD_LEN });
        }
        Ok(self.to_bytes())
    }

    /// The 6 header bytes of a header whose `msg_length` fits the U24 field (a decoded one, or
    /// one checked with [`Self::try_to_bytes`]); a longer length loses its high bits.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let e = self.extension_type.to_le_bytes();
        let l = self.msg_length.to_le_bytes();
        [e[0], e[1], self.msg_type, l[0], l[1], l[2]]
    }

    /// True when the channel_msg bit is set (the payload starts with a U32 channel_id).
    pub fn channel_msg(&self) -> bool {
        self.extension_type & CHANNEL_MSG_BIT != 0
    }

    /// The extension id without the channel_msg bit.
    pub fn extension_id(&self) -> u16 {
        self.extension_type & !CHANNEL_MSG_BIT
    }

    /// The header of a frame carrying `msg` followed by `tlv_len` bytes of TLV records.
    pub fn for_message(msg: &Message<'_>, tlv_len: usize) -> Result<Self, CodecError> {
        let len = msg.encoded_len() + tlv_len;
        if len > MAX_PAYLOAD_LEN {
            return Err(CodecError::TooLong { len, max: MAX_PAYLOAD_LEN });
        }
        let ch = if msg.channel_msg() { CHANNEL_MSG_BIT } else { 0 };
        Ok(FrameHeader { extension_type: msg.extension_type() | ch, msg_type: msg.msg_type(), msg_length: len as u32 })
    }
}

/// A whole frame: header and a payload borrowed from the decoder's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: FrameHeader,
    /// Exactly `header.msg_length` bytes.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Decodes the payload as a typed message. Bytes after the message's last field must be
    /// whole TLV records, returned beside it.
    pub fn message(&self) -> Result<(Message<'a>, TlvList<'a>), CodecError> {
        Message::decode(self.header.extension_type, self.header.msg_type, self.payload)
    }

    /// For channel messages, the leading U32 channel_id.
    pub fn channel_id(&self) -> Option<u32> {
        let b = self.payload.get(..4)?;
        self.header.channel_msg().then(|| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Size of the plaintext frame (header, message, TLVs) that [`encode_frame`] writes.
pub fn frame_len(msg: &Message<'_>, tlvs: &[Tlv<'_>]) -> usize {
    HEADER_LEN + msg.encoded_len() + tlvs.iter().map(Encode::encoded_len).sum::<usize>()
}

/// Writes header, message and TLV records into the front of `out`; returns the length.
/// Fails, with nothing written, with [`CodecError::TooLong`] when a TLV value is over 65 535
/// bytes or the payload over [`MAX_PAYLOAD_LEN`] (their length fields cannot hold them), and
/// with [`CodecError::BufferTooSmall`] when `out` is too short.
pub fn encode_frame(msg: &Message<'_>, tlvs: &[Tlv<'_>], out: &mut [u8]) -> Result<usize, CodecError> {
    if let Some(t) = tlvs.iter().find(|t| t.value.len() > TLV_VALUE_MAX) {
        return Err(CodecError::TooLong { len: t.value.len(), max: TLV_VALUE_MAX });
    }
    let needed = frame_len(msg, tlvs);
    let header = FrameHeader::for_message(msg, needed - HEADER_LEN - msg.encoded_len())?;
    if out.len() < needed {
        return Err(CodecError::BufferTooSmall { needed, available: out.len() });
    }
    let mut w = Writer::new(&mut out[..needed]);
    w.put(&header.try_to_bytes()?);
    msg.write(&mut w);
    tlvs.iter().for_each(|t| t.write(&mut w));
    Ok(needed)
}

/// [`encode_frame`] into a new vector.
pub fn frame_to_vec(msg: &Message<'_>, tlvs: &[Tlv<'_>]) -> Result<alloc::vec::Vec<u8>, CodecError> {
    let mut v = alloc::vec![0u8; frame_len(msg, tlvs)];
    encode_frame(msg, tlvs, &mut v)?;
    Ok(v)
}
