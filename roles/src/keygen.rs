//! `sv2 keygen`: authority key pair, server static key and its certificate, as files.
//!
//! Files (hex or base58check text, one line each):
//! - `authority.key`: the authority secret key (hex). Keep it offline; it signs certificates.
//! - `authority.pub`: the authority public key in base58check, what miners pin.
//! - `server.key`: the server's static secret key (hex).
//! - `server.cert`: the 74-byte certificate (hex) for that key, signed by the authority.
//!
//! The secret keys are mode 0600, and a directory made for them 0700. `--force` replaces
//! existing files with new ones (never writing through a symlink or keeping old permissions).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
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

/// Writes `text` and a newline to `path` with `mode` (the umask may only take bits away).
/// An existing file is an error unless `replace`; then the new file is written beside it and
/// renamed over it, so neither the old file's permissions nor a symlink at `path` carry over.
fn write_file(path: &Path, text: &str, mode: u32, replace: bool) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if !replace {
        return create_file(path, text, mode).map_err(err);
    }
    let name = path.file_name().ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    // A leftover of an interrupted run (removing a symlink removes the link, not its target).
    let _ = fs::remove_file(&tmp);
    create_file(&tmp, text, mode).map_err(err)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(e)
    })
}

/// Creates a new file (never opening an existing one or following a symlink) and syncs it.
fn create_file(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    writeln!(f, "{text}")?;
    f.sync_all()
}

/// Writes a secret key file readable and writable by its owner only (mode 0600). An existing
/// file is an error unless `replace`; then a new file is renamed over it, so the old file's
/// permissions do not carry over and a symlink there is replaced, not written through.
pub fn write_secret(path: &Path, text: &str, replace: bool) -> Result<(), String> {
    write_file(path, text, 0o600, replace)
}

/// Writes a file others may read (public keys, certificates).
fn write_public(path: &Path, text: &str, replace: bool) -> Result<(), String> {
    write_file(path, text, 0o644, replace)
}

/// Writes the key files into `out` (see the module docs), reusing `authority_key` when given.
pub fn run(out: &Path, authority_key: Option<&Path>, valid_days: u32, force: bool) -> Result<(), String> {
    let mut files = vec!["authority.pub", "server.key", "server.cert"];
    if authority_key.is_none() {
        files.push("authority.key");
    }
    // Refuse before writing anything, so a refusal leaves no half-replaced set of keys.
    if !force {
        if let Some(f) = files.iter().map(|f| out.join(f)).find(|p| p.symlink_metadata().is_ok()) {
            return Err(format!("{} exists (use --force to overwrite)", f.display()));
        }
    }
    // A directory made here holds secrets: owner only. An existing one is left as it is.
    fs::DirBuilder::new().recursive(true).mode(0o700).create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let authority = match authority_key {
        Some(path) => {
            let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            AuthorityKeypair::from_secret_bytes(&parse_hex32(&text, "authority key")?).map_err(|e| e.to_string())?
        }
        None => {
            let kp = AuthorityKeypair::generate().map_err(|e| e.to_string())?;
            write_secret(&out.join("authority.key"), &hex::encode(kp.secret_bytes()), force)?;
            kp
        }
    };
    write_public(&out.join("authority.pub"), &authority.public_key().to_base58check(), force)?;
    let now = unix_now();
    let until = now.saturating_add(valid_days.saturating_mul(86_400));
    let creds = ServerCredentials::generate(&authority, now, until).map_err(|e| e.to_string())?;
    write_secret(&out.join("server.key"), &hex::encode(creds.static_secret()), force)?;
    write_public(&out.join("server.cert"), &hex::encode(creds.certificate().to_bytes()), force)?;
    println!("authority public key: {}", authority.public_key());
    println!("server certificate valid {now} .. {until} for key {}", hex::encode(creds.static_public_key()));
    println!("written to {}", out.display());
    Ok(())
}
