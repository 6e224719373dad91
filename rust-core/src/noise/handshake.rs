//! The NX handshake: `-> e` (64 bytes), `<- e, ee, s, es` plus the certificate (234 bytes).

use alloc::boxed::Box;

use snow::params::NoiseParams;
use snow::{Builder, HandshakeState, TransportState};

use super::certificate::{Certificate, ServerCredentials};
use super::crypto::{xonly_of_ellswift, Role, Sv2Resolver, ELLSWIFT_LEN};
use super::keys::AuthorityPublicKey;
use super::NoiseError;

/// The protocol name hashed into the initial handshake state.
pub const PROTOCOL_NAME: &str = "Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256";
/// Size of the initiator's message (its EllSwift ephemeral key).
pub const ACT1_LEN: usize = ELLSWIFT_LEN;
/// Size of the responder's message: ephemeral key, encrypted static key, encrypted certificate.
pub const ACT2_LEN: usize = ELLSWIFT_LEN + (ELLSWIFT_LEN + 16) + (Certificate::LEN + 16);

/// snow parses only the pattern and primitive choices from a name it knows; the DH choice it
/// returns is a placeholder that [`Sv2Resolver`] answers with EllSwift secp256k1, and the real
/// protocol name is what gets hashed.
fn params() -> Result<NoiseParams, NoiseError> {
    let mut p: NoiseParams = "Noise_NX_25519_ChaChaPoly_SHA256".parse().map_err(|_| NoiseError::Internal)?;
    p.name = PROTOCOL_NAME.into();
    Ok(p)
}

fn builder(role: Role, entropy: [u8; 32]) -> Result<Builder<'static>, NoiseError> {
    Ok(Builder::with_resolver(params()?, Box::new(Sv2Resolver::new(role, entropy))))
}

/// How an initiator authenticates the server.
#[derive(Debug, Clone, Copy)]
pub enum ServerAuth {
    /// Require a certificate signed by this authority and valid now.
    Authority(AuthorityPublicKey),
    /// Accept any server key. Only for local links where the operator owns both ends.
    InsecureAcceptAnyServer,
}

/// The client side, after sending its 64 bytes and before the server's answer.
pub struct Initiator {
    hs: HandshakeState,
    auth: ServerAuth,
}

impl core::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Initiator").field("auth", &self.auth).finish_non_exhaustive()
    }
}

/// What the handshake established besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The server's x-only static key.
    pub server_static_key: [u8; 32],
    /// The certificate the server presented.
    pub certificate: Certificate,
    /// The final handshake hash (channel binding).
    pub handshake_hash: [u8; 32],
}

impl Initiator {
    /// Starts a handshake and returns the first message. `ephemeral_entropy` must be 32
    /// uniformly random bytes (a valid secp256k1 secret key).
    pub fn new(auth: ServerAuth, ephemeral_entropy: [u8; 32]) -> Result<(Self, [u8; ACT1_LEN]), NoiseError> {
        let mut hs = builder(Role::Initiator, ephemeral_entropy)?.build_initiator().map_err(map_snow)?;
        // snow wants room for a tag after the (empty, unencrypted) payload.
        let mut buf = [0u8; ACT1_LEN + 16];
        let n = hs.write_message(&[], &mut buf).map_err(map_snow)?;
        let act1 = buf[..n].try_into().map_err(|_| NoiseError::Internal)?;
        Ok((Initiator { hs, auth }, act1))
    }

    /// Processes the server's 234 bytes, checks its certificate at unix time `now`, and
    /// returns the transport keys.
    pub fn finish(mut self, act2: &[u8; ACT2_LEN], now: u32) -> Result<(TransportState, HandshakeInfo), NoiseError> {
        let mut cert = [0u8; Certificate::LEN + 16];
        let n = self.hs.read_message(act2, &mut cert).map_err(|_| NoiseError::HandshakeDecryptFailed)?;
        let cert_bytes: &[u8; Certificate::LEN] =
            cert[..n].try_into().map_err(|_| NoiseError::HandshakeDecryptFailed)?;
        let certificate = Certificate::from_bytes(cert_bytes);
        let remote: &[u8; ELLSWIFT_LEN] =
            self.hs.get_remote_static().and_then(|k| k.try_into().ok()).ok_or(NoiseError::Internal)?;
        let server_static_key = xonly_of_ellswift(remote);
        if let ServerAuth::Authority(authority) = &self.auth {
            certificate.verify(authority, &server_static_key, now)?;
        }
        let handshake_hash = hash32(self.hs.get_handshake_hash())?;
        let transport = self.hs.into_transport_mode().map_err(map_snow)?;
        Ok((transport, HandshakeInfo { server_static_key, certificate, handshake_hash }))
    }
}

/// The server side, before the client's first message.
pub struct Responder {
    hs: HandshakeState,
    certificate: Certificate,
}

impl core::fmt::Debug for Responder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Responder").field("certificate", &self.certificate).finish_non_exhaustive()
    }
}

impl Responder {
    /// Prepares to answer one client. `ephemeral_entropy` must be 32 uniformly random bytes.
    pub fn new(credentials: &ServerCredentials, ephemeral_entropy: [u8; 32]) -> Result<Self, NoiseError> {
        let hs = builder(Role::Responder, ephemeral_entropy)?
            .local_private_key(credentials.static_secret())
            .map_err(map_snow)?
            .build_responder()
            .map_err(map_snow)?;
        Ok(Responder { hs, certificate: *credentials.certificate() })
    }

    /// Processes the client's 64 bytes and returns the 234-byte answer and the transport keys.
    pub fn respond(mut self, act1: &[u8; ACT1_LEN]) -> Result<([u8; ACT2_LEN], TransportState, [u8; 32]), NoiseError> {
        let mut payload = [0u8; 16];
        let n = self.hs.read_message(act1, &mut payload).map_err(|_| NoiseError::HandshakeDecryptFailed)?;
        if n != 0 {
            return Err(NoiseError::HandshakeDecryptFailed);
        }
        let mut act2 = [0u8; ACT2_LEN];
        let n = self.hs.write_message(&self.certificate.to_bytes(), &mut act2).map_err(map_snow)?;
        if n != ACT2_LEN {
            return Err(NoiseError::Internal);
        }
        let hash = hash32(self.hs.get_handshake_hash())?;
        Ok((act2, self.hs.into_transport_mode().map_err(map_snow)?, hash))
    }
}

fn hash32(h: &[u8]) -> Result<[u8; 32], NoiseError> {
    h.try_into().map_err(|_| NoiseError::Internal)
}

/// Maps snow's errors to ours: nonce exhaustion and decryption failures are distinct.
pub(crate) fn map_snow(e: snow::Error) -> NoiseError {
    match e {
        snow::Error::Decrypt => NoiseError::DecryptFailed,
        snow::Error::State(snow::error::StateProblem::Exhausted) => NoiseError::NonceExhausted,
        snow::Error::Rng | snow::Error::Dh => NoiseError::InvalidKey,
        _ => NoiseError::Internal,
    }
}
