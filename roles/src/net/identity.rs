//! A server's Noise identity in its data directory, made on first start.
//!
//! Two ways to run:
//! - `authority.key` in the directory (the default, made on first start): the server issues
//!   itself a fresh certificate for `server.key` at every start, so it never expires while the
//!   server is restarted now and then.
//! - no `authority.key`, but `server.key` and `server.cert` made with `sv2 keygen` where the
//!   authority key is kept offline: the certificate is loaded and must be valid now.

use std::fs;
use std::path::{Path, PathBuf};

use sv2::noise::{random_secret, AuthorityKeypair, AuthorityPublicKey, Certificate, ServerCredentials};

use crate::keygen::{unix_now, write_secret};

/// How long a self-issued certificate is valid (the server reissues it at each start).
const SELF_ISSUED_VALIDITY_SECS: u32 = 365 * 86_400;

/// The loaded identity.
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    /// The static key and certificate for the Noise responder.
    pub credentials: ServerCredentials,
    /// The authority key clients pin.
    pub authority: AuthorityPublicKey,
}

impl ServerIdentity {
    /// Loads the identity from `dir`, making the directory, the authority key and the server
    /// key on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let authority_key = dir.join("authority.key");
        let server_key = dir.join("server.key");
        let cert_file = dir.join("server.cert");
        let fresh = !authority_key.exists() && !server_key.exists();
        if fresh {
            let kp = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
            write_secret(&authority_key, &hex::encode(kp.secret_bytes()), false)?;
            fs::write(dir.join("authority.pub"), format!("{}\n", kp.public_key()))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        if !server_key.exists() {
            write_secret(&server_key, &hex::encode(random_secret().map_err(|e| e.to_string())?), false)?;
        }
        let secret = read_hex::<32>(&server_key)?;
        if authority_key.exists() {
            let authority = AuthorityKeypair::from_secret_bytes(&read_hex::<32>(&authority_key)?)
                .map_err(|e| format!("{}: {e}", authority_key.display()))?;
            let now = unix_now();
            let aux = sv2::noise::random_bytes().map_err(|e| e.to_string())?;
            // Valid from an hour ago: clients whose clocks run behind still accept it.
            let credentials = ServerCredentials::issue(
                &authority,
                secret,
                now.saturating_sub(3600),
                now.saturating_add(SELF_ISSUED_VALIDITY_SECS),
                &aux,
            )
            .map_err(|e| format!("{}: {e}", server_key.display()))?;
            return Ok(ServerIdentity { credentials, authority: authority.public_key() });
        }
        let cert = Certificate::from_bytes(&read_hex::<{ Certificate::LEN }>(&cert_file)?);
        let authority = load_authority_key(&dir.join("authority.pub"))?;
        let credentials = ServerCredentials::new(secret, cert).map_err(|e| format!("{}: {e}", server_key.display()))?;
        cert.verify(&authority, &credentials.static_public_key(), unix_now())
            .map_err(|e| format!("{}: {e} (make a new one with `sv2 keygen`)", cert_file.display()))?;
        Ok(ServerIdentity { credentials, authority })
    }
}

/// Reads an authority public key: a file holding its base58check text, or the text itself.
pub fn load_authority_key(file_or_text: &Path) -> Result<AuthorityPublicKey, String> {
    let text = match fs::read_to_string(file_or_text) {
        Ok(t) => t,
        Err(_) => file_or_text.to_string_lossy().into_owned(),
    };
    AuthorityPublicKey::from_base58check(text.trim()).map_err(|e| format!("authority key {}: {e}", text.trim()))
}

fn read_hex<const N: usize>(path: &PathBuf) -> Result<[u8; N], String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = hex::decode(text.trim()).map_err(|e| format!("{}: not hex: {e}", path.display()))?;
    bytes.try_into().map_err(|_| format!("{}: expected {N} bytes", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reloaded_with_the_same_keys() {
        let dir = std::env::temp_dir().join(format!("sv2-identity-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let a = ServerIdentity::load_or_create(&dir).unwrap();
        let b = ServerIdentity::load_or_create(&dir).unwrap();
        assert_eq!(a.authority, b.authority);
        assert_eq!(a.credentials.static_public_key(), b.credentials.static_public_key());
        let now = unix_now();
        b.credentials.certificate().verify(&b.authority, &b.credentials.static_public_key(), now).unwrap();
        assert_eq!(load_authority_key(&dir.join("authority.pub")).unwrap(), a.authority);
        fs::remove_dir_all(&dir).unwrap();
    }
}
