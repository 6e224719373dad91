//! Stratum V2 over TCP with tokio: Noise connections with bounded time for every step, and the
//! server identity (authority key, server key, certificate) kept in a data directory.

mod accept;
mod connection;
mod end;
mod fd_limit;
mod http;
mod identity;

pub use accept::{accept_loop, AcceptCounters};
pub use connection::{Connection, Limits, NetError, OwnedFrame};
pub use end::ConnectionEnd;
pub use fd_limit::raise_open_files_limit;
pub use http::serve_pages;
pub use identity::{load_authority_key, ServerIdentity};

/// Bytes a message with a `payload_len`-byte payload takes on the wire as a Noise frame
/// (encrypted header and payload with their tags).
pub fn frame_wire_len(payload_len: usize) -> u64 {
    (sv2::noise::ENCRYPTED_HEADER_LEN + sv2::noise::encrypted_payload_len(payload_len)) as u64
}

/// Resolves once `shutdown` turns true (or its sender is gone). The watch guard is dropped
/// inside, so the future stays `Send`.
pub async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Sleeps until `at`, or forever when it is None (an optional deadline in a `select!`).
pub async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
