//! The server certificate: an authority's BIP340 signature over the server's static key and
//! a validity window, sent inside the second handshake message (SIGNATURE_NOISE_MESSAGE).

use secp256k1::schnorr::Signature;
use secp256k1::{Message, Secp256k1};
use sha2::{Digest, Sha256};

use super::crypto::{ellswift_of, xonly_of_ellswift};
use super::keys::{secret_key, AuthorityKeypair, AuthorityPublicKey};
use super::NoiseError;

/// Seconds of clock difference tolerated at each end of the validity window, as the
/// reference implementation allows: a server that issues `[now, …]` must not be refused by a
/// client whose clock is a little behind.
pub const CLOCK_SKEW_SECS: u32 = 10;

/// SIGNATURE_NOISE_MESSAGE: `version U16 ‖ valid_from U32 ‖ not_valid_after U32 ‖ signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certificate {
    /// Certificate format version (0).
    pub version: u16,
    /// Unix time from which the certificate is valid.
    pub valid_from: u32,
    /// Unix time after which it is not.
    pub not_valid_after: u32,
    /// BIP340 signature by the authority.
    pub signature: [u8; 64],
}

impl Certificate {
    /// Encoded size.
    pub const LEN: usize = 74;

    /// The 32-byte message the authority signs: SHA-256 of version, validity and the server's
    /// x-only static key.
    fn signed_digest(version: u16, valid_from: u32, not_valid_after: u32, server_key: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(version.to_le_bytes());
        h.update(valid_from.to_le_bytes());
        h.update(not_valid_after.to_le_bytes());
        h.update(server_key);
        h.finalize().into()
    }

    /// Signs `server_key` (x-only) for `[valid_from, not_valid_after]`. `aux_rand` is BIP340's
    /// auxiliary randomness.
    pub fn sign(
        authority: &AuthorityKeypair,
        server_key: &[u8; 32],
        valid_from: u32,
        not_valid_after: u32,
        aux_rand: &[u8; 32],
    ) -> Self {
        let digest = Self::signed_digest(0, valid_from, not_valid_after, server_key);
        let secp = Secp256k1::signing_only();
        let sig = secp.sign_schnorr_with_aux_rand(&Message::from_digest(digest), authority.inner(), aux_rand);
        Certificate { version: 0, valid_from, not_valid_after, signature: sig.serialize() }
    }

    /// Checks the signature against the pinned authority key and the window against `now`
    /// (give or take [`CLOCK_SKEW_SECS`]).
    pub fn verify(&self, authority: &AuthorityPublicKey, server_key: &[u8; 32], now: u32) -> Result<(), NoiseError> {
        let digest = Self::signed_digest(self.version, self.valid_from, self.not_valid_after, server_key);
        let sig = Signature::from_slice(&self.signature).map_err(|_| NoiseError::InvalidCertificateSignature)?;
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &Message::from_digest(digest), authority.inner())
            .map_err(|_| NoiseError::InvalidCertificateSignature)?;
        if now.saturating_add(CLOCK_SKEW_SECS) < self.valid_from {
            return Err(NoiseError::CertificateNotYetValid { valid_from: self.valid_from, now });
        }
        if now.saturating_sub(CLOCK_SKEW_SECS) > self.not_valid_after {
            return Err(NoiseError::CertificateExpired { not_valid_after: self.not_valid_after, now });
        }
        Ok(())
    }

    /// The 74 wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..2].copy_from_slice(&self.version.to_le_bytes());
        b[2..6].copy_from_slice(&self.valid_from.to_le_bytes());
        b[6..10].copy_from_slice(&self.not_valid_after.to_le_bytes());
        b[10..].copy_from_slice(&self.signature);
        b
    }

    /// From the 74 wire bytes.
    pub fn from_bytes(b: &[u8; Self::LEN]) -> Self {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[10..]);
        Certificate {
            version: u16::from_le_bytes([b[0], b[1]]),
            valid_from: u32::from_le_bytes([b[2], b[3], b[4], b[5]]),
            not_valid_after: u32::from_le_bytes([b[6], b[7], b[8], b[9]]),
            signature,
        }
    }
}

/// What a responder needs: its static secret key and a certificate for it.
#[derive(Clone, Copy)]
pub struct ServerCredentials {
    static_secret: [u8; 32],
    certificate: Certificate,
}

impl core::fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerCredentials")
            .field("static_key", &self.static_public_key())
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl ServerCredentials {
    /// Pairs a static secret key with a certificate already issued for it.
    pub fn new(static_secret: [u8; 32], certificate: Certificate) -> Result<Self, NoiseError> {
        secret_key(&static_secret)?;
        Ok(ServerCredentials { static_secret, certificate })
    }

    /// Signs a certificate for `static_secret`'s key valid over `[valid_from, not_valid_after]`.
    pub fn issue(
        authority: &AuthorityKeypair,
        static_secret: [u8; 32],
        valid_from: u32,
        not_valid_after: u32,
        aux_rand: &[u8; 32],
    ) -> Result<Self, NoiseError> {
        let server_key = xonly_of_ellswift(&ellswift_of(&secret_key(&static_secret)?));
        let certificate = Certificate::sign(authority, &server_key, valid_from, not_valid_after, aux_rand);
        Ok(ServerCredentials { static_secret, certificate })
    }

    /// A fresh static key with a certificate from the OS generator.
    #[cfg(feature = "std")]
    pub fn generate(authority: &AuthorityKeypair, valid_from: u32, not_valid_after: u32) -> Result<Self, NoiseError> {
        let aux = super::keys::random_bytes()?;
        Self::issue(authority, super::keys::random_secret()?, valid_from, not_valid_after, &aux)
    }

    /// The static secret key.
    pub fn static_secret(&self) -> &[u8; 32] {
        &self.static_secret
    }

    /// The x-only static public key the certificate covers.
    pub fn static_public_key(&self) -> [u8; 32] {
        // The secret was validated on construction.
        secret_key(&self.static_secret).map(|sk| xonly_of_ellswift(&ellswift_of(&sk))).unwrap_or([0; 32])
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}
