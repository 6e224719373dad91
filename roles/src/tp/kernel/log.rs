//! libbitcoinkernel's log lines, forwarded to `tracing` (target `bitcoinkernel`) and, while a
//! block is being processed on this thread, kept so that a rejection can name Bitcoin Core's
//! own reason.

use std::cell::RefCell;
use std::sync::Once;

use bitcoinkernel::log::logging::{set_logging_options, LoggingOptions};
use bitcoinkernel::{Log, Logger};

thread_local! {
    static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

struct ToTracing;

impl Log for ToTracing {
    fn log(&self, message: &str) {
        let line = message.trim_end();
        CAPTURED.with(|c| {
            if let Some(lines) = c.borrow_mut().as_mut() {
                // Bounded: one block's validation logs a handful of lines.
                if lines.len() < 64 {
                    lines.push(line.to_owned());
                }
            }
        });
        tracing::debug!(target: "bitcoinkernel", "{line}");
    }
}

/// Connects the kernel's global logger once per process.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        set_logging_options(LoggingOptions { log_timestamps: false, ..LoggingOptions::default() });
        match Logger::new(ToTracing) {
            // The kernel logs into this connection for the life of the process.
            Ok(logger) => std::mem::forget(logger),
            Err(e) => tracing::warn!("cannot forward libbitcoinkernel logs: {e}"),
        }
    });
}

/// Runs `f`, returning what it returned and the kernel log lines it caused on this thread.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let out = f();
    let lines = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, lines)
}
