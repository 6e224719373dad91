//! Common messages, valid on every connection (extension_type 0x0000, ids 0x00–0x04).

use crate::codec::Str0_255;

/// `SetupConnection.flags` bits of the Mining Protocol (client to server).
pub mod mining_flags {
    /// The client cannot process extended jobs and needs standard jobs.
    pub const REQUIRES_STANDARD_JOBS: u32 = 1 << 0;
    /// The client will send SetCustomMiningJob on this connection.
    pub const REQUIRES_WORK_SELECTION: u32 = 1 << 1;
    /// The client needs version rolling.
    pub const REQUIRES_VERSION_ROLLING: u32 = 1 << 2;
}

/// `SetupConnection.Success.flags` bits of the Mining Protocol (server to client).
pub mod mining_success_flags {
    /// The server rejects any change to the version field.
    pub const REQUIRES_FIXED_VERSION: u32 = 1 << 0;
    /// The server refuses standard channels.
    pub const REQUIRES_EXTENDED_CHANNELS: u32 = 1 << 1;
}

/// `SetupConnection.flags` bits of the Job Declaration Protocol.
pub mod job_declaration_flags {
    /// The JDC will reveal the template's transactions (Full-Template mode).
    pub const DECLARE_TX_DATA: u32 = 1 << 0;
}

sv2_struct! {
    /// The client's first message on every connection: which sub-protocol, which versions,
    /// which feature flags.
    SetupConnection<'a> {
        /// 0 Mining, 1 Job Declaration, 2 Template Distribution.
        protocol: u8,
        /// Lowest supported version (2).
        min_version: u16,
        /// Highest supported version (2).
        max_version: u16,
        /// Sub-protocol specific flags.
        flags: u32,
        /// Host the client dialled.
        endpoint_host: Str0_255<'a>,
        /// Port the client dialled.
        endpoint_port: u16,
        /// Device vendor and firmware.
        vendor: Str0_255<'a>,
        /// Hardware version.
        hardware_version: Str0_255<'a>,
        /// Firmware version.
        firmware: Str0_255<'a>,
        /// Device identifier (empty without telemetry).
        device_id: Str0_255<'a>,
    }
}

sv2_struct! {
    /// The server accepts the connection.
    SetupConnectionSuccess {
        /// Version chosen from the client's range.
        used_version: u16,
        /// Server flags.
        flags: u32,
    }
}

sv2_struct! {
    /// The server refuses the connection and closes it.
    SetupConnectionError<'a> {
        /// Every requested flag the server does not support (0: another cause).
        flags: u32,
        /// Free-form printable error code.
        error_code: Str0_255<'a>,
    }
}

sv2_struct! {
    /// A proxy moved the channel; reset its extension state.
    ChannelEndpointChanged {
        /// The channel.
        channel_id: u32,
    }
}

sv2_struct! {
    /// Reconnect to another endpoint of the same pool (empty host / port 0: the same).
    Reconnect<'a> {
        /// New host.
        new_host: Str0_255<'a>,
        /// New port.
        new_port: u16,
    }
}
