//! Why a served connection ended: the network (the peer went away, a timeout) or the peer
//! broke the protocol. The sans-IO endpoints' errors split the same way: their outbox's error
//! is the network's, everything else the peer's.

use std::fmt;

use sv2::endpoint::server::EndpointError;
use sv2::jd::server::JdError;

use super::NetError;

/// Why a connection ended.
#[derive(Debug)]
pub enum ConnectionEnd {
    /// The socket or the Noise session.
    Net(NetError),
    /// A protocol problem; the string says what.
    Protocol(String),
}

impl fmt::Display for ConnectionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionEnd::Net(e) => e.fmt(f),
            ConnectionEnd::Protocol(s) => f.write_str(s),
        }
    }
}

impl From<NetError> for ConnectionEnd {
    fn from(e: NetError) -> Self {
        ConnectionEnd::Net(e)
    }
}

impl From<EndpointError<NetError>> for ConnectionEnd {
    fn from(e: EndpointError<NetError>) -> Self {
        match e {
            EndpointError::Outbox(e) => ConnectionEnd::Net(e),
            other => ConnectionEnd::Protocol(other.to_string()),
        }
    }
}

impl From<JdError<NetError>> for ConnectionEnd {
    fn from(e: JdError<NetError>) -> Self {
        match e {
            JdError::Outbox(e) => ConnectionEnd::Net(e),
            other => ConnectionEnd::Protocol(other.to_string()),
        }
    }
}
