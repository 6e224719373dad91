//! Extension 0x0001, Extensions Negotiation (extension_type 0x0001). Extension 0x0002 adds
//! only a TLV field; see [`crate::codec::Tlv::user_identity`].

use crate::codec::Seq0_64K;

sv2_struct! {
    /// Sent right after SetupConnection.Success to negotiate extensions.
    RequestExtensions<'a> {
        /// Client-chosen id echoed in the reply.
        request_id: u16,
        /// Extension ids the client wants.
        requested_extensions: Seq0_64K<'a, u16>,
    }
}

sv2_struct! {
    /// The extensions the server will use on this connection.
    RequestExtensionsSuccess<'a> {
        /// Echoed request id.
        request_id: u16,
        /// Extensions both sides will use.
        supported_extensions: Seq0_64K<'a, u16>,
    }
}

sv2_struct! {
    /// The server supports none of the requested extensions, or requires others.
    RequestExtensionsError<'a> {
        /// Echoed request id.
        request_id: u16,
        /// Requested extensions the server does not support.
        unsupported_extensions: Seq0_64K<'a, u16>,
        /// Extensions the server requires that were not requested.
        required_extensions: Seq0_64K<'a, u16>,
    }
}
