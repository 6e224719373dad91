//! Authority keys, server credentials and certificates.

use sv2::noise::{
    random_bytes, AuthorityKeypair as CoreKeypair, AuthorityPublicKey, Certificate as CoreCertificate, NoiseError,
    ServerCredentials as CoreCredentials,
};

use crate::bridge::ffi::{AuthorityKeypair, Certificate, ServerCredentials};
use crate::error::{guard, Error};

fn keypair(k: &CoreKeypair) -> AuthorityKeypair {
    AuthorityKeypair { secret_key: k.secret_bytes(), public_key: k.public_key().to_bytes() }
}

pub(crate) fn certificate_from_core(c: &CoreCertificate) -> Certificate {
    Certificate {
        version: c.version,
        valid_from: c.valid_from,
        not_valid_after: c.not_valid_after,
        signature: c.signature,
    }
}

fn certificate_to_core(c: &Certificate) -> CoreCertificate {
    CoreCertificate {
        version: c.version,
        valid_from: c.valid_from,
        not_valid_after: c.not_valid_after,
        signature: c.signature,
    }
}

fn credentials(c: &CoreCredentials) -> ServerCredentials {
    ServerCredentials { static_secret: *c.static_secret(), certificate: certificate_from_core(c.certificate()) }
}

/// The core credentials, after checking that the secret is a valid key.
pub(crate) fn credentials_to_core(c: &ServerCredentials) -> Result<CoreCredentials, Error> {
    Ok(CoreCredentials::new(c.static_secret, certificate_to_core(&c.certificate))?)
}

/// A new random authority key pair.
pub(crate) fn authority_keypair_generate() -> Result<AuthorityKeypair, Error> {
    guard(|| Ok(keypair(&CoreKeypair::generate()?)))
}

/// The key pair of a stored secret.
pub(crate) fn authority_keypair_from_secret(secret: &[u8; 32]) -> Result<AuthorityKeypair, Error> {
    guard(|| Ok(keypair(&CoreKeypair::from_secret_bytes(secret)?)))
}

/// The base58check text pools publish.
pub(crate) fn authority_key_to_text(public_key: &[u8; 32]) -> Result<String, Error> {
    guard(|| Ok(AuthorityPublicKey::from_bytes(public_key)?.to_base58check()))
}

/// Parses the base58check text.
pub(crate) fn authority_key_from_text(text: &[u8]) -> Result<[u8; 32], Error> {
    guard(|| {
        let text = std::str::from_utf8(text).map_err(|_| NoiseError::InvalidAuthorityKeyText)?;
        Ok(AuthorityPublicKey::from_base58check(text)?.to_bytes())
    })
}

/// A fresh static key and its certificate.
pub(crate) fn server_credentials_generate(
    authority_secret: &[u8; 32],
    valid_from: u32,
    not_valid_after: u32,
) -> Result<ServerCredentials, Error> {
    guard(|| {
        let authority = CoreKeypair::from_secret_bytes(authority_secret)?;
        Ok(credentials(&CoreCredentials::generate(&authority, valid_from, not_valid_after)?))
    })
}

/// A certificate for a given static key.
pub(crate) fn server_credentials_issue(
    authority_secret: &[u8; 32],
    static_secret: &[u8; 32],
    valid_from: u32,
    not_valid_after: u32,
) -> Result<ServerCredentials, Error> {
    guard(|| {
        let authority = CoreKeypair::from_secret_bytes(authority_secret)?;
        let aux = random_bytes()?;
        Ok(credentials(&CoreCredentials::issue(&authority, *static_secret, valid_from, not_valid_after, &aux)?))
    })
}

/// The x-only public key of the credentials' static key.
pub(crate) fn server_public_key(c: &ServerCredentials) -> Result<[u8; 32], Error> {
    guard(|| Ok(credentials_to_core(c)?.static_public_key()))
}

/// Checks a certificate's signature and validity window.
pub(crate) fn certificate_verify(
    certificate: &Certificate,
    authority_public_key: &[u8; 32],
    server_key: &[u8; 32],
    now: u32,
) -> Result<(), Error> {
    guard(|| {
        let authority = AuthorityPublicKey::from_bytes(authority_public_key)?;
        Ok(certificate_to_core(certificate).verify(&authority, server_key, now)?)
    })
}
