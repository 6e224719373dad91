//! Extension ids, TLV fields, and the messages of extension 0x0001 (Extensions Negotiation).

use super::sv2_u16_list;

/// Extension id of Extensions Negotiation (the extension_type of its messages).
pub const SV2_EXTENSION_NEGOTIATION: u16 = 0x0001;
/// Extension id of Worker-Specific Hashrate Tracking (a TLV on SubmitSharesExtended).
pub const SV2_EXTENSION_WORKER_HASHRATE_TRACKING: u16 = 0x0002;
/// Field type of the 0x0002 `user_identity` TLV.
pub const SV2_TLV_FIELD_USER_IDENTITY: u8 = 0x01;
/// Maximum length of the 0x0002 `user_identity` TLV value.
pub const SV2_TLV_USER_IDENTITY_MAX: usize = 32;

/// Message id of RequestExtensions (extension_type SV2_EXTENSION_NEGOTIATION).
pub const SV2_MSG_REQUEST_EXTENSIONS: u8 = 0x00;
/// Message id of RequestExtensions.Success (extension_type SV2_EXTENSION_NEGOTIATION).
pub const SV2_MSG_REQUEST_EXTENSIONS_SUCCESS: u8 = 0x01;
/// Message id of RequestExtensions.Error (extension_type SV2_EXTENSION_NEGOTIATION).
pub const SV2_MSG_REQUEST_EXTENSIONS_ERROR: u8 = 0x02;

/// RequestExtensions: sent right after SetupConnection.Success to negotiate extensions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_extensions {
    /// Client-chosen id, echoed in the reply.
    pub request_id: u16,
    /// Extension ids the client wants (`SEQ0_64K[U16]`).
    pub requested_extensions: sv2_u16_list,
}
convert!(sv2_request_extensions, RequestExtensions<'a> { request_id, requested_extensions });

/// RequestExtensions.Success: the extensions the server will use on this connection.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_extensions_success {
    /// Echoed request id.
    pub request_id: u16,
    /// Extensions both sides will use (`SEQ0_64K[U16]`).
    pub supported_extensions: sv2_u16_list,
}
convert!(sv2_request_extensions_success, RequestExtensionsSuccess<'a> { request_id, supported_extensions });

/// RequestExtensions.Error: the server supports none of the requested extensions, or
/// requires others.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_request_extensions_error {
    /// Echoed request id.
    pub request_id: u16,
    /// Requested extensions the server does not support (`SEQ0_64K[U16]`).
    pub unsupported_extensions: sv2_u16_list,
    /// Extensions the server requires that were not requested (`SEQ0_64K[U16]`).
    pub required_extensions: sv2_u16_list,
}
convert!(sv2_request_extensions_error, RequestExtensionsError<'a> {
    request_id, unsupported_extensions, required_extensions
});
