//! The primitives behind the Noise state machine, plugged into `snow` through its
//! `CryptoResolver`: EllSwift Diffie-Hellman on secp256k1 with the BIP324 x-only ECDH,
//! SHA-256, and ChaCha20-Poly1305.
//!
//! snow takes the protocol name as given (`Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256`
//! is hashed into the initial state) and asks the resolver for each primitive, so only the
//! primitives are ours; the handshake pattern, the symmetric state and the cipher states
//! are snow's. See docs/NOISE.md for why this fits and what it costs.

use alloc::boxed::Box;

use secp256k1::ellswift::{ElligatorSwift, ElligatorSwiftParty};
use secp256k1::{PublicKey, Secp256k1, SecretKey};
use sha2::Digest;
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::CryptoResolver;
use snow::types::{Cipher, Dh, Hash, Random};

/// Size of an ElligatorSwift-encoded public key.
pub const ELLSWIFT_LEN: usize = 64;

/// Which side of the handshake a resolver serves. BIP324 ECDH hashes both encodings in a
/// fixed order (initiator's first), so every DH must know its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client, which sends the first handshake message.
    Initiator,
    /// The server.
    Responder,
}

/// Resolves the SV2 primitives for one handshake of one side.
pub(crate) struct Sv2Resolver {
    role: Role,
    /// Entropy for the ephemeral key: handed in by the caller (sans-IO), used once.
    ephemeral_entropy: [u8; 32],
}

impl Sv2Resolver {
    pub(crate) fn new(role: Role, ephemeral_entropy: [u8; 32]) -> Self {
        Sv2Resolver { role, ephemeral_entropy }
    }
}

impl CryptoResolver for Sv2Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(OneShotEntropy(Some(self.ephemeral_entropy))))
    }
    fn resolve_dh(&self, _: &DHChoice) -> Option<Box<dyn Dh>> {
        Some(Box::new(EllSwiftDh::new(self.role)))
    }
    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        matches!(choice, HashChoice::SHA256).then(|| Box::new(Sha256::default()) as Box<dyn Hash>)
    }
    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        matches!(choice, CipherChoice::ChaChaPoly).then(|| Box::new(ChaChaPoly::default()) as Box<dyn Cipher>)
    }
}

/// Yields the caller's 32 bytes of entropy once; the NX handshake draws exactly one
/// ephemeral key per side.
struct OneShotEntropy(Option<[u8; 32]>);

impl Random for OneShotEntropy {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        match self.0.take() {
            Some(e) if dest.len() == e.len() => {
                dest.copy_from_slice(&e);
                Ok(())
            }
            _ => Err(snow::Error::Rng),
        }
    }
}

/// secp256k1 key pair whose public key travels ElligatorSwift-encoded.
struct EllSwiftDh {
    role: Role,
    secret: Option<SecretKey>,
    secret_bytes: [u8; 32],
    public: [u8; ELLSWIFT_LEN],
}

impl EllSwiftDh {
    fn new(role: Role) -> Self {
        EllSwiftDh { role, secret: None, secret_bytes: [0; 32], public: [0; ELLSWIFT_LEN] }
    }
}

/// The EllSwift encoding of `sk`'s public key, with 32 zero bytes of encoding randomness so
/// that the encoding is a function of the key (as the reference implementation does).
pub(crate) fn ellswift_of(sk: &SecretKey) -> [u8; ELLSWIFT_LEN] {
    let secp = Secp256k1::signing_only();
    ElligatorSwift::from_pubkey(PublicKey::from_secret_key(&secp, sk)).to_array()
}

/// The x-only public key an EllSwift encoding decodes to (every 64-byte string decodes).
pub(crate) fn xonly_of_ellswift(ell: &[u8; ELLSWIFT_LEN]) -> [u8; 32] {
    PublicKey::from_ellswift(ElligatorSwift::from_array(*ell)).x_only_public_key().0.serialize()
}

impl Dh for EllSwiftDh {
    fn name(&self) -> &'static str {
        "Secp256k1+EllSwift"
    }
    fn pub_len(&self) -> usize {
        ELLSWIFT_LEN
    }
    fn priv_len(&self) -> usize {
        32
    }
    fn dh_len(&self) -> usize {
        32
    }
    fn set(&mut self, privkey: &[u8]) {
        // snow's `set` cannot fail; an invalid scalar leaves the key unset and `dh` fails.
        self.secret = SecretKey::from_slice(privkey).ok();
        if let Some(sk) = &self.secret {
            self.secret_bytes = sk.secret_bytes();
            self.public = ellswift_of(sk);
        }
    }
    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        let mut bytes = [0u8; 32];
        rng.try_fill_bytes(&mut bytes)?;
        self.set(&bytes);
        self.secret.map(|_| ()).ok_or(snow::Error::Rng)
    }
    fn pubkey(&self) -> &[u8] {
        &self.public
    }
    fn privkey(&self) -> &[u8] {
        &self.secret_bytes
    }
    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        let sk = self.secret.ok_or(snow::Error::Dh)?;
        // snow hands over its whole key buffer (MAXDHLEN bytes); the key is at its front.
        let theirs: [u8; ELLSWIFT_LEN] =
            pubkey.get(..ELLSWIFT_LEN).and_then(|k| k.try_into().ok()).ok_or(snow::Error::Dh)?;
        let (mine, theirs) = (ElligatorSwift::from_array(self.public), ElligatorSwift::from_array(theirs));
        let secret = match self.role {
            Role::Initiator => ElligatorSwift::shared_secret(mine, theirs, sk, ElligatorSwiftParty::A, None),
            Role::Responder => ElligatorSwift::shared_secret(theirs, mine, sk, ElligatorSwiftParty::B, None),
        };
        out[..32].copy_from_slice(&secret.to_secret_bytes());
        Ok(())
    }
}

#[derive(Default)]
struct Sha256(sha2::Sha256);

impl Hash for Sha256 {
    fn name(&self) -> &'static str {
        "SHA256"
    }
    fn block_len(&self) -> usize {
        64
    }
    fn hash_len(&self) -> usize {
        32
    }
    fn reset(&mut self) {
        self.0 = sha2::Sha256::new();
    }
    fn input(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn result(&mut self, out: &mut [u8]) {
        out[..32].copy_from_slice(&self.0.finalize_reset());
    }
}

/// The 12-byte AEAD nonce of Noise: 4 zero bytes, then the counter little-endian.
fn nonce_bytes(n: u64) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_le_bytes());
    b
}

const TAG_LEN: usize = 16;

#[cfg(feature = "ring")]
#[derive(Default)]
struct ChaChaPoly(Option<ring::aead::LessSafeKey>);

#[cfg(feature = "ring")]
impl Cipher for ChaChaPoly {
    fn name(&self) -> &'static str {
        "ChaChaPoly"
    }
    fn set(&mut self, key: &[u8; 32]) {
        use ring::aead::{LessSafeKey, UnboundKey, CHACHA20_POLY1305};
        self.0 = UnboundKey::new(&CHACHA20_POLY1305, key).ok().map(LessSafeKey::new);
    }
    fn encrypt(&self, nonce: u64, authtext: &[u8], plaintext: &[u8], out: &mut [u8]) -> usize {
        use ring::aead::{Aad, Nonce};
        let Some(key) = &self.0 else { return 0 };
        let n = plaintext.len();
        out[..n].copy_from_slice(plaintext);
        let nonce = Nonce::assume_unique_for_key(nonce_bytes(nonce));
        match key.seal_in_place_separate_tag(nonce, Aad::from(authtext), &mut out[..n]) {
            Ok(tag) => {
                out[n..n + TAG_LEN].copy_from_slice(tag.as_ref());
                n + TAG_LEN
            }
            Err(_) => 0,
        }
    }
    fn decrypt(&self, nonce: u64, authtext: &[u8], ciphertext: &[u8], out: &mut [u8]) -> Result<usize, snow::Error> {
        use ring::aead::{Aad, Nonce, Tag};
        let key = self.0.as_ref().ok_or(snow::Error::Decrypt)?;
        let n = ciphertext.len().checked_sub(TAG_LEN).ok_or(snow::Error::Decrypt)?;
        let tag: [u8; TAG_LEN] = ciphertext[n..].try_into().map_err(|_| snow::Error::Decrypt)?;
        out[..n].copy_from_slice(&ciphertext[..n]);
        let nonce = Nonce::assume_unique_for_key(nonce_bytes(nonce));
        key.open_in_place_separate_tag(nonce, Aad::from(authtext), Tag::from(tag), &mut out[..n], 0..)
            .map_err(|_| snow::Error::Decrypt)?;
        Ok(n)
    }
}

#[cfg(all(feature = "rustcrypto-aead", not(feature = "ring")))]
#[derive(Default)]
struct ChaChaPoly(Option<chacha20poly1305::ChaCha20Poly1305>);

#[cfg(all(feature = "rustcrypto-aead", not(feature = "ring")))]
impl Cipher for ChaChaPoly {
    fn name(&self) -> &'static str {
        "ChaChaPoly"
    }
    fn set(&mut self, key: &[u8; 32]) {
        use chacha20poly1305::KeyInit;
        self.0 = Some(chacha20poly1305::ChaCha20Poly1305::new(key.into()));
    }
    fn encrypt(&self, nonce: u64, authtext: &[u8], plaintext: &[u8], out: &mut [u8]) -> usize {
        use chacha20poly1305::AeadInPlace;
        let Some(key) = &self.0 else { return 0 };
        let n = plaintext.len();
        out[..n].copy_from_slice(plaintext);
        match key.encrypt_in_place_detached(&nonce_bytes(nonce).into(), authtext, &mut out[..n]) {
            Ok(tag) => {
                out[n..n + TAG_LEN].copy_from_slice(&tag);
                n + TAG_LEN
            }
            Err(_) => 0,
        }
    }
    fn decrypt(&self, nonce: u64, authtext: &[u8], ciphertext: &[u8], out: &mut [u8]) -> Result<usize, snow::Error> {
        use chacha20poly1305::AeadInPlace;
        let key = self.0.as_ref().ok_or(snow::Error::Decrypt)?;
        let n = ciphertext.len().checked_sub(TAG_LEN).ok_or(snow::Error::Decrypt)?;
        out[..n].copy_from_slice(&ciphertext[..n]);
        let tag = chacha20poly1305::Tag::from_slice(&ciphertext[n..]);
        key.decrypt_in_place_detached(&nonce_bytes(nonce).into(), authtext, &mut out[..n], tag)
            .map_err(|_| snow::Error::Decrypt)?;
        Ok(n)
    }
}

#[cfg(not(any(feature = "ring", feature = "rustcrypto-aead")))]
compile_error!("enable one ChaCha20-Poly1305 backend: feature `ring` or `rustcrypto-aead`");
