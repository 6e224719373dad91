//! Noise NX over secp256k1 with EllSwift keys: the handshake, server certificates, authority
//! keys and the encrypted transport, driven through the sans-IO [`Session`].

mod certificate;
mod crypto;
mod handshake;
mod keys;
mod session;

pub use certificate::{Certificate, ServerCredentials, CLOCK_SKEW_SECS};
pub use crypto::{Role, ELLSWIFT_LEN};
pub use handshake::{HandshakeInfo, Initiator, Responder, ServerAuth, ACT1_LEN, ACT2_LEN, PROTOCOL_NAME};
#[cfg(feature = "std")]
pub use keys::{random_bytes, random_secret};
pub use keys::{AuthorityKeypair, AuthorityPublicKey};
pub use session::{
    encrypted_payload_len, Session, ENCRYPTED_HEADER_LEN, MAC_LEN, MAX_CIPHERTEXT_CHUNK, MAX_PLAINTEXT_CHUNK,
};
pub use snow::TransportState;

use core::fmt;

use crate::codec::CodecError;

/// Why a handshake or the transport failed. Every variant is fatal to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoiseError {
    /// A handshake message failed authentication or was malformed.
    HandshakeDecryptFailed,
    /// The certificate is not signed by the pinned authority for this server key.
    InvalidCertificateSignature,
    /// The certificate's validity starts in the future.
    CertificateNotYetValid {
        /// Start of validity.
        valid_from: u32,
        /// The time checked.
        now: u32,
    },
    /// The certificate has expired.
    CertificateExpired {
        /// End of validity.
        not_valid_after: u32,
        /// The time checked.
        now: u32,
    },
    /// A transport message failed authentication.
    DecryptFailed,
    /// The 2^64 − 1 nonces of a direction are used up.
    NonceExhausted,
    /// Bytes that are not a valid secp256k1 key.
    InvalidKey,
    /// An authority key text that is not base58check of `01 00 ‖ key`.
    InvalidAuthorityKeyText,
    /// The operating system's random generator failed.
    Entropy,
    /// Frames cannot be sent before the handshake completes.
    NotEstablished,
    /// An earlier error ended this session.
    SessionFailed,
    /// A framing error (a frame over the size limit, a message too large to encode).
    Codec(CodecError),
    /// An invariant of this crate was broken (a bug; please report it).
    Internal,
}

impl fmt::Display for NoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoiseError::HandshakeDecryptFailed => f.write_str("handshake message failed authentication"),
            NoiseError::InvalidCertificateSignature => {
                f.write_str("server certificate is not signed by the pinned authority key")
            }
            NoiseError::CertificateNotYetValid { valid_from, now } => {
                write!(f, "server certificate not valid before {valid_from} (now {now})")
            }
            NoiseError::CertificateExpired { not_valid_after, now } => {
                write!(f, "server certificate expired at {not_valid_after} (now {now})")
            }
            NoiseError::DecryptFailed => f.write_str("transport message failed authentication"),
            NoiseError::NonceExhausted => f.write_str("transport nonces exhausted"),
            NoiseError::InvalidKey => f.write_str("invalid secp256k1 key"),
            NoiseError::InvalidAuthorityKeyText => f.write_str("invalid base58check authority key"),
            NoiseError::Entropy => f.write_str("operating system random generator failed"),
            NoiseError::NotEstablished => f.write_str("handshake not complete"),
            NoiseError::SessionFailed => f.write_str("session already failed"),
            NoiseError::Codec(e) => write!(f, "framing: {e}"),
            NoiseError::Internal => f.write_str("internal error"),
        }
    }
}

// `Codec` also names its cause in Display, for callers that print only the outermost error.
#[cfg(feature = "std")]
impl std::error::Error for NoiseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NoiseError::Codec(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodecError> for NoiseError {
    fn from(e: CodecError) -> Self {
        NoiseError::Codec(e)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_wrapped_codec_error_is_the_source() {
        let codec = CodecError::FrameTooLarge { len: 70_000, max: 65_535 };
        let e = NoiseError::from(codec);
        let source = e.source().and_then(|s| s.downcast_ref::<CodecError>());
        assert_eq!(source, Some(&codec));
        assert!(NoiseError::DecryptFailed.source().is_none());
    }
}
