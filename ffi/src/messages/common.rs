//! Common messages (ids 0x00–0x04).

use super::sv2_bytes;

/// `SetupConnection.protocol`: Mining Protocol.
pub const SV2_PROTOCOL_MINING: u8 = 0;
/// `SetupConnection.protocol`: Job Declaration Protocol.
pub const SV2_PROTOCOL_JOB_DECLARATION: u8 = 1;
/// `SetupConnection.protocol`: Template Distribution Protocol.
pub const SV2_PROTOCOL_TEMPLATE_DISTRIBUTION: u8 = 2;

/// SetupConnection.flags (Mining): the client needs standard jobs.
pub const SV2_MINING_FLAG_REQUIRES_STANDARD_JOBS: u32 = 1 << 0;
/// SetupConnection.flags (Mining): the client will send SetCustomMiningJob.
pub const SV2_MINING_FLAG_REQUIRES_WORK_SELECTION: u32 = 1 << 1;
/// SetupConnection.flags (Mining): the client needs version rolling.
pub const SV2_MINING_FLAG_REQUIRES_VERSION_ROLLING: u32 = 1 << 2;
/// SetupConnection.Success.flags (Mining): the server rejects any change to the version.
pub const SV2_MINING_SUCCESS_FLAG_REQUIRES_FIXED_VERSION: u32 = 1 << 0;
/// SetupConnection.Success.flags (Mining): the server refuses standard channels.
pub const SV2_MINING_SUCCESS_FLAG_REQUIRES_EXTENDED_CHANNELS: u32 = 1 << 1;
/// SetupConnection.flags (Job Declaration): the client will reveal the template's
/// transactions.
pub const SV2_JD_FLAG_DECLARE_TX_DATA: u32 = 1 << 0;

/// Message id of SetupConnection.
pub const SV2_MSG_SETUP_CONNECTION: u8 = 0x00;
/// Message id of SetupConnection.Success.
pub const SV2_MSG_SETUP_CONNECTION_SUCCESS: u8 = 0x01;
/// Message id of SetupConnection.Error.
pub const SV2_MSG_SETUP_CONNECTION_ERROR: u8 = 0x02;
/// Message id of ChannelEndpointChanged.
pub const SV2_MSG_CHANNEL_ENDPOINT_CHANGED: u8 = 0x03;
/// Message id of Reconnect.
pub const SV2_MSG_RECONNECT: u8 = 0x04;

/// SetupConnection: the client's first message (protocol, versions, flags, device).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_setup_connection {
    /// 0 Mining, 1 Job Declaration, 2 Template Distribution.
    pub protocol: u8,
    /// Lowest supported version (2).
    pub min_version: u16,
    /// Highest supported version (2).
    pub max_version: u16,
    /// Sub-protocol flags.
    pub flags: u32,
    /// Host the client dialled.
    pub endpoint_host: sv2_bytes,
    /// Port the client dialled.
    pub endpoint_port: u16,
    /// Vendor.
    pub vendor: sv2_bytes,
    /// Hardware version.
    pub hardware_version: sv2_bytes,
    /// Firmware version.
    pub firmware: sv2_bytes,
    /// Device id.
    pub device_id: sv2_bytes,
}
convert!(sv2_setup_connection, SetupConnection<'a> {
    protocol, min_version, max_version, flags, endpoint_host, endpoint_port, vendor, hardware_version, firmware,
    device_id
});

/// SetupConnection.Success.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_setup_connection_success {
    /// Version chosen.
    pub used_version: u16,
    /// Server flags.
    pub flags: u32,
}
convert!(sv2_setup_connection_success, SetupConnectionSuccess { used_version, flags });

/// SetupConnection.Error.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_setup_connection_error {
    /// Unsupported requested flags (0: another cause).
    pub flags: u32,
    /// Error code.
    pub error_code: sv2_bytes,
}
convert!(sv2_setup_connection_error, SetupConnectionError<'a> { flags, error_code });

/// ChannelEndpointChanged.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_channel_endpoint_changed {
    /// The channel.
    pub channel_id: u32,
}
convert!(sv2_channel_endpoint_changed, ChannelEndpointChanged { channel_id });

/// Reconnect.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_reconnect {
    /// New host (empty: the same).
    pub new_host: sv2_bytes,
    /// New port (0: the same).
    pub new_port: u16,
}
convert!(sv2_reconnect, Reconnect<'a> { new_host, new_port });
