//! Log setup shared by every role: `tracing` events printed to stderr, filtered by `RUST_LOG`
//! when it is set and by the role's own default otherwise.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide subscriber. `default_filter` (for example `"info"` or
/// `"sv2_roles=debug"`) applies when `RUST_LOG` is unset. A second call, or a call from a
/// test after another test installed one, keeps the first subscriber.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colours only on a terminal: logs sent to a file or journal stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}
