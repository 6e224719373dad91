//! Authority keys (BIP340, with their base58check text form) and server static keys.

use core::fmt;
use core::str::FromStr;

use secp256k1::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};

use super::NoiseError;

/// Version prefix of the authority key's text form: U16 LE value 1.
const AUTHORITY_KEY_VERSION: [u8; 2] = [1, 0];

/// The pool authority's public key: clients pin it and check server certificates against it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorityPublicKey(XOnlyPublicKey);

impl AuthorityPublicKey {
    /// From the 32-byte x-only form.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, NoiseError> {
        XOnlyPublicKey::from_slice(bytes).map(Self).map_err(|_| NoiseError::InvalidKey)
    }

    /// The 32-byte x-only form.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.serialize()
    }

    pub(crate) fn inner(&self) -> &XOnlyPublicKey {
        &self.0
    }

    /// Base58check of `01 00 ‖ x-only key`, as pools publish it (in mining URLs too).
    pub fn to_base58check(&self) -> alloc::string::String {
        let mut payload = [0u8; 34];
        payload[..2].copy_from_slice(&AUTHORITY_KEY_VERSION);
        payload[2..].copy_from_slice(&self.to_bytes());
        bs58::encode(payload).with_check().into_string()
    }

    /// Parses the base58check text form; checks checksum, length and version prefix.
    pub fn from_base58check(s: &str) -> Result<Self, NoiseError> {
        let mut buf = [0u8; 38];
        let n = bs58::decode(s.trim())
            .with_check(None)
            .onto(&mut buf[..])
            .map_err(|_| NoiseError::InvalidAuthorityKeyText)?;
        if n != 34 || buf[..2] != AUTHORITY_KEY_VERSION {
            return Err(NoiseError::InvalidAuthorityKeyText);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&buf[2..34]);
        Self::from_bytes(&key)
    }
}

impl fmt::Display for AuthorityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58check())
    }
}

impl fmt::Debug for AuthorityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityPublicKey({})", self.to_base58check())
    }
}

impl FromStr for AuthorityPublicKey {
    type Err = NoiseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_base58check(s)
    }
}

/// The pool authority's key pair, which signs server certificates.
#[derive(Clone, Copy)]
pub struct AuthorityKeypair(Keypair);

impl AuthorityKeypair {
    /// From a 32-byte secret key.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, NoiseError> {
        let secp = Secp256k1::signing_only();
        Keypair::from_seckey_slice(&secp, secret).map(Self).map_err(|_| NoiseError::InvalidKey)
    }

    /// A new random key pair from the operating system's generator.
    #[cfg(feature = "std")]
    pub fn generate() -> Result<Self, NoiseError> {
        Self::from_secret_bytes(&random_secret()?)
    }

    /// The secret key bytes (keep them secret).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.secret_bytes()
    }

    /// The public key clients pin.
    pub fn public_key(&self) -> AuthorityPublicKey {
        AuthorityPublicKey(self.0.x_only_public_key().0)
    }

    pub(crate) fn inner(&self) -> &Keypair {
        &self.0
    }
}

impl fmt::Debug for AuthorityKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityKeypair {{ public: {} }}", self.public_key())
    }
}

/// 32 random bytes that form a valid secp256k1 secret key, from the OS generator.
#[cfg(feature = "std")]
pub fn random_secret() -> Result<[u8; 32], NoiseError> {
    loop {
        let bytes = random_bytes()?;
        if SecretKey::from_slice(&bytes).is_ok() {
            return Ok(bytes);
        }
    }
}

/// 32 bytes from the OS generator (ephemeral-key entropy for a handshake).
#[cfg(feature = "std")]
pub fn random_bytes() -> Result<[u8; 32], NoiseError> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|_| NoiseError::Entropy)?;
    Ok(b)
}

/// Checks that 32 bytes form a valid secp256k1 secret key.
pub(crate) fn secret_key(bytes: &[u8; 32]) -> Result<SecretKey, NoiseError> {
    SecretKey::from_slice(bytes).map_err(|_| NoiseError::InvalidKey)
}
