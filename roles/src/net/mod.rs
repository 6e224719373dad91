//! Stratum V2 over TCP with tokio: Noise connections with bounded time for every step, and the
//! server identity (authority key, server key, certificate) kept in a data directory.

mod connection;
mod identity;

pub use connection::{Connection, Limits, NetError, OwnedFrame};
pub use identity::{load_authority_key, ServerIdentity};
