//! The cxx bridge, C++ namespace `sv2bridge`: the types that cross between Rust and C++ by value
//! (every message, frame headers, TLVs, keys, certificates, work) and the functions and opaque
//! types behind `include/sv2/sv2.hpp`. Nothing of it is public C++: `src/sv2.cpp` converts
//! these structs field by field to and from the standard-typed records of the public headers,
//! and its generated header `sv2/bridge.rs.h` is not installed. (The namespace is neither
//! `sv2` nor `sv2_...` so that libsv2.so, which exports the C ABI as `sv2_*` and the C++ API as
//! `sv2::*`, keeps the bridge and its `sv2bridge$...` glue symbols local.)
//!
//! The two enums are the public headers' own (`sv2::ErrorCode`, `sv2::MessageType`): cxx
//! checks at compile time that every value declared here is the C++ one, and `sv2::ErrorCode`
//! takes its values from the C ABI's `sv2_result`.

use crate::channel::*;
use crate::endpoints::*;
use crate::error::take_error_code;
use crate::jobs::*;
use crate::keys::*;
use crate::messages::*;
use crate::server_channel::*;
use crate::session::*;

#[cxx::bridge(namespace = "sv2bridge")]
pub(crate) mod ffi {
    /// Why a call failed: `sv2::Error::code()`, the number of the C ABI's `sv2_result`.
    #[namespace = "sv2"]
    #[repr(i32)]
    #[derive(Debug)]
    enum ErrorCode {
        /// A bug inside libsv2 was caught before it reached C++.
        Panic = 2,
        /// An argument is out of range (an extranonce of the wrong size, an unknown message).
        InvalidArgument = 4,
        /// Input ended inside a value.
        UnexpectedEnd = 100,
        /// A length or count exceeds its type's maximum.
        TooLong = 101,
        /// An OPTION count other than 0 or 1.
        InvalidOption = 102,
        /// A value outside its type's range.
        OutOfRange = 103,
        /// Bytes left after a value that must fill its input.
        TrailingBytes = 104,
        /// Bytes after a message's fields that are not whole TLV records.
        InvalidTlv = 105,
        /// No message has this (extension_type, msg_type).
        UnknownMessage = 106,
        /// A frame announces a payload over the configured limit.
        FrameTooLarge = 107,
        /// A handshake message failed authentication.
        HandshakeFailed = 200,
        /// The server certificate is not signed by the pinned authority.
        InvalidCertificateSignature = 201,
        /// The server certificate is not valid yet.
        CertificateNotYetValid = 202,
        /// The server certificate has expired.
        CertificateExpired = 203,
        /// A transport frame failed authentication.
        DecryptFailed = 204,
        /// The transport nonces are used up.
        NonceExhausted = 205,
        /// Bytes that are not a valid secp256k1 key.
        InvalidKey = 206,
        /// Text that is not a base58check authority key.
        InvalidAuthorityKey = 207,
        /// The operating system's random generator failed.
        Entropy = 208,
        /// The handshake has not completed.
        NotEstablished = 209,
        /// An earlier error ended this session.
        SessionFailed = 210,
        /// An invariant inside libsv2 was broken.
        Internal = 299,
        /// No such channel here (spec error code `invalid-channel-id`).
        InvalidChannelId = 300,
        /// A share's job id is unknown, or a future job not activated yet (`invalid-job-id`).
        InvalidJobId = 301,
        /// A share for a job made stale by a newer previous hash (`stale-share`).
        StaleShare = 302,
        /// A share whose hash does not meet the job's target (`difficulty-too-low`).
        DifficultyTooLow = 303,
        /// A share accepted before (`duplicate-share`).
        DuplicateShare = 304,
        /// A share whose extranonce is not the channel's rollable size (`bad-extranonce-size`).
        BadExtranonceSize = 305,
        /// A share that changes a version bit outside the rollable mask
        /// (`invalid-non-rollable-version-bit`).
        InvalidNonRollableVersionBit = 306,
        /// A share that changes the version of a job that forbids rolling
        /// (`version-rolling-not-allowed`).
        VersionRollingNotAllowed = 307,
        /// A share's nTime is below the job's minimum or over two hours ahead
        /// (`invalid-timestamp`).
        NtimeOutOfRange = 308,
        /// A nominal hashrate that is negative, infinite or NaN (`invalid-nominal-hashrate`).
        InvalidNominalHashrate = 309,
        /// Template or pool outputs that are not valid serialized outputs.
        InvalidCoinbaseOutputs = 320,
        /// The coinbase scriptSig would exceed 100 bytes.
        ScriptSigTooLong = 321,
        /// Extranonce sizes that do not fit together.
        ExtranonceLayout = 322,
        /// Every extranonce prefix has been handed out.
        ExtranonceExhausted = 323,
        /// A job whose extranonce hole differs from the channel's full extranonce length.
        ExtranonceMismatch = 324,
        /// A job or template id that is not known (or not a future job) here.
        UnknownJob = 325,
        /// No previous hash yet: no job can be active.
        NoPrevHash = 326,
        /// A coinbase part over 64 KiB or a merkle path over 255 levels.
        JobTooLarge = 327,
        /// The server refused SetupConnection.
        SetupRefused = 340,
        /// A message or call that needs SetupConnection to have succeeded first.
        NotSetUp = 341,
        /// A message out of place: a second SetupConnection, an answer to nothing asked, or a
        /// message only the other side sends.
        UnexpectedMessage = 342,
        /// More invalid shares within a minute than the server allows.
        InvalidShareFlood = 343,
        /// A channel reached the limit of shares accepted on one tip.
        TooManyShares = 344,
        /// The server requires extended channels.
        ExtendedChannelsRequired = 345,
        /// Too many requests unanswered (channel opens).
        TooManyRequests = 346,
    }

    /// Every message, in the order of the alternatives of `sv2::Message` (the value is the
    /// variant index).
    #[namespace = "sv2"]
    #[repr(u8)]
    #[derive(Debug)]
    enum MessageType {
        /// Common 0x00.
        SetupConnection,
        /// Common 0x01.
        SetupConnectionSuccess,
        /// Common 0x02.
        SetupConnectionError,
        /// Common 0x03.
        ChannelEndpointChanged,
        /// Common 0x04.
        Reconnect,
        /// Mining 0x10.
        OpenStandardMiningChannel,
        /// Mining 0x11.
        OpenStandardMiningChannelSuccess,
        /// Mining 0x12.
        OpenMiningChannelError,
        /// Mining 0x13.
        OpenExtendedMiningChannel,
        /// Mining 0x14.
        OpenExtendedMiningChannelSuccess,
        /// Mining 0x15.
        NewMiningJob,
        /// Mining 0x16.
        UpdateChannel,
        /// Mining 0x17.
        UpdateChannelError,
        /// Mining 0x18.
        CloseChannel,
        /// Mining 0x19.
        SetExtranoncePrefix,
        /// Mining 0x1a.
        SubmitSharesStandard,
        /// Mining 0x1b.
        SubmitSharesExtended,
        /// Mining 0x1c.
        SubmitSharesSuccess,
        /// Mining 0x1d.
        SubmitSharesError,
        /// Mining 0x1f.
        NewExtendedMiningJob,
        /// Mining 0x20.
        SetNewPrevHash,
        /// Mining 0x21.
        SetTarget,
        /// Mining 0x22.
        SetCustomMiningJob,
        /// Mining 0x23.
        SetCustomMiningJobSuccess,
        /// Mining 0x24.
        SetCustomMiningJobError,
        /// Mining 0x25.
        SetGroupChannel,
        /// Job Declaration 0x50.
        AllocateMiningJobToken,
        /// Job Declaration 0x51.
        AllocateMiningJobTokenSuccess,
        /// Job Declaration 0x55.
        ProvideMissingTransactions,
        /// Job Declaration 0x56.
        ProvideMissingTransactionsSuccess,
        /// Job Declaration 0x57.
        DeclareMiningJob,
        /// Job Declaration 0x58.
        DeclareMiningJobSuccess,
        /// Job Declaration 0x59.
        DeclareMiningJobError,
        /// Job Declaration 0x60.
        PushSolution,
        /// Template Distribution 0x70.
        CoinbaseOutputConstraints,
        /// Template Distribution 0x71.
        NewTemplate,
        /// Template Distribution 0x72.
        SetNewPrevHashTdp,
        /// Template Distribution 0x73.
        RequestTransactionData,
        /// Template Distribution 0x74.
        RequestTransactionDataSuccess,
        /// Template Distribution 0x75.
        RequestTransactionDataError,
        /// Template Distribution 0x76.
        SubmitSolution,
        /// Extensions Negotiation (0x0001) 0x00.
        RequestExtensions,
        /// Extensions Negotiation (0x0001) 0x01.
        RequestExtensionsSuccess,
        /// Extensions Negotiation (0x0001) 0x02.
        RequestExtensionsError,
    }

    /// Where a message type sits on the wire.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct MessageSpec {
        /// Extension id (0 for the core sub-protocols).
        extension_type: u16,
        /// Message id.
        msg_type: u8,
        /// Whether the channel_msg bit is set (the payload starts with a channel id).
        channel_msg: bool,
    }

    /// A frame header, with the channel_msg bit split out of `extension_type`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct FrameHeader {
        /// Extension id, without the channel_msg bit.
        extension_type: u16,
        /// Message id.
        msg_type: u8,
        /// Whether the channel_msg bit is set.
        channel_msg: bool,
        /// Payload length in bytes.
        msg_length: u32,
    }

    /// One TLV record after a message's fields (extensions such as 0x0002 add them).
    #[derive(Debug, Clone, PartialEq)]
    struct Tlv {
        /// The negotiated extension that defines the field.
        extension_type: u16,
        /// Field number within that extension.
        field_type: u8,
        /// The value (at most 65 535 bytes).
        value: Vec<u8>,
    }

    /// A 32-byte hash in internal byte order (merkle path entries, wtxids).
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Hash256 {
        /// The bytes.
        bytes: [u8; 32],
    }

    /// A serialized transaction.
    #[derive(Debug, Clone, PartialEq)]
    struct Transaction {
        /// The bytes (at most 16 777 215).
        bytes: Vec<u8>,
    }

    /// `OPTION[U32]`: a value or none.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct OptionU32 {
        /// Whether there is a value.
        has_value: bool,
        /// The value (0 when there is none).
        value: u32,
    }

    /// A pool authority's key pair: it signs server certificates; clients pin its public key.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct AuthorityKeypair {
        /// The secret key (keep it secret).
        secret_key: [u8; 32],
        /// The x-only public key clients pin.
        public_key: [u8; 32],
    }

    /// A server certificate: the authority's signature over the server's static key and a
    /// validity window.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Certificate {
        /// Format version (0).
        version: u16,
        /// Unix time from which it is valid.
        valid_from: u32,
        /// Unix time after which it is not.
        not_valid_after: u32,
        /// BIP340 signature by the authority.
        signature: [u8; 64],
    }

    /// What a responder needs: its static secret key and a certificate for it. Store both to
    /// keep the same server identity across restarts.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct ServerCredentials {
        /// The static secret key (keep it secret).
        static_secret: [u8; 32],
        /// The certificate for its public key.
        certificate: Certificate,
    }

    /// What a client learned about the server in the handshake.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct HandshakeInfo {
        /// The server's x-only static key.
        server_static_key: [u8; 32],
        /// The certificate it presented (already checked against the pinned authority).
        certificate: Certificate,
        /// The final handshake hash (channel binding).
        handshake_hash: [u8; 32],
    }

    /// Work to hash on a mining client channel: the header fields and the share target.
    #[derive(Debug, Clone, PartialEq)]
    struct Work {
        /// Job id to submit shares for.
        job_id: u32,
        /// Header version to start from.
        version: u32,
        /// Version bits that may be rolled (0: none).
        version_mask: u32,
        /// Previous block hash.
        prev_hash: [u8; 32],
        /// Merkle root for the extranonce given.
        merkle_root: [u8; 32],
        /// First nTime.
        min_ntime: u32,
        /// Compact network target.
        nbits: u32,
        /// Share target of this job (little-endian 256-bit integer): the channel's when the job
        /// arrived, or the last SetTarget before a future job was activated.
        target: [u8; 32],
        /// The rolled extranonce this work was built with (empty on standard channels).
        extranonce: Vec<u8>,
    }

    /// A job a template made, by id: give it to every channel (`ServerChannel::add_job`,
    /// `GroupChannel::add_job`).
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct TemplateJob {
        /// The job's id, the same on every channel.
        job_id: u32,
        /// None: a future job, minable once its tip arrives. A value: minable now, from this
        /// nTime on.
        min_ntime: OptionU32,
        /// The job of a new tip (a SetNewPrevHashTdp made it current): every channel activates
        /// it, which makes every other job stale.
        new_tip: bool,
    }

    /// What a server channel is opened with.
    #[derive(Debug, Clone, PartialEq)]
    struct ServerChannelParams {
        /// The channel id (unique on the connection, and not the group's).
        channel_id: u32,
        /// False: a standard channel; true: an extended one.
        extended: bool,
        /// Extended: bytes the client rolls after the prefix (prefix and rolled part together
        /// make the factory's extranonce_len). Standard: must be 0.
        extranonce_size: u16,
        /// The user (and worker) the channel mines for (at most 255 bytes of UTF-8).
        user_identity: Vec<u8>,
        /// The channel's prefix from an ExtranonceAllocator (at most 32 bytes).
        extranonce_prefix: Vec<u8>,
        /// Initial share target (little-endian 256-bit), e.g. from target_for_hashrate().
        target: [u8; 32],
        /// The easiest target the client accepts (its Open*MiningChannel.max_target).
        max_target: [u8; 32],
        /// Vardiff aims at this many shares a minute (positive).
        shares_per_minute: f64,
        /// Vardiff judges the share rate over windows of at least this many seconds.
        vardiff_window_secs: u64,
    }

    /// Messages a channel call makes, in order: `order` holds each one's MessageType value,
    /// and the vectors the messages of each type, in that order.
    #[derive(Debug, Clone, Default)]
    struct ChannelMessages {
        order: Vec<u8>,
        new_mining_job: Vec<NewMiningJob>,
        new_extended_mining_job: Vec<NewExtendedMiningJob>,
        set_target: Vec<SetTarget>,
        update_channel_error: Vec<UpdateChannelError>,
        open_standard_mining_channel_success: Vec<OpenStandardMiningChannelSuccess>,
        open_extended_mining_channel_success: Vec<OpenExtendedMiningChannelSuccess>,
    }

    /// What share validation found.
    #[derive(Debug, Clone)]
    struct ShareVerdict {
        accepted: bool,
        /// Why it was rejected (when not accepted).
        error: ErrorCode,
        /// The SubmitShares.Error for a rejected share.
        reply: SubmitSharesError,
        hash: [u8; 32],
        target: [u8; 32],
        difficulty: f64,
        /// Whether `solution` holds the SubmitSolution of a block.
        block: bool,
        solution: SubmitSolution,
    }

    /// What a server endpoint offers and allows on each connection (the library's defaults).
    #[derive(Debug, Clone, PartialEq)]
    struct ServerOptions {
        version_rolling: bool,
        extended_channels_only: bool,
        max_channels: usize,
        shares_per_minute: f64,
        vardiff_window_secs: u64,
        default_hashrate: f64,
        min_difficulty: f64,
        max_invalid_shares_per_minute: u32,
        max_shares_per_tip: usize,
    }

    /// What a client endpoint sends in SetupConnection.
    #[derive(Debug, Clone, PartialEq)]
    struct ClientOptions {
        /// REQUIRES_STANDARD_JOBS.
        requires_standard_jobs: bool,
        /// REQUIRES_VERSION_ROLLING.
        requires_version_rolling: bool,
        /// The host the client dialled (UTF-8).
        endpoint_host: Vec<u8>,
        /// The port the client dialled.
        endpoint_port: u16,
        /// Vendor (UTF-8).
        vendor: Vec<u8>,
        /// Hardware version (UTF-8).
        hardware_version: Vec<u8>,
        /// Firmware version (UTF-8).
        firmware: Vec<u8>,
        /// Device id (UTF-8; empty: none).
        device_id: Vec<u8>,
    }

    /// A client endpoint's event: `kind` is the value of sv2::ClientEvent::Kind.
    #[derive(Debug, Clone)]
    struct ClientEvent {
        kind: u8,
        flags: u32,
        channel_id: u32,
        request_id: u32,
        group_channel_id: u32,
        sequence_number: u32,
        job_id: u32,
        min_ntime: OptionU32,
        extranonce_size: u16,
        port: u16,
        target: [u8; 32],
        has_tag: bool,
        tag: u64,
        text: Vec<u8>,
        extranonce_prefix: Vec<u8>,
        extensions: Vec<u16>,
        required_extensions: Vec<u16>,
    }

    // ---- Common messages ----

    /// The client's first message on every connection.
    #[derive(Debug, Clone, PartialEq)]
    struct SetupConnection {
        /// 0 Mining, 1 Job Declaration, 2 Template Distribution.
        protocol: u8,
        /// Lowest supported version (2).
        min_version: u16,
        /// Highest supported version (2).
        max_version: u16,
        /// Sub-protocol specific flags.
        flags: u32,
        /// Host the client dialled. STR0_255: raw bytes.
        endpoint_host: Vec<u8>,
        /// Port the client dialled.
        endpoint_port: u16,
        /// Device vendor and firmware. STR0_255: raw bytes.
        vendor: Vec<u8>,
        /// Hardware version. STR0_255: raw bytes.
        hardware_version: Vec<u8>,
        /// Firmware version. STR0_255: raw bytes.
        firmware: Vec<u8>,
        /// Device identifier. STR0_255: raw bytes.
        device_id: Vec<u8>,
    }

    /// The server accepts the connection.
    #[derive(Debug, Clone, PartialEq)]
    struct SetupConnectionSuccess {
        /// Version chosen from the client's range.
        used_version: u16,
        /// Server flags.
        flags: u32,
    }

    /// The server refuses the connection.
    #[derive(Debug, Clone, PartialEq)]
    struct SetupConnectionError {
        /// Requested flags the server does not support.
        flags: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// A proxy moved the channel; reset its extension state.
    #[derive(Debug, Clone, PartialEq)]
    struct ChannelEndpointChanged {
        /// The channel.
        channel_id: u32,
    }

    /// Reconnect to another endpoint of the same pool.
    #[derive(Debug, Clone, PartialEq)]
    struct Reconnect {
        /// New host (empty: the same). STR0_255: raw bytes.
        new_host: Vec<u8>,
        /// New port (0: the same).
        new_port: u16,
    }

    // ---- Mining Protocol ----

    /// Opens a standard (header-only) channel.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenStandardMiningChannel {
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// User and worker the channel mines for. STR0_255: raw bytes.
        user_identity: Vec<u8>,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the device accepts.
        max_target: [u8; 32],
    }

    /// The standard channel is open.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenStandardMiningChannelSuccess {
        /// Echoed request id.
        request_id: u32,
        /// The new channel.
        channel_id: u32,
        /// Initial share target.
        target: [u8; 32],
        /// The channel's extranonce prefix (at most 32 bytes).
        extranonce_prefix: Vec<u8>,
        /// The group the channel belongs to.
        group_channel_id: u32,
    }

    /// A channel could not be opened.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenMiningChannelError {
        /// Echoed request id.
        request_id: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// Opens an extended channel.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenExtendedMiningChannel {
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// User and worker the channel mines for. STR0_255: raw bytes.
        user_identity: Vec<u8>,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the client accepts.
        max_target: [u8; 32],
        /// Fewest extranonce bytes the client needs to roll.
        min_extranonce_size: u16,
    }

    /// The extended channel is open.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenExtendedMiningChannelSuccess {
        /// Echoed request id.
        request_id: u32,
        /// The new channel.
        channel_id: u32,
        /// Initial share target.
        target: [u8; 32],
        /// Bytes the client rolls.
        extranonce_size: u16,
        /// The channel's extranonce prefix (at most 32 bytes).
        extranonce_prefix: Vec<u8>,
        /// The group the channel belongs to.
        group_channel_id: u32,
    }

    /// A job for a standard channel.
    #[derive(Debug, Clone, PartialEq)]
    struct NewMiningJob {
        /// The channel.
        channel_id: u32,
        /// Job id.
        job_id: u32,
        /// None: a future job; a value: active now with this first nTime.
        min_ntime: OptionU32,
        /// Block header version.
        version: u32,
        /// Merkle root for the header.
        merkle_root: [u8; 32],
    }

    /// The client reports a new hashrate or maximum target.
    #[derive(Debug, Clone, PartialEq)]
    struct UpdateChannel {
        /// The channel.
        channel_id: u32,
        /// Expected hashrate in h/s.
        nominal_hash_rate: f32,
        /// Easiest target the client accepts.
        maximum_target: [u8; 32],
    }

    /// UpdateChannel was invalid.
    #[derive(Debug, Clone, PartialEq)]
    struct UpdateChannelError {
        /// The channel.
        channel_id: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// Closes a channel.
    #[derive(Debug, Clone, PartialEq)]
    struct CloseChannel {
        /// The channel or group.
        channel_id: u32,
        /// Printable reason. STR0_255: raw bytes.
        reason_code: Vec<u8>,
    }

    /// Replaces the channel's extranonce prefix.
    #[derive(Debug, Clone, PartialEq)]
    struct SetExtranoncePrefix {
        /// The channel.
        channel_id: u32,
        /// New prefix (at most 32 bytes).
        extranonce_prefix: Vec<u8>,
    }

    /// A share on a standard channel.
    #[derive(Debug, Clone, PartialEq)]
    struct SubmitSharesStandard {
        /// The channel.
        channel_id: u32,
        /// Client-side sequence number.
        sequence_number: u32,
        /// The job.
        job_id: u32,
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Header version.
        version: u32,
    }

    /// A share on an extended channel.
    #[derive(Debug, Clone, PartialEq)]
    struct SubmitSharesExtended {
        /// The channel.
        channel_id: u32,
        /// Client-side sequence number.
        sequence_number: u32,
        /// The job.
        job_id: u32,
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Header version.
        version: u32,
        /// The rolled extranonce (at most 32 bytes).
        extranonce: Vec<u8>,
    }

    /// Acknowledges accepted shares.
    #[derive(Debug, Clone, PartialEq)]
    struct SubmitSharesSuccess {
        /// The channel.
        channel_id: u32,
        /// Last sequence number acknowledged.
        last_sequence_number: u32,
        /// Shares accepted in this batch.
        new_submits_accepted_count: u32,
        /// Sum of their difficulties.
        new_shares_sum: u64,
    }

    /// Rejects one share.
    #[derive(Debug, Clone, PartialEq)]
    struct SubmitSharesError {
        /// The channel.
        channel_id: u32,
        /// Sequence number of the rejected share.
        sequence_number: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// A job for extended and group channels.
    #[derive(Debug, Clone, PartialEq)]
    struct NewExtendedMiningJob {
        /// The channel or group.
        channel_id: u32,
        /// Job id.
        job_id: u32,
        /// None: a future job; a value: active now with this first nTime.
        min_ntime: OptionU32,
        /// Block header version.
        version: u32,
        /// Whether the version bits may be rolled.
        version_rolling_allowed: bool,
        /// Merkle path, leaf level first (at most 255).
        merkle_path: Vec<Hash256>,
        /// Coinbase bytes before the extranonce (at most 65 535).
        coinbase_tx_prefix: Vec<u8>,
        /// Coinbase bytes after the extranonce (at most 65 535).
        coinbase_tx_suffix: Vec<u8>,
    }

    /// Activates a job on a new previous block hash.
    #[derive(Debug, Clone, PartialEq)]
    struct SetNewPrevHash {
        /// The channel or group.
        channel_id: u32,
        /// The job to mine now.
        job_id: u32,
        /// Previous block hash.
        prev_hash: [u8; 32],
        /// Smallest nTime allowed.
        min_ntime: u32,
        /// Network target, compact form.
        nbits: u32,
    }

    /// New share target.
    #[derive(Debug, Clone, PartialEq)]
    struct SetTarget {
        /// The channel or group.
        channel_id: u32,
        /// New target.
        maximum_target: [u8; 32],
    }

    /// A job chosen by the client.
    #[derive(Debug, Clone, PartialEq)]
    struct SetCustomMiningJob {
        /// The channel or group.
        channel_id: u32,
        /// Client-chosen id, echoed in the reply.
        request_id: u32,
        /// Token from the job declarator (at most 255 bytes).
        mining_job_token: Vec<u8>,
        /// Block header version.
        version: u32,
        /// Previous block hash.
        prev_hash: [u8; 32],
        /// Smallest nTime allowed.
        min_ntime: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Coinbase transaction version.
        coinbase_tx_version: u32,
        /// Start of the coinbase scriptSig (at most 255 bytes).
        coinbase_prefix: Vec<u8>,
        /// Coinbase input nSequence.
        coinbase_tx_input_nsequence: u32,
        /// CompactSize count and serialized outputs (at most 65 535 bytes).
        coinbase_tx_outputs: Vec<u8>,
        /// Coinbase lock time.
        coinbase_tx_locktime: u32,
        /// Merkle path, leaf level first (at most 255).
        merkle_path: Vec<Hash256>,
    }

    /// The pool accepts the custom job.
    #[derive(Debug, Clone, PartialEq)]
    struct SetCustomMiningJobSuccess {
        /// The channel or group.
        channel_id: u32,
        /// Echoed request id.
        request_id: u32,
        /// Job id for shares on this job.
        job_id: u32,
    }

    /// The pool rejects the custom job.
    #[derive(Debug, Clone, PartialEq)]
    struct SetCustomMiningJobError {
        /// The channel or group.
        channel_id: u32,
        /// Echoed request id.
        request_id: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// Puts channels into a group.
    #[derive(Debug, Clone, PartialEq)]
    struct SetGroupChannel {
        /// The group.
        group_channel_id: u32,
        /// Its member channels (at most 65 535).
        channel_ids: Vec<u32>,
    }

    // ---- Job Declaration Protocol ----

    /// The JDC asks for a token.
    #[derive(Debug, Clone, PartialEq)]
    struct AllocateMiningJobToken {
        /// User the job is for. STR0_255: raw bytes.
        user_identifier: Vec<u8>,
        /// Client-chosen id.
        request_id: u32,
    }

    /// A token and the pool's coinbase outputs.
    #[derive(Debug, Clone, PartialEq)]
    struct AllocateMiningJobTokenSuccess {
        /// Echoed request id.
        request_id: u32,
        /// The token (at most 255 bytes).
        mining_job_token: Vec<u8>,
        /// CompactSize count and the pool's outputs (at most 65 535 bytes).
        coinbase_tx_outputs: Vec<u8>,
    }

    /// The JDS needs these transactions of the declared job.
    #[derive(Debug, Clone, PartialEq)]
    struct ProvideMissingTransactions {
        /// The DeclareMiningJob's request id.
        request_id: u32,
        /// Positions in its wtxid list (at most 65 535).
        unknown_tx_position_list: Vec<u16>,
    }

    /// The requested transactions.
    #[derive(Debug, Clone, PartialEq)]
    struct ProvideMissingTransactionsSuccess {
        /// The DeclareMiningJob's request id.
        request_id: u32,
        /// Serialized transactions (at most 65 535).
        transaction_list: Vec<Transaction>,
    }

    /// The JDC declares the job it wants to mine.
    #[derive(Debug, Clone, PartialEq)]
    struct DeclareMiningJob {
        /// Client-chosen id.
        request_id: u32,
        /// Token from AllocateMiningJobToken.Success (at most 255 bytes).
        mining_job_token: Vec<u8>,
        /// Block header version.
        version: u32,
        /// Coinbase bytes before the extranonce (at most 65 535).
        coinbase_tx_prefix: Vec<u8>,
        /// Coinbase bytes after the extranonce (at most 65 535).
        coinbase_tx_suffix: Vec<u8>,
        /// wtxids of every non-coinbase transaction (at most 65 535).
        wtxid_list: Vec<Hash256>,
        /// Opaque data from the template provider (at most 65 535 bytes).
        excess_data: Vec<u8>,
    }

    /// The job is accepted.
    #[derive(Debug, Clone, PartialEq)]
    struct DeclareMiningJobSuccess {
        /// Echoed request id.
        request_id: u32,
        /// Token for SetCustomMiningJob (at most 255 bytes).
        new_mining_job_token: Vec<u8>,
    }

    /// The job is rejected.
    #[derive(Debug, Clone, PartialEq)]
    struct DeclareMiningJobError {
        /// Echoed request id.
        request_id: u32,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
        /// Details (at most 65 535 bytes).
        error_details: Vec<u8>,
    }

    /// A block was found on the declared job.
    #[derive(Debug, Clone, PartialEq)]
    struct PushSolution {
        /// Full extranonce (at most 32 bytes).
        extranonce: Vec<u8>,
        /// Previous block hash.
        prev_hash: [u8; 32],
        /// Header nonce.
        nonce: u32,
        /// Header nTime.
        ntime: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Header version.
        version: u32,
    }

    // ---- Template Distribution Protocol ----

    /// Room the client needs in the coinbase for its outputs.
    #[derive(Debug, Clone, PartialEq)]
    struct CoinbaseOutputConstraints {
        /// Serialized bytes of outputs the client adds.
        coinbase_output_max_additional_size: u32,
        /// Sigops of outputs the client adds.
        coinbase_output_max_additional_sigops: u16,
    }

    /// A block template.
    #[derive(Debug, Clone, PartialEq)]
    struct NewTemplate {
        /// Strictly increasing id.
        template_id: u64,
        /// True: for the next block, activated by a later SetNewPrevHash.
        future_template: bool,
        /// Block header version.
        version: u32,
        /// Coinbase transaction version.
        coinbase_tx_version: u32,
        /// Start of the coinbase scriptSig (at most 255 bytes).
        coinbase_prefix: Vec<u8>,
        /// Coinbase input nSequence.
        coinbase_tx_input_sequence: u32,
        /// Satoshis available to the client's outputs.
        coinbase_tx_value_remaining: u64,
        /// Number of outputs in coinbase_tx_outputs.
        coinbase_tx_outputs_count: u32,
        /// Serialized outputs that end the coinbase (at most 65 535 bytes).
        coinbase_tx_outputs: Vec<u8>,
        /// Coinbase lock time.
        coinbase_tx_locktime: u32,
        /// Merkle path, leaf level first (at most 255).
        merkle_path: Vec<Hash256>,
    }

    /// A new tip and the template to mine on it.
    #[derive(Debug, Clone, PartialEq)]
    struct SetNewPrevHashTdp {
        /// A future template built for this tip.
        template_id: u64,
        /// New previous block hash.
        prev_hash: [u8; 32],
        /// Suggested nTime.
        header_timestamp: u32,
        /// Network target, compact form.
        nbits: u32,
        /// Solution target.
        target: [u8; 32],
    }

    /// Asks for the template's transactions.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestTransactionData {
        /// The template.
        template_id: u64,
    }

    /// The template's transactions.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestTransactionDataSuccess {
        /// The template.
        template_id: u64,
        /// Opaque extra data (at most 65 535 bytes).
        excess_data: Vec<u8>,
        /// Every non-coinbase transaction (at most 65 535).
        transaction_list: Vec<Transaction>,
    }

    /// Transactions are not available.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestTransactionDataError {
        /// The template.
        template_id: u64,
        /// Printable error code. STR0_255: raw bytes.
        error_code: Vec<u8>,
    }

    /// A block solution on a template.
    #[derive(Debug, Clone, PartialEq)]
    struct SubmitSolution {
        /// The template.
        template_id: u64,
        /// Header version.
        version: u32,
        /// Header nTime.
        header_timestamp: u32,
        /// Header nonce.
        header_nonce: u32,
        /// Full serialized coinbase (at most 65 535 bytes).
        coinbase_tx: Vec<u8>,
    }

    // ---- Extension 0x0001, Extensions Negotiation ----

    /// Asks for extensions.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestExtensions {
        /// Client-chosen id.
        request_id: u16,
        /// Extension ids wanted (at most 65 535).
        requested_extensions: Vec<u16>,
    }

    /// The extensions both sides will use.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestExtensionsSuccess {
        /// Echoed request id.
        request_id: u16,
        /// Extensions in use (at most 65 535).
        supported_extensions: Vec<u16>,
    }

    /// The server cannot use the requested extensions.
    #[derive(Debug, Clone, PartialEq)]
    struct RequestExtensionsError {
        /// Echoed request id.
        request_id: u16,
        /// Requested extensions not supported (at most 65 535).
        unsupported_extensions: Vec<u16>,
        /// Extensions the server requires (at most 65 535).
        required_extensions: Vec<u16>,
    }

    unsafe extern "C++" {
        include!("sv2/error.hpp");
        include!("sv2/messages.hpp");
        #[namespace = "sv2"]
        type ErrorCode;
        #[namespace = "sv2"]
        type MessageType;
    }

    extern "Rust" {
        /// A Noise session (or a plaintext one) with its last received frame.
        type SessionImpl;
        /// A plaintext frame decoder with its last frame.
        type FrameDecoderImpl;
        /// A mining client channel.
        type ClientChannelImpl;
        /// Jobs from templates for one pool payout script.
        type JobFactoryImpl;
        /// A server channel (standard or extended).
        type ServerChannelImpl;
        /// A group of server channels.
        type GroupChannelImpl;
        /// A Mining client endpoint with its output of plaintext frames.
        type ClientEndpointImpl;

        // Library and messages.
        fn version() -> &'static str;
        fn message_type(extension_type: u16, msg_type: u8) -> Result<MessageType>;
        fn message_spec(t: MessageType) -> Result<MessageSpec>;
        fn message_name(t: MessageType) -> Result<&'static str>;
        fn user_identity_tlv(identity: &[u8]) -> Result<Tlv>;
        /// The code of the last error returned to C++ on this thread (Internal if none).
        fn take_error_code() -> ErrorCode;
        fn copy_bytes(bytes: &[u8]) -> Vec<u8>;

        // Keys and certificates.
        fn authority_keypair_generate() -> Result<AuthorityKeypair>;
        fn authority_keypair_from_secret(secret: &[u8; 32]) -> Result<AuthorityKeypair>;
        fn authority_key_to_text(public_key: &[u8; 32]) -> Result<String>;
        fn authority_key_from_text(text: &[u8]) -> Result<[u8; 32]>;
        fn server_credentials_generate(
            authority_secret: &[u8; 32],
            valid_from: u32,
            not_valid_after: u32,
        ) -> Result<ServerCredentials>;
        fn server_credentials_issue(
            authority_secret: &[u8; 32],
            static_secret: &[u8; 32],
            valid_from: u32,
            not_valid_after: u32,
        ) -> Result<ServerCredentials>;
        fn server_public_key(credentials: &ServerCredentials) -> Result<[u8; 32]>;
        fn certificate_verify(
            certificate: &Certificate,
            authority_public_key: &[u8; 32],
            server_key: &[u8; 32],
            now: u32,
        ) -> Result<()>;

        // Sessions.
        fn session_initiator(authority_public_key: &[u8; 32], now: u32) -> Result<Box<SessionImpl>>;
        fn session_initiator_with_entropy(
            authority_public_key: &[u8; 32],
            entropy: &[u8; 32],
            now: u32,
        ) -> Result<Box<SessionImpl>>;
        fn session_responder(credentials: &ServerCredentials) -> Result<Box<SessionImpl>>;
        fn session_responder_with_entropy(
            credentials: &ServerCredentials,
            entropy: &[u8; 32],
        ) -> Result<Box<SessionImpl>>;
        fn session_plaintext() -> Box<SessionImpl>;
        fn set_max_payload(self: &mut SessionImpl, max: usize);
        fn is_established(self: &SessionImpl) -> bool;
        fn handshake_hash(self: &SessionImpl, out: &mut [u8; 32]) -> bool;
        fn handshake_info(self: &SessionImpl, out: &mut HandshakeInfo) -> bool;
        fn receive(self: &mut SessionImpl, bytes: &[u8]) -> Result<()>;
        fn next_frame(self: &mut SessionImpl) -> Result<bool>;
        fn frame_header(self: &SessionImpl) -> FrameHeader;
        fn frame_payload(self: &SessionImpl) -> &[u8];
        fn send_encoded(self: &mut SessionImpl, frame: &[u8]) -> Result<()>;
        fn send_frame(self: &mut SessionImpl, header: &FrameHeader, payload: &[u8]) -> Result<()>;
        fn pending_output(self: &SessionImpl) -> &[u8];
        fn consume_output(self: &mut SessionImpl, n: usize);

        // The plaintext frame decoder.
        fn frame_decoder_new(max_payload: usize) -> Box<FrameDecoderImpl>;
        fn push(self: &mut FrameDecoderImpl, bytes: &[u8]);
        fn buffered(self: &FrameDecoderImpl) -> usize;
        fn next_frame(self: &mut FrameDecoderImpl) -> Result<bool>;
        fn frame_header(self: &FrameDecoderImpl) -> FrameHeader;
        fn frame_payload(self: &FrameDecoderImpl) -> &[u8];

        // Mining client channels and hashing.
        fn client_channel_standard(
            channel_id: u32,
            target: &[u8; 32],
            extranonce_prefix: &[u8],
            allow_version_rolling: bool,
        ) -> Box<ClientChannelImpl>;
        fn client_channel_extended(
            channel_id: u32,
            target: &[u8; 32],
            extranonce_prefix: &[u8],
            extranonce_size: u16,
        ) -> Box<ClientChannelImpl>;
        fn channel_id(self: &ClientChannelImpl) -> u32;
        fn extranonce_size(self: &ClientChannelImpl) -> usize;
        fn target(self: &ClientChannelImpl) -> [u8; 32];
        fn on_new_mining_job(self: &mut ClientChannelImpl, m: &NewMiningJob);
        fn on_new_extended_job(self: &mut ClientChannelImpl, m: &NewExtendedMiningJob) -> Result<()>;
        fn on_set_new_prev_hash(self: &mut ClientChannelImpl, m: &SetNewPrevHash);
        fn on_set_target(self: &mut ClientChannelImpl, m: &SetTarget);
        fn on_set_extranonce_prefix(self: &mut ClientChannelImpl, m: &SetExtranoncePrefix);
        fn on_set_group_channel(self: &mut ClientChannelImpl, m: &SetGroupChannel) -> bool;
        fn set_group_channel_id(self: &mut ClientChannelImpl, group_channel_id: u32);
        fn group_channel_id(self: &ClientChannelImpl, out: &mut u32) -> bool;
        fn is_addressed_by(self: &ClientChannelImpl, id: u32) -> bool;
        fn work(self: &ClientChannelImpl, extranonce: &[u8], out: &mut Work) -> Result<bool>;
        fn submit_standard(
            self: &ClientChannelImpl,
            work: &Work,
            sequence_number: u32,
            nonce: u32,
            ntime: u32,
            version: u32,
        ) -> SubmitSharesStandard;
        fn submit_extended(
            self: &ClientChannelImpl,
            work: &Work,
            sequence_number: u32,
            nonce: u32,
            ntime: u32,
            version: u32,
        ) -> Result<SubmitSharesExtended>;
        fn sha256d(data: &[u8]) -> [u8; 32];
        fn header_hash(work: &Work, version: u32, ntime: u32, nonce: u32) -> [u8; 32];
        fn hash_meets_target(hash: &[u8; 32], target: &[u8; 32]) -> bool;
        fn target_from_nbits(nbits: u32) -> [u8; 32];

        // The pool side: jobs from templates, extranonce prefixes, server and group channels.
        fn job_factory_new(
            payout_script: &[u8],
            pool_tag: &[u8],
            extranonce_len: usize,
            version_rolling: bool,
        ) -> Result<Box<JobFactoryImpl>>;
        fn coinbase_output_constraints(self: &JobFactoryImpl) -> CoinbaseOutputConstraints;
        fn on_new_template(self: &mut JobFactoryImpl, m: &NewTemplate) -> Result<TemplateJob>;
        fn on_set_new_prev_hash(self: &mut JobFactoryImpl, m: &SetNewPrevHashTdp) -> Result<TemplateJob>;
        fn jobs(self: &JobFactoryImpl) -> Vec<TemplateJob>;
        fn target_for_hashrate(hashrate: f64, shares_per_minute: f64, max_target: &[u8; 32]) -> Result<[u8; 32]>;

        fn server_channel_new(params: &ServerChannelParams, now: u64) -> Result<Box<ServerChannelImpl>>;
        fn channel_id(self: &ServerChannelImpl) -> u32;
        fn target(self: &ServerChannelImpl) -> [u8; 32];
        fn open_success(
            self: &ServerChannelImpl,
            request_id: u32,
            group_channel_id: u32,
            out: &mut ChannelMessages,
        ) -> Result<()>;
        fn add_job(
            self: &mut ServerChannelImpl,
            factory: &JobFactoryImpl,
            job_id: u32,
            min_ntime: OptionU32,
            out: &mut ChannelMessages,
        ) -> Result<()>;
        fn activate(self: &mut ServerChannelImpl, factory: &JobFactoryImpl) -> Result<SetNewPrevHash>;
        fn validate_standard(self: &mut ServerChannelImpl, m: &SubmitSharesStandard, now: u32) -> Result<ShareVerdict>;
        fn validate_extended(self: &mut ServerChannelImpl, m: &SubmitSharesExtended, now: u32) -> Result<ShareVerdict>;
        fn take_success(self: &mut ServerChannelImpl, out: &mut SubmitSharesSuccess) -> bool;
        fn set_target(self: &mut ServerChannelImpl, target: &[u8; 32]) -> SetTarget;
        fn update(self: &mut ServerChannelImpl, m: &UpdateChannel, now: u64, out: &mut ChannelMessages) -> Result<()>;
        fn retarget(self: &mut ServerChannelImpl, now: u64, out: &mut SetTarget) -> bool;

        fn group_channel_new(group_id: u32, requires_standard_jobs: bool) -> Box<GroupChannelImpl>;
        fn group_id(self: &GroupChannelImpl) -> u32;
        fn size(self: &GroupChannelImpl) -> usize;
        fn can_add(self: &GroupChannelImpl, channel_id: u32) -> bool;
        fn add(self: &mut GroupChannelImpl, channel: Box<ServerChannelImpl>) -> Result<()>;
        fn remove(self: &mut GroupChannelImpl, channel_id: u32) -> Result<Box<ServerChannelImpl>>;
        fn add_job(
            self: &mut GroupChannelImpl,
            factory: &JobFactoryImpl,
            job_id: u32,
            min_ntime: OptionU32,
            out: &mut ChannelMessages,
        ) -> Result<()>;
        fn activate(self: &mut GroupChannelImpl, factory: &JobFactoryImpl) -> Result<Vec<SetNewPrevHash>>;
        fn set_target(self: &mut GroupChannelImpl, target: &[u8; 32]) -> SetTarget;
        fn validate_standard(self: &mut GroupChannelImpl, m: &SubmitSharesStandard, now: u32) -> Result<ShareVerdict>;
        fn validate_extended(self: &mut GroupChannelImpl, m: &SubmitSharesExtended, now: u32) -> Result<ShareVerdict>;
        fn take_successes(self: &mut GroupChannelImpl) -> Vec<SubmitSharesSuccess>;
        fn update(self: &mut GroupChannelImpl, m: &UpdateChannel, now: u64, out: &mut ChannelMessages) -> Result<()>;
        fn retarget(self: &mut GroupChannelImpl, now: u64) -> Vec<SetTarget>;

        // The Mining endpoints (the server endpoint itself is the C ABI's, see src/sv2.cpp).
        fn send_frames(self: &mut SessionImpl, frames: &[u8]) -> Result<()>;
        fn server_options_default() -> ServerOptions;
        fn client_endpoint_new(options: &ClientOptions) -> Result<Box<ClientEndpointImpl>>;
        fn setup_connection(self: &mut ClientEndpointImpl) -> Result<()>;
        fn open_standard(
            self: &mut ClientEndpointImpl,
            user_identity: &[u8],
            nominal_hash_rate: f32,
            max_target: &[u8; 32],
        ) -> Result<u32>;
        fn open_extended(
            self: &mut ClientEndpointImpl,
            user_identity: &[u8],
            nominal_hash_rate: f32,
            max_target: &[u8; 32],
            min_extranonce_size: u16,
        ) -> Result<u32>;
        fn update_channel(
            self: &mut ClientEndpointImpl,
            channel_id: u32,
            nominal_hash_rate: f32,
            max_target: &[u8; 32],
        ) -> Result<()>;
        fn close_channel(self: &mut ClientEndpointImpl, channel_id: u32, reason: &[u8]) -> Result<()>;
        fn request_extensions(self: &mut ClientEndpointImpl, extensions: &[u16]) -> Result<()>;
        fn submit(
            self: &mut ClientEndpointImpl,
            channel_id: u32,
            work: &Work,
            nonce: u32,
            ntime: u32,
            version: u32,
            tag: u64,
        ) -> Result<u32>;
        fn on_payload(
            self: &mut ClientEndpointImpl,
            extension_type: u16,
            msg_type: u8,
            payload: &[u8],
        ) -> Result<Vec<ClientEvent>>;
        fn work(self: &ClientEndpointImpl, channel_id: u32, extranonce: &[u8], out: &mut Work) -> Result<bool>;
        fn take_output(self: &mut ClientEndpointImpl) -> Vec<u8>;

        // Encode (whole frame, into `out`) and decode (payload into `out`, TLVs into `tlvs`)
        // of every message, overloaded on the message type.
        #[cxx_name = "encode"]
        fn encode_setup_connection(m: &SetupConnection, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_setup_connection(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetupConnection) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_setup_connection_success(m: &SetupConnectionSuccess, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_setup_connection_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut SetupConnectionSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_setup_connection_error(m: &SetupConnectionError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_setup_connection_error(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetupConnectionError) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_channel_endpoint_changed(m: &ChannelEndpointChanged, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_channel_endpoint_changed(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut ChannelEndpointChanged,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_reconnect(m: &Reconnect, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_reconnect(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut Reconnect) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_open_standard_mining_channel(
            m: &OpenStandardMiningChannel,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_open_standard_mining_channel(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut OpenStandardMiningChannel,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_open_standard_mining_channel_success(
            m: &OpenStandardMiningChannelSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_open_standard_mining_channel_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut OpenStandardMiningChannelSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_open_mining_channel_error(m: &OpenMiningChannelError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_open_mining_channel_error(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut OpenMiningChannelError,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_open_extended_mining_channel(
            m: &OpenExtendedMiningChannel,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_open_extended_mining_channel(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut OpenExtendedMiningChannel,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_open_extended_mining_channel_success(
            m: &OpenExtendedMiningChannelSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_open_extended_mining_channel_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut OpenExtendedMiningChannelSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_new_mining_job(m: &NewMiningJob, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_new_mining_job(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut NewMiningJob) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_update_channel(m: &UpdateChannel, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_update_channel(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut UpdateChannel) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_update_channel_error(m: &UpdateChannelError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_update_channel_error(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut UpdateChannelError) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_close_channel(m: &CloseChannel, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_close_channel(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut CloseChannel) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_extranonce_prefix(m: &SetExtranoncePrefix, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_extranonce_prefix(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetExtranoncePrefix) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_submit_shares_standard(m: &SubmitSharesStandard, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_submit_shares_standard(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SubmitSharesStandard) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_submit_shares_extended(m: &SubmitSharesExtended, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_submit_shares_extended(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SubmitSharesExtended) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_submit_shares_success(m: &SubmitSharesSuccess, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_submit_shares_success(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SubmitSharesSuccess) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_submit_shares_error(m: &SubmitSharesError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_submit_shares_error(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SubmitSharesError) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_new_extended_mining_job(m: &NewExtendedMiningJob, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_new_extended_mining_job(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut NewExtendedMiningJob) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_new_prev_hash(m: &SetNewPrevHash, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_new_prev_hash(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetNewPrevHash) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_target(m: &SetTarget, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_target(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetTarget) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_custom_mining_job(m: &SetCustomMiningJob, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_custom_mining_job(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetCustomMiningJob) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_custom_mining_job_success(
            m: &SetCustomMiningJobSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_custom_mining_job_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut SetCustomMiningJobSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_custom_mining_job_error(
            m: &SetCustomMiningJobError,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_custom_mining_job_error(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut SetCustomMiningJobError,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_group_channel(m: &SetGroupChannel, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_group_channel(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetGroupChannel) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_allocate_mining_job_token(m: &AllocateMiningJobToken, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_allocate_mining_job_token(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut AllocateMiningJobToken,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_allocate_mining_job_token_success(
            m: &AllocateMiningJobTokenSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_allocate_mining_job_token_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut AllocateMiningJobTokenSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_provide_missing_transactions(
            m: &ProvideMissingTransactions,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_provide_missing_transactions(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut ProvideMissingTransactions,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_provide_missing_transactions_success(
            m: &ProvideMissingTransactionsSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_provide_missing_transactions_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut ProvideMissingTransactionsSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_declare_mining_job(m: &DeclareMiningJob, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_declare_mining_job(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut DeclareMiningJob) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_declare_mining_job_success(
            m: &DeclareMiningJobSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_declare_mining_job_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut DeclareMiningJobSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_declare_mining_job_error(m: &DeclareMiningJobError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_declare_mining_job_error(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut DeclareMiningJobError,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_push_solution(m: &PushSolution, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_push_solution(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut PushSolution) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_coinbase_output_constraints(
            m: &CoinbaseOutputConstraints,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_coinbase_output_constraints(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut CoinbaseOutputConstraints,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_new_template(m: &NewTemplate, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_new_template(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut NewTemplate) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_set_new_prev_hash_tdp(m: &SetNewPrevHashTdp, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_set_new_prev_hash_tdp(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SetNewPrevHashTdp) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_transaction_data(m: &RequestTransactionData, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_transaction_data(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut RequestTransactionData,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_transaction_data_success(
            m: &RequestTransactionDataSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_transaction_data_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut RequestTransactionDataSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_transaction_data_error(
            m: &RequestTransactionDataError,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_transaction_data_error(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut RequestTransactionDataError,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_submit_solution(m: &SubmitSolution, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_submit_solution(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut SubmitSolution) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_extensions(m: &RequestExtensions, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_extensions(p: &[u8], tlvs: &mut Vec<Tlv>, out: &mut RequestExtensions) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_extensions_success(
            m: &RequestExtensionsSuccess,
            tlvs: &[Tlv],
            out: &mut Vec<u8>,
        ) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_extensions_success(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut RequestExtensionsSuccess,
        ) -> Result<()>;
        #[cxx_name = "encode"]
        fn encode_request_extensions_error(m: &RequestExtensionsError, tlvs: &[Tlv], out: &mut Vec<u8>) -> Result<()>;
        #[cxx_name = "decode"]
        fn decode_request_extensions_error(
            p: &[u8],
            tlvs: &mut Vec<Tlv>,
            out: &mut RequestExtensionsError,
        ) -> Result<()>;
    }
}
