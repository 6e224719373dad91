//! `sv2_result`: the one result enum of the C ABI.

use std::ffi::c_char;

use sv2::codec::CodecError;
use sv2::noise::NoiseError;

/// What a function did. The numbers are stable and never reused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sv2_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A bug inside libsv2 was caught before it reached C.
    Panic = 2,
    /// The caller's output buffer is too small; nothing was written.
    InsufficientSize = 3,
    /// An argument is out of range (a string longer than its type allows, an unknown id).
    InvalidArgument = 4,
    /// No whole frame yet: feed more bytes. Not an error.
    NeedMoreData = 5,
    /// The item looked for is not there.
    NotFound = 6,
    /// Input ended inside a value.
    UnexpectedEnd = 100,
    /// A length or count exceeds its type's maximum.
    TooLong = 101,
    /// An OPTION count other than 0 or 1.
    InvalidOption = 102,
    /// A value outside its type's range.
    OutOfRange = 103,
    /// Bytes left after a value that must fill its input.
    TrailingBytes = 104,
    /// Bytes after a message's fields that are not whole TLV records.
    InvalidTlv = 105,
    /// No message has this (extension_type, msg_type).
    UnknownMessage = 106,
    /// A frame announces a payload over the configured limit.
    FrameTooLarge = 107,
    /// A handshake message failed authentication.
    HandshakeFailed = 200,
    /// The server certificate is not signed by the pinned authority.
    InvalidCertificateSignature = 201,
    /// The server certificate is not valid yet.
    CertificateNotYetValid = 202,
    /// The server certificate has expired.
    CertificateExpired = 203,
    /// A transport frame failed authentication.
    DecryptFailed = 204,
    /// The transport nonces are used up.
    NonceExhausted = 205,
    /// Bytes that are not a valid secp256k1 key.
    InvalidKey = 206,
    /// Text that is not a base58check authority key.
    InvalidAuthorityKey = 207,
    /// The operating system's random generator failed.
    Entropy = 208,
    /// The handshake has not completed.
    NotEstablished = 209,
    /// An earlier error ended this session.
    SessionFailed = 210,
    /// An invariant inside libsv2 was broken.
    Internal = 299,
}

impl From<CodecError> for sv2_result {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::UnexpectedEnd { .. } => sv2_result::UnexpectedEnd,
            CodecError::TooLong { .. } => sv2_result::TooLong,
            CodecError::InvalidOptionCount(_) => sv2_result::InvalidOption,
            CodecError::OutOfRange => sv2_result::OutOfRange,
            CodecError::TrailingBytes(_) => sv2_result::TrailingBytes,
            CodecError::InvalidTlv => sv2_result::InvalidTlv,
            CodecError::UnknownMessage { .. } => sv2_result::UnknownMessage,
            CodecError::FrameTooLarge { .. } => sv2_result::FrameTooLarge,
            CodecError::BufferTooSmall { .. } => sv2_result::InsufficientSize,
            _ => sv2_result::Internal,
        }
    }
}

impl From<NoiseError> for sv2_result {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::HandshakeDecryptFailed => sv2_result::HandshakeFailed,
            NoiseError::InvalidCertificateSignature => sv2_result::InvalidCertificateSignature,
            NoiseError::CertificateNotYetValid { .. } => sv2_result::CertificateNotYetValid,
            NoiseError::CertificateExpired { .. } => sv2_result::CertificateExpired,
            NoiseError::DecryptFailed => sv2_result::DecryptFailed,
            NoiseError::NonceExhausted => sv2_result::NonceExhausted,
            NoiseError::InvalidKey => sv2_result::InvalidKey,
            NoiseError::InvalidAuthorityKeyText => sv2_result::InvalidAuthorityKey,
            NoiseError::Entropy => sv2_result::Entropy,
            NoiseError::NotEstablished => sv2_result::NotEstablished,
            NoiseError::SessionFailed => sv2_result::SessionFailed,
            NoiseError::Codec(c) => c.into(),
            _ => sv2_result::Internal,
        }
    }
}

impl sv2_result {
    fn message(self) -> &'static std::ffi::CStr {
        match self {
            sv2_result::Ok => c"ok",
            sv2_result::NullParameter => c"a required pointer argument is NULL",
            sv2_result::Panic => c"internal panic caught at the C boundary",
            sv2_result::InsufficientSize => c"output buffer too small",
            sv2_result::InvalidArgument => c"invalid argument",
            sv2_result::NeedMoreData => c"need more data",
            sv2_result::NotFound => c"not found",
            sv2_result::UnexpectedEnd => c"input ends inside a value",
            sv2_result::TooLong => c"length exceeds the type's maximum",
            sv2_result::InvalidOption => c"OPTION count is not 0 or 1",
            sv2_result::OutOfRange => c"value out of range",
            sv2_result::TrailingBytes => c"unexpected trailing bytes",
            sv2_result::InvalidTlv => c"trailing bytes are not valid TLV records",
            sv2_result::UnknownMessage => c"unknown message type",
            sv2_result::FrameTooLarge => c"frame exceeds the payload limit",
            sv2_result::HandshakeFailed => c"handshake message failed authentication",
            sv2_result::InvalidCertificateSignature => c"certificate not signed by the pinned authority",
            sv2_result::CertificateNotYetValid => c"certificate not valid yet",
            sv2_result::CertificateExpired => c"certificate expired",
            sv2_result::DecryptFailed => c"transport message failed authentication",
            sv2_result::NonceExhausted => c"transport nonces exhausted",
            sv2_result::InvalidKey => c"invalid secp256k1 key",
            sv2_result::InvalidAuthorityKey => c"invalid base58check authority key",
            sv2_result::Entropy => c"operating system random generator failed",
            sv2_result::NotEstablished => c"handshake not complete",
            sv2_result::SessionFailed => c"session already failed",
            sv2_result::Internal => c"internal error",
        }
    }
}

/// A static, NUL-terminated English description of `result` (never NULL; unknown numbers
/// give "unknown result").
#[no_mangle]
pub extern "C" fn sv2_result_message(result: i32) -> *const c_char {
    const UNKNOWN: &std::ffi::CStr = c"unknown result";
    // Taken as an int so that a number from a newer library version cannot be an invalid enum.
    let text = std::panic::catch_unwind(|| ALL.iter().find(|r| **r as i32 == result).map(|r| r.message()));
    text.ok().flatten().unwrap_or(UNKNOWN).as_ptr()
}

const ALL: [sv2_result; 27] = [
    sv2_result::Ok,
    sv2_result::NullParameter,
    sv2_result::Panic,
    sv2_result::InsufficientSize,
    sv2_result::InvalidArgument,
    sv2_result::NeedMoreData,
    sv2_result::NotFound,
    sv2_result::UnexpectedEnd,
    sv2_result::TooLong,
    sv2_result::InvalidOption,
    sv2_result::OutOfRange,
    sv2_result::TrailingBytes,
    sv2_result::InvalidTlv,
    sv2_result::UnknownMessage,
    sv2_result::FrameTooLarge,
    sv2_result::HandshakeFailed,
    sv2_result::InvalidCertificateSignature,
    sv2_result::CertificateNotYetValid,
    sv2_result::CertificateExpired,
    sv2_result::DecryptFailed,
    sv2_result::NonceExhausted,
    sv2_result::InvalidKey,
    sv2_result::InvalidAuthorityKey,
    sv2_result::Entropy,
    sv2_result::NotEstablished,
    sv2_result::SessionFailed,
    sv2_result::Internal,
];
