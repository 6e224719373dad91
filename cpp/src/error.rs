//! The error every bridge function returns. cxx turns it into a `rust::Error` whose message is
//! this type's Display, the detail alone; the code travels beside it as a value: [`guard`],
//! which every such function runs behind, leaves it for [`take_error_code`], which the C++
//! layer calls on the same thread as soon as it catches the `rust::Error`.

use core::fmt;
use std::cell::Cell;

use sv2::codec::CodecError;
use sv2::noise::NoiseError;

use crate::bridge::ffi::ErrorCode;

/// A failure with its stable code and a human-readable detail.
#[derive(Debug)]
pub struct Error {
    code: ErrorCode,
    detail: String,
}

impl Error {
    /// An error with `code` and `detail`.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Error { code, detail: detail.into() }
    }

    /// The stable code.
    #[cfg(test)]
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

thread_local! {
    /// The code of the error this thread last returned to C++.
    static LAST_CODE: Cell<ErrorCode> = const { Cell::new(ErrorCode::Internal) };
}

/// Runs a bridge function's body, turning a panic (a bug in libsv2) into an error (cxx would
/// abort the whole process instead), and leaves an error's code for [`take_error_code`].
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::new(ErrorCode::Panic, "internal panic caught at the C++ boundary")));
    if let Err(e) = &r {
        LAST_CODE.with(|c| c.set(e.code));
    }
    r
}

/// The code of the error this thread last returned to C++, which it takes (Internal when there
/// is none, which would be a bug).
pub(crate) fn take_error_code() -> ErrorCode {
    LAST_CODE.with(|c| c.replace(ErrorCode::Internal))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        let code = match e {
            CodecError::UnexpectedEnd { .. } => ErrorCode::UnexpectedEnd,
            CodecError::TooLong { .. } => ErrorCode::TooLong,
            CodecError::InvalidOptionCount(_) => ErrorCode::InvalidOption,
            CodecError::OutOfRange => ErrorCode::OutOfRange,
            CodecError::TrailingBytes(_) => ErrorCode::TrailingBytes,
            CodecError::InvalidTlv => ErrorCode::InvalidTlv,
            CodecError::UnknownMessage { .. } => ErrorCode::UnknownMessage,
            CodecError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            // Every output here is a growable vector, so a short buffer is a bug.
            _ => ErrorCode::Internal,
        };
        Error::new(code, e.to_string())
    }
}

impl From<NoiseError> for Error {
    fn from(e: NoiseError) -> Self {
        let code = match e {
            NoiseError::HandshakeDecryptFailed => ErrorCode::HandshakeFailed,
            NoiseError::InvalidCertificateSignature => ErrorCode::InvalidCertificateSignature,
            NoiseError::CertificateNotYetValid { .. } => ErrorCode::CertificateNotYetValid,
            NoiseError::CertificateExpired { .. } => ErrorCode::CertificateExpired,
            NoiseError::DecryptFailed => ErrorCode::DecryptFailed,
            NoiseError::NonceExhausted => ErrorCode::NonceExhausted,
            NoiseError::InvalidKey => ErrorCode::InvalidKey,
            NoiseError::InvalidAuthorityKeyText => ErrorCode::InvalidAuthorityKey,
            NoiseError::Entropy => ErrorCode::Entropy,
            NoiseError::NotEstablished => ErrorCode::NotEstablished,
            NoiseError::SessionFailed => ErrorCode::SessionFailed,
            NoiseError::Codec(c) => return c.into(),
            _ => ErrorCode::Internal,
        };
        Error::new(code, e.to_string())
    }
}
