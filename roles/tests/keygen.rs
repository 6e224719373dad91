//! `sv2 keygen` (review issue 8, finding 11): secret keys are written readable by their owner
//! only, also when `--force` replaces files that were not, and never through a symlink.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SV2: &str = env!("CARGO_BIN_EXE_sv2");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sv2-keygen-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn keygen(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(SV2).arg("keygen").arg("--out").arg(out).args(extra).output().unwrap()
}

#[test]
fn secret_keys_are_readable_by_their_owner_only() {
    let root = temp_dir("fresh");
    let out = root.join("keys");
    let r = keygen(&out, &[]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for secret in ["authority.key", "server.key"] {
        assert_eq!(mode(&out.join(secret)), 0o600, "{secret}");
    }
    // The directory made for them is the owner's only as well; the public files stay
    // ordinary files (the authority key is meant to be handed out).
    assert_eq!(mode(&out), 0o700);
    for public in ["authority.pub", "server.cert"] {
        assert!(mode(&out.join(public)) & 0o600 == 0o600, "{public}");
    }

    // Without --force nothing is replaced.
    let before = fs::read(out.join("server.key")).unwrap();
    let r = keygen(&out, &[]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--force"));
    assert_eq!(fs::read(out.join("server.key")).unwrap(), before);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn force_replaces_world_readable_keys_with_private_ones() {
    let out = temp_dir("force");
    fs::create_dir_all(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    for secret in ["authority.key", "server.key"] {
        fs::write(out.join(secret), "old\n").unwrap();
        fs::set_permissions(out.join(secret), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let r = keygen(&out, &["--force"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for secret in ["authority.key", "server.key"] {
        assert_eq!(mode(&out.join(secret)), 0o600, "{secret}");
        assert_ne!(fs::read_to_string(out.join(secret)).unwrap(), "old\n", "{secret} was replaced");
    }
    // A directory that already existed keeps the permissions its owner gave it.
    assert_eq!(mode(&out), 0o755);
    // No temporary files are left behind.
    let mut names: Vec<String> =
        fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["authority.key", "authority.pub", "server.cert", "server.key"]);
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn force_does_not_write_through_a_symlink() {
    let root = temp_dir("symlink");
    let out = root.join("keys");
    fs::create_dir_all(&out).unwrap();
    let victim = root.join("victim");
    fs::write(&victim, "someone else's file\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("server.key")).unwrap();
    let r = keygen(&out, &["--force"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "someone else's file\n");
    let meta = fs::symlink_metadata(out.join("server.key")).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced by a private file");
    assert_eq!(mode(&out.join("server.key")), 0o600);
    fs::remove_dir_all(&root).unwrap();
}
