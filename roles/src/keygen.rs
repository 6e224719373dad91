//! `sv2 keygen`: authority key pair, server static key and its certificate, as files.
//!
//! Files (hex or base58check text, one line each):
//! - `authority.key`: the authority secret key (hex). Keep it offline; it signs certificates.
//! - `authority.pub`: the authority public key in base58check, what miners pin.
//! - `server.key`: the server's static secret key (hex).
//! - `server.cert`: the 74-byte certificate (hex) for that key, signed by the authority.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sv2::noise::{AuthorityKeypair, ServerCredentials};

/// Current unix time in seconds.
pub fn unix_now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn parse_hex32(text: &str, what: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("{what}: not hex: {e}"))?;
    bytes.try_into().map_err(|_| format!("{what}: expected 32 bytes"))
}

fn write_new(path: &Path, contents: &str, force: bool) -> Result<(), String> {
    if path.exists() && !force {
        return Err(format!("{} exists (use --force to overwrite)", path.display()));
    }
    fs::write(path, format!("{contents}\n")).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the key files into `out` (see the module docs), reusing `authority_key` when given.
pub fn run(out: &Path, authority_key: Option<&Path>, valid_days: u32, force: bool) -> Result<(), String> {
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let authority = match authority_key {
        Some(path) => {
            let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            AuthorityKeypair::from_secret_bytes(&parse_hex32(&text, "authority key")?).map_err(|e| e.to_string())?
        }
        None => {
            let kp = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
            write_new(&out.join("authority.key"), &hex::encode(kp.secret_bytes()), force)?;
            kp
        }
    };
    write_new(&out.join("authority.pub"), &authority.public_key().to_base58check(), force)?;
    let now = unix_now();
    let until = now.saturating_add(valid_days.saturating_mul(86_400));
    let creds = ServerCredentials::generate(&authority, now, until).map_err(|e| e.to_string())?;
    write_new(&out.join("server.key"), &hex::encode(creds.static_secret()), force)?;
    write_new(&out.join("server.cert"), &hex::encode(creds.certificate().to_bytes()), force)?;
    println!("authority public key: {}", authority.public_key());
    println!("server certificate valid {now} .. {until} for key {}", hex::encode(creds.static_public_key()));
    println!("written to {}", out.display());
    Ok(())
}
