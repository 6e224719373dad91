//! Stratum V1, sans-IO: the newline-delimited JSON-RPC that deployed mining firmware speaks,
//! and a server session per device for a translator to SV2.
//!
//! - [`framing::LineDecoder`]: bytes in, lines out, with a maximum line length enforced
//!   before an overlong line is buffered.
//! - [`client`]: what devices send (`mining.configure`, `subscribe`, `authorize`, `submit`,
//!   `suggest_difficulty`, `extranonce.subscribe`, anything else by name), parsed with the
//!   quirks real firmware has (ids that are numbers, strings or null; a bare number as
//!   `suggest_difficulty` params; submits with and without version bits), and encoded back.
//! - [`server`]: what servers send (`mining.notify`, `set_difficulty`, `set_extranonce`,
//!   `set_version_mask`, `client.reconnect`, responses with `[code, "message", null]` errors).
//! - [`session::Session`] (feature `channels`): one device connection as a translator drives
//!   it: requests queued until the upstream is ready, version-rolling grants, extranonce and
//!   difficulty assignment, jobs, keep-alive, vardiff, and submits turned into shares for
//!   [`crate::channels::server::ServerChannel::validate`].
//!
//! Parsing is bounded: a line is at most [`framing::DEFAULT_MAX_LINE`] bytes unless
//! configured otherwise, JSON nests at most [`MAX_DEPTH`] levels, arrays and objects hold at
//! most [`MAX_ITEMS`] entries, and no input makes the code panic. See docs/SV1.md.

pub mod client;
pub mod framing;
pub mod server;
#[cfg(feature = "channels")]
pub mod session;
mod value;

use core::fmt;

pub use serde_json::{Number, Value};
pub use value::Id;

/// Deepest JSON nesting accepted in a message (the message object itself is level 1).
pub const MAX_DEPTH: usize = 8;
/// Most entries accepted in one JSON array or object.
pub const MAX_ITEMS: usize = 256;
/// Longest extranonce (1 or 2) accepted, in bytes.
pub const MAX_EXTRANONCE_BYTES: usize = 32;

/// Classic Stratum error codes, as pools answer them in `[code, "message", null]`.
pub mod codes {
    /// Anything else: unknown method, invalid parameters, a share rejected for a reason
    /// without its own code (extranonce size, version bits, nTime).
    pub const OTHER: i64 = 20;
    /// The job is unknown or stale.
    pub const JOB_NOT_FOUND: i64 = 21;
    /// The share was already submitted.
    pub const DUPLICATE_SHARE: i64 = 22;
    /// The share does not meet the difficulty it was mined at.
    pub const LOW_DIFFICULTY: i64 = 23;
    /// The worker is not authorized on this connection.
    pub const UNAUTHORIZED: i64 = 24;
    /// A submit before mining.subscribe.
    pub const NOT_SUBSCRIBED: i64 = 25;
}

/// Why a line is not a usable Stratum V1 message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Not valid JSON (serde_json's description).
    Json(String),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// An array or object with more than [`MAX_ITEMS`] entries.
    TooManyItems,
    /// An `id` that is not a number, a string or null.
    BadId,
    /// An object that is neither a request (`method` is a string) nor a response.
    NotAMessage,
    /// A known method with parameters it cannot carry. The request is well formed, so it can
    /// be answered: this error is not fatal to a connection.
    InvalidParams {
        /// The request's id.
        id: Id,
        /// The method.
        method: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ParseError {
    /// Whether the connection must close: everything but [`ParseError::InvalidParams`], which
    /// is answered with an error instead.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ParseError::InvalidParams { .. })
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(e) => write!(f, "malformed JSON: {e}"),
            ParseError::NotAnObject => f.write_str("message is not a JSON object"),
            ParseError::TooDeep => write!(f, "JSON nested deeper than {MAX_DEPTH} levels"),
            ParseError::TooManyItems => write!(f, "JSON array or object with more than {MAX_ITEMS} entries"),
            ParseError::BadId => f.write_str("id is not a number, a string or null"),
            ParseError::NotAMessage => f.write_str("neither a request nor a response"),
            ParseError::InvalidParams { method, reason, .. } => write!(f, "invalid params for {method}: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}
