//! Where the roles keep their files by default, and `~/` in configured paths.

use std::path::{Path, PathBuf};

/// `~/.libsv2/<role>`, or `sv2-<role>-data` in the working directory when HOME is unset.
pub fn default_data_dir(role: &str) -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => Path::new(&home).join(".libsv2").join(role),
        None => PathBuf::from(format!("sv2-{role}-data")),
    }
}

/// `p` with a leading `~/` replaced by the home directory.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}
