//! Wire types, frames, TLVs and the streaming frame decoder.

mod bytes;
mod decoder;
mod frame;
mod tlv;
mod wire;

pub use bytes::{Bytes, Seq, Seq0_255, Seq0_64K, SeqIter, Str0_255, B0_16M, B0_255, B0_32, B0_64K};
pub use decoder::FrameDecoder;
pub use frame::{
    encode_frame, frame_len, frame_to_vec, Frame, FrameHeader, CHANNEL_MSG_BIT, HEADER_LEN, MAX_PAYLOAD_LEN,
};
pub use tlv::{
    Tlv, TlvList, EXTENSION_WORKER_HASHRATE_TRACKING, FIELD_USER_IDENTITY, TLV_VALUE_MAX, USER_IDENTITY_MAX,
};
pub use wire::{Decode, Encode, FixedSize, Pubkey, Reader, Signature, Writer, U24, U256};

use core::fmt;

/// Why bytes could not be decoded or a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ended inside a value.
    UnexpectedEnd {
        /// Bytes the value needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length or count exceeds the type's maximum.
    TooLong {
        /// The length or count found.
        len: usize,
        /// The type's maximum.
        max: usize,
    },
    /// An OPTION count other than 0 or 1.
    InvalidOptionCount(u8),
    /// A value outside its type's range (a U24 over 2^24 − 1).
    OutOfRange,
    /// Bytes left after a value that must fill its input.
    TrailingBytes(usize),
    /// Bytes after a message's last field that are not whole TLV records.
    InvalidTlv,
    /// No message with this (extension_type without the channel bit, msg_type).
    UnknownMessage {
        /// Extension id.
        extension_type: u16,
        /// Message id.
        msg_type: u8,
    },
    /// A frame announces a payload over the configured limit.
    FrameTooLarge {
        /// The announced payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The caller's output buffer is too small; nothing was written.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CodecError::UnexpectedEnd { needed, available } => {
                write!(f, "input ends early: needed {needed} bytes, {available} left")
            }
            CodecError::TooLong { len, max } => write!(f, "length {len} exceeds maximum {max}"),
            CodecError::InvalidOptionCount(n) => write!(f, "OPTION count {n} is not 0 or 1"),
            CodecError::OutOfRange => f.write_str("value out of range for its type"),
            CodecError::TrailingBytes(n) => write!(f, "{n} unexpected trailing bytes"),
            CodecError::InvalidTlv => f.write_str("trailing bytes are not valid TLV records"),
            CodecError::UnknownMessage { extension_type, msg_type } => {
                write!(f, "unknown message: extension 0x{extension_type:04x} type 0x{msg_type:02x}")
            }
            CodecError::FrameTooLarge { len, max } => {
                write!(f, "frame payload of {len} bytes exceeds limit {max}")
            }
            CodecError::BufferTooSmall { needed, available } => {
                write!(f, "output buffer too small: need {needed} bytes, have {available}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CodecError {}
