//! Mining Protocol endpoints, sans-IO: the protocol decisions of one connection, made once for
//! every role and SDK user.
//!
//! - [`server::ServerEndpoint`]: one downstream connection as a pool or proxy serves it —
//!   SetupConnection negotiation, channel-open admission, extranonce prefixes, jobs for new
//!   and existing channels, UpdateChannel and CloseChannel, share validation and the spec's
//!   error codes.
//! - `client`: one upstream connection as a miner, proxy or translator uses it.
//!
//! Endpoints take decoded messages and the caller's clock, and put their answers in an
//! [`Outbox`]: a Noise [`crate::noise::Session`] (encrypted frames ready for the socket), a
//! byte buffer of plaintext frames, or the caller's own type.

pub mod client;
pub mod server;

use alloc::vec::Vec;

use crate::codec::{frame_to_vec, CodecError};
use crate::Message;

/// Where an endpoint puts the messages it sends.
pub trait Outbox {
    /// Why a message could not be queued.
    type Error;
    /// Queues one message.
    fn push(&mut self, msg: &Message<'_>) -> Result<(), Self::Error>;
}

/// Plaintext frames (header and payload) appended to the buffer.
impl Outbox for Vec<u8> {
    type Error = CodecError;
    fn push(&mut self, msg: &Message<'_>) -> Result<(), CodecError> {
        self.extend_from_slice(&frame_to_vec(msg, &[])?);
        Ok(())
    }
}

/// Encrypted frames queued on the session's output.
impl Outbox for crate::noise::Session {
    type Error = crate::noise::NoiseError;
    fn push(&mut self, msg: &Message<'_>) -> Result<(), Self::Error> {
        self.send(msg, &[])
    }
}
