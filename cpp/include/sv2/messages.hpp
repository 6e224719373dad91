// sv2/messages.hpp — every Stratum V2 message as a plain C++ struct, and sv2::Message, a
// std::variant of all of them. Included by sv2/sv2.hpp.
//
// Records. Messages and the other value types of the API are aggregates of standard types,
// value-initialized by default (`sv2::NewTemplate t;` starts all zero and empty):
//   - integers and bool as themselves, U256 and 32-byte hashes as sv2::Bytes32 (std::array);
//   - STR0_255 fields as std::string holding the raw bytes of the wire, which need not be
//     UTF-8: nothing is converted or replaced either way;
//   - B0_32, B0_255, B0_64K and B0_16M fields as std::vector<std::uint8_t>;
//   - OPTION[U32] as std::optional<std::uint32_t>, SEQ0_255[U256] (merkle paths, wtxids) as
//     std::vector<sv2::Bytes32>, SEQ0_64K[B0_16M] (transactions) as
//     std::vector<std::vector<std::uint8_t>>, other sequences as std::vector of the integer.
// Each record's static `field_count` says how many fields it has; the library converts records
// field by field in declaration (wire) order, and operator== compares them that way.
#ifndef SV2_MESSAGES_HPP
#define SV2_MESSAGES_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

namespace sv2 {

/// 32 bytes: keys, hashes, targets (little-endian 256-bit integers).
using Bytes32 = std::array<std::uint8_t, 32>;

/// Every message, in the order of the alternatives of sv2::Message (the value is the
/// variant index).
enum class MessageType : std::uint8_t {
    SetupConnection,                   ///< Common 0x00.
    SetupConnectionSuccess,            ///< Common 0x01.
    SetupConnectionError,              ///< Common 0x02.
    ChannelEndpointChanged,            ///< Common 0x03.
    Reconnect,                         ///< Common 0x04.
    OpenStandardMiningChannel,         ///< Mining 0x10.
    OpenStandardMiningChannelSuccess,  ///< Mining 0x11.
    OpenMiningChannelError,            ///< Mining 0x12.
    OpenExtendedMiningChannel,         ///< Mining 0x13.
    OpenExtendedMiningChannelSuccess,  ///< Mining 0x14.
    NewMiningJob,                      ///< Mining 0x15.
    UpdateChannel,                     ///< Mining 0x16.
    UpdateChannelError,                ///< Mining 0x17.
    CloseChannel,                      ///< Mining 0x18.
    SetExtranoncePrefix,               ///< Mining 0x19.
    SubmitSharesStandard,              ///< Mining 0x1a.
    SubmitSharesExtended,              ///< Mining 0x1b.
    SubmitSharesSuccess,               ///< Mining 0x1c.
    SubmitSharesError,                 ///< Mining 0x1d.
    NewExtendedMiningJob,              ///< Mining 0x1f.
    SetNewPrevHash,                    ///< Mining 0x20.
    SetTarget,                         ///< Mining 0x21.
    SetCustomMiningJob,                ///< Mining 0x22.
    SetCustomMiningJobSuccess,         ///< Mining 0x23.
    SetCustomMiningJobError,           ///< Mining 0x24.
    SetGroupChannel,                   ///< Mining 0x25.
    AllocateMiningJobToken,            ///< Job Declaration 0x50.
    AllocateMiningJobTokenSuccess,     ///< Job Declaration 0x51.
    ProvideMissingTransactions,        ///< Job Declaration 0x55.
    ProvideMissingTransactionsSuccess, ///< Job Declaration 0x56.
    DeclareMiningJob,                  ///< Job Declaration 0x57.
    DeclareMiningJobSuccess,           ///< Job Declaration 0x58.
    DeclareMiningJobError,             ///< Job Declaration 0x59.
    PushSolution,                      ///< Job Declaration 0x60.
    CoinbaseOutputConstraints,         ///< Template Distribution 0x70.
    NewTemplate,                       ///< Template Distribution 0x71.
    SetNewPrevHashTdp,                 ///< Template Distribution 0x72.
    RequestTransactionData,            ///< Template Distribution 0x73.
    RequestTransactionDataSuccess,     ///< Template Distribution 0x74.
    RequestTransactionDataError,       ///< Template Distribution 0x75.
    SubmitSolution,                    ///< Template Distribution 0x76.
    RequestExtensions,                 ///< Extensions Negotiation (0x0001) 0x00.
    RequestExtensionsSuccess,          ///< Extensions Negotiation (0x0001) 0x01.
    RequestExtensionsError,            ///< Extensions Negotiation (0x0001) 0x02.
};

namespace detail {

/// Whether T is one of the library's records (it has a static field_count).
template <class T, class = void> struct is_record : std::false_type {};
template <class T> struct is_record<T, std::void_t<decltype(T::field_count)>> : std::true_type {};

/// The N fields of aggregate `r` as a tuple of references, in declaration order (a
/// compile-time error when `r` has another number of fields).
template <std::size_t N, class T> auto fields_of(T &r) noexcept {
    static_assert(N >= 1 && N <= 13, "records have 1 to 13 fields");
    if constexpr (N == 1) {
        auto &[a] = r;
        return std::tie(a);
    } else if constexpr (N == 2) {
        auto &[a, b] = r;
        return std::tie(a, b);
    } else if constexpr (N == 3) {
        auto &[a, b, c] = r;
        return std::tie(a, b, c);
    } else if constexpr (N == 4) {
        auto &[a, b, c, d] = r;
        return std::tie(a, b, c, d);
    } else if constexpr (N == 5) {
        auto &[a, b, c, d, e] = r;
        return std::tie(a, b, c, d, e);
    } else if constexpr (N == 6) {
        auto &[a, b, c, d, e, f] = r;
        return std::tie(a, b, c, d, e, f);
    } else if constexpr (N == 7) {
        auto &[a, b, c, d, e, f, g] = r;
        return std::tie(a, b, c, d, e, f, g);
    } else if constexpr (N == 8) {
        auto &[a, b, c, d, e, f, g, h] = r;
        return std::tie(a, b, c, d, e, f, g, h);
    } else if constexpr (N == 9) {
        auto &[a, b, c, d, e, f, g, h, i] = r;
        return std::tie(a, b, c, d, e, f, g, h, i);
    } else if constexpr (N == 10) {
        auto &[a, b, c, d, e, f, g, h, i, j] = r;
        return std::tie(a, b, c, d, e, f, g, h, i, j);
    } else if constexpr (N == 11) {
        auto &[a, b, c, d, e, f, g, h, i, j, k] = r;
        return std::tie(a, b, c, d, e, f, g, h, i, j, k);
    } else if constexpr (N == 12) {
        auto &[a, b, c, d, e, f, g, h, i, j, k, l] = r;
        return std::tie(a, b, c, d, e, f, g, h, i, j, k, l);
    } else if constexpr (N == 13) {
        auto &[a, b, c, d, e, f, g, h, i, j, k, l, m] = r;
        return std::tie(a, b, c, d, e, f, g, h, i, j, k, l, m);
    }
}

/// The fields of record `r` as a tuple of references.
template <class T> auto fields(T &r) noexcept { return fields_of<std::remove_const_t<T>::field_count>(r); }

} // namespace detail

/// Records are equal when every field is.
template <class T, class = std::enable_if_t<detail::is_record<T>::value>> bool operator==(const T &a, const T &b) {
    return detail::fields(a) == detail::fields(b);
}

/// Records differ when any field does.
template <class T, class = std::enable_if_t<detail::is_record<T>::value>> bool operator!=(const T &a, const T &b) {
    return !(a == b);
}

// ---- Frames ----

/// Where a message type sits on the wire.
struct MessageSpec {
    /// Extension id (0 for the core sub-protocols).
    std::uint16_t extension_type{};
    /// Message id.
    std::uint8_t msg_type{};
    /// Whether the channel_msg bit is set (the payload starts with a channel id).
    bool channel_msg{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// A frame header, with the channel_msg bit split out of `extension_type`.
struct FrameHeader {
    /// Extension id, without the channel_msg bit.
    std::uint16_t extension_type{};
    /// Message id.
    std::uint8_t msg_type{};
    /// Whether the channel_msg bit is set.
    bool channel_msg{};
    /// Payload length in bytes.
    std::uint32_t msg_length{};
    static constexpr std::size_t field_count = 4; ///< How many fields (see "Records").
};

/// One TLV record after a message's fields (extensions such as 0x0002 add them).
struct Tlv {
    /// The negotiated extension that defines the field.
    std::uint16_t extension_type{};
    /// Field number within that extension.
    std::uint8_t field_type{};
    /// The value (at most 65 535 bytes).
    std::vector<std::uint8_t> value{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

// ---- Common messages ----

/// The client's first message on every connection.
struct SetupConnection {
    /// 0 Mining, 1 Job Declaration, 2 Template Distribution.
    std::uint8_t protocol{};
    /// Lowest supported version (2).
    std::uint16_t min_version{};
    /// Highest supported version (2).
    std::uint16_t max_version{};
    /// Sub-protocol specific flags.
    std::uint32_t flags{};
    /// Host the client dialled.
    std::string endpoint_host{};
    /// Port the client dialled.
    std::uint16_t endpoint_port{};
    /// Device vendor and firmware.
    std::string vendor{};
    /// Hardware version.
    std::string hardware_version{};
    /// Firmware version.
    std::string firmware{};
    /// Device identifier.
    std::string device_id{};
    static constexpr std::size_t field_count = 10; ///< How many fields (see "Records").
};

/// The server accepts the connection.
struct SetupConnectionSuccess {
    /// Version chosen from the client's range.
    std::uint16_t used_version{};
    /// Server flags.
    std::uint32_t flags{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The server refuses the connection.
struct SetupConnectionError {
    /// Requested flags the server does not support.
    std::uint32_t flags{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A proxy moved the channel; reset its extension state.
struct ChannelEndpointChanged {
    /// The channel.
    std::uint32_t channel_id{};
    static constexpr std::size_t field_count = 1; ///< How many fields (see "Records").
};

/// Reconnect to another endpoint of the same pool.
struct Reconnect {
    /// New host (empty: the same).
    std::string new_host{};
    /// New port (0: the same).
    std::uint16_t new_port{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

// ---- Mining Protocol ----

/// Opens a standard (header-only) channel.
struct OpenStandardMiningChannel {
    /// Client-chosen id, echoed in the reply.
    std::uint32_t request_id{};
    /// User and worker the channel mines for.
    std::string user_identity{};
    /// Expected hashrate in h/s.
    float nominal_hash_rate{};
    /// Easiest target the device accepts.
    Bytes32 max_target{};
    static constexpr std::size_t field_count = 4; ///< How many fields (see "Records").
};

/// The standard channel is open.
struct OpenStandardMiningChannelSuccess {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// The new channel.
    std::uint32_t channel_id{};
    /// Initial share target.
    Bytes32 target{};
    /// The channel's extranonce prefix (at most 32 bytes).
    std::vector<std::uint8_t> extranonce_prefix{};
    /// The group the channel belongs to.
    std::uint32_t group_channel_id{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

/// A channel could not be opened.
struct OpenMiningChannelError {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// Opens an extended channel.
struct OpenExtendedMiningChannel {
    /// Client-chosen id, echoed in the reply.
    std::uint32_t request_id{};
    /// User and worker the channel mines for.
    std::string user_identity{};
    /// Expected hashrate in h/s.
    float nominal_hash_rate{};
    /// Easiest target the client accepts.
    Bytes32 max_target{};
    /// Fewest extranonce bytes the client needs to roll.
    std::uint16_t min_extranonce_size{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

/// The extended channel is open.
struct OpenExtendedMiningChannelSuccess {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// The new channel.
    std::uint32_t channel_id{};
    /// Initial share target.
    Bytes32 target{};
    /// Bytes the client rolls.
    std::uint16_t extranonce_size{};
    /// The channel's extranonce prefix (at most 32 bytes).
    std::vector<std::uint8_t> extranonce_prefix{};
    /// The group the channel belongs to.
    std::uint32_t group_channel_id{};
    static constexpr std::size_t field_count = 6; ///< How many fields (see "Records").
};

/// A job for a standard channel.
struct NewMiningJob {
    /// The channel.
    std::uint32_t channel_id{};
    /// Job id.
    std::uint32_t job_id{};
    /// None: a future job; a value: active now with this first nTime.
    std::optional<std::uint32_t> min_ntime{};
    /// Block header version.
    std::uint32_t version{};
    /// Merkle root for the header.
    Bytes32 merkle_root{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

/// The client reports a new hashrate or maximum target.
struct UpdateChannel {
    /// The channel.
    std::uint32_t channel_id{};
    /// Expected hashrate in h/s.
    float nominal_hash_rate{};
    /// Easiest target the client accepts.
    Bytes32 maximum_target{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// UpdateChannel was invalid.
struct UpdateChannelError {
    /// The channel.
    std::uint32_t channel_id{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// Closes a channel.
struct CloseChannel {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// Printable reason.
    std::string reason_code{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// Replaces the channel's extranonce prefix.
struct SetExtranoncePrefix {
    /// The channel.
    std::uint32_t channel_id{};
    /// New prefix (at most 32 bytes).
    std::vector<std::uint8_t> extranonce_prefix{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A share on a standard channel.
struct SubmitSharesStandard {
    /// The channel.
    std::uint32_t channel_id{};
    /// Client-side sequence number.
    std::uint32_t sequence_number{};
    /// The job.
    std::uint32_t job_id{};
    /// Header nonce.
    std::uint32_t nonce{};
    /// Header nTime.
    std::uint32_t ntime{};
    /// Header version.
    std::uint32_t version{};
    static constexpr std::size_t field_count = 6; ///< How many fields (see "Records").
};

/// A share on an extended channel.
struct SubmitSharesExtended {
    /// The channel.
    std::uint32_t channel_id{};
    /// Client-side sequence number.
    std::uint32_t sequence_number{};
    /// The job.
    std::uint32_t job_id{};
    /// Header nonce.
    std::uint32_t nonce{};
    /// Header nTime.
    std::uint32_t ntime{};
    /// Header version.
    std::uint32_t version{};
    /// The rolled extranonce (at most 32 bytes).
    std::vector<std::uint8_t> extranonce{};
    static constexpr std::size_t field_count = 7; ///< How many fields (see "Records").
};

/// Acknowledges accepted shares.
struct SubmitSharesSuccess {
    /// The channel.
    std::uint32_t channel_id{};
    /// Last sequence number acknowledged.
    std::uint32_t last_sequence_number{};
    /// Shares accepted in this batch.
    std::uint32_t new_submits_accepted_count{};
    /// Sum of their difficulties.
    std::uint64_t new_shares_sum{};
    static constexpr std::size_t field_count = 4; ///< How many fields (see "Records").
};

/// Rejects one share.
struct SubmitSharesError {
    /// The channel.
    std::uint32_t channel_id{};
    /// Sequence number of the rejected share.
    std::uint32_t sequence_number{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// A job for extended and group channels.
struct NewExtendedMiningJob {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// Job id.
    std::uint32_t job_id{};
    /// None: a future job; a value: active now with this first nTime.
    std::optional<std::uint32_t> min_ntime{};
    /// Block header version.
    std::uint32_t version{};
    /// Whether the version bits may be rolled.
    bool version_rolling_allowed{};
    /// Merkle path, leaf level first (at most 255).
    std::vector<Bytes32> merkle_path{};
    /// Coinbase bytes before the extranonce (at most 65 535).
    std::vector<std::uint8_t> coinbase_tx_prefix{};
    /// Coinbase bytes after the extranonce (at most 65 535).
    std::vector<std::uint8_t> coinbase_tx_suffix{};
    static constexpr std::size_t field_count = 8; ///< How many fields (see "Records").
};

/// Activates a job on a new previous block hash.
struct SetNewPrevHash {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// The job to mine now.
    std::uint32_t job_id{};
    /// Previous block hash.
    Bytes32 prev_hash{};
    /// Smallest nTime allowed.
    std::uint32_t min_ntime{};
    /// Network target, compact form.
    std::uint32_t nbits{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

/// New share target.
struct SetTarget {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// New target.
    Bytes32 maximum_target{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A job chosen by the client.
struct SetCustomMiningJob {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// Client-chosen id, echoed in the reply.
    std::uint32_t request_id{};
    /// Token from the job declarator (at most 255 bytes).
    std::vector<std::uint8_t> mining_job_token{};
    /// Block header version.
    std::uint32_t version{};
    /// Previous block hash.
    Bytes32 prev_hash{};
    /// Smallest nTime allowed.
    std::uint32_t min_ntime{};
    /// Network target, compact form.
    std::uint32_t nbits{};
    /// Coinbase transaction version.
    std::uint32_t coinbase_tx_version{};
    /// Start of the coinbase scriptSig (at most 255 bytes).
    std::vector<std::uint8_t> coinbase_prefix{};
    /// Coinbase input nSequence.
    std::uint32_t coinbase_tx_input_nsequence{};
    /// CompactSize count and serialized outputs (at most 65 535 bytes).
    std::vector<std::uint8_t> coinbase_tx_outputs{};
    /// Coinbase lock time.
    std::uint32_t coinbase_tx_locktime{};
    /// Merkle path, leaf level first (at most 255).
    std::vector<Bytes32> merkle_path{};
    static constexpr std::size_t field_count = 13; ///< How many fields (see "Records").
};

/// The pool accepts the custom job.
struct SetCustomMiningJobSuccess {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// Echoed request id.
    std::uint32_t request_id{};
    /// Job id for shares on this job.
    std::uint32_t job_id{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// The pool rejects the custom job.
struct SetCustomMiningJobError {
    /// The channel or group.
    std::uint32_t channel_id{};
    /// Echoed request id.
    std::uint32_t request_id{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// Puts channels into a group.
struct SetGroupChannel {
    /// The group.
    std::uint32_t group_channel_id{};
    /// Its member channels (at most 65 535).
    std::vector<std::uint32_t> channel_ids{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

// ---- Job Declaration Protocol ----

/// The JDC asks for a token.
struct AllocateMiningJobToken {
    /// User the job is for.
    std::string user_identifier{};
    /// Client-chosen id.
    std::uint32_t request_id{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A token and the pool's coinbase outputs.
struct AllocateMiningJobTokenSuccess {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// The token (at most 255 bytes).
    std::vector<std::uint8_t> mining_job_token{};
    /// CompactSize count and the pool's outputs (at most 65 535 bytes).
    std::vector<std::uint8_t> coinbase_tx_outputs{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// The JDS needs these transactions of the declared job.
struct ProvideMissingTransactions {
    /// The DeclareMiningJob's request id.
    std::uint32_t request_id{};
    /// Positions in its wtxid list (at most 65 535).
    std::vector<std::uint16_t> unknown_tx_position_list{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The requested transactions.
struct ProvideMissingTransactionsSuccess {
    /// The DeclareMiningJob's request id.
    std::uint32_t request_id{};
    /// Serialized transactions (at most 65 535).
    std::vector<std::vector<std::uint8_t>> transaction_list{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The JDC declares the job it wants to mine.
struct DeclareMiningJob {
    /// Client-chosen id.
    std::uint32_t request_id{};
    /// Token from AllocateMiningJobToken.Success (at most 255 bytes).
    std::vector<std::uint8_t> mining_job_token{};
    /// Block header version.
    std::uint32_t version{};
    /// Coinbase bytes before the extranonce (at most 65 535).
    std::vector<std::uint8_t> coinbase_tx_prefix{};
    /// Coinbase bytes after the extranonce (at most 65 535).
    std::vector<std::uint8_t> coinbase_tx_suffix{};
    /// wtxids of every non-coinbase transaction (at most 65 535).
    std::vector<Bytes32> wtxid_list{};
    /// Opaque data from the template provider (at most 65 535 bytes).
    std::vector<std::uint8_t> excess_data{};
    static constexpr std::size_t field_count = 7; ///< How many fields (see "Records").
};

/// The job is accepted.
struct DeclareMiningJobSuccess {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// Token for SetCustomMiningJob (at most 255 bytes).
    std::vector<std::uint8_t> new_mining_job_token{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The job is rejected.
struct DeclareMiningJobError {
    /// Echoed request id.
    std::uint32_t request_id{};
    /// Printable error code.
    std::string error_code{};
    /// Details (at most 65 535 bytes).
    std::vector<std::uint8_t> error_details{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// A block was found on the declared job.
struct PushSolution {
    /// Full extranonce (at most 32 bytes).
    std::vector<std::uint8_t> extranonce{};
    /// Previous block hash.
    Bytes32 prev_hash{};
    /// Header nonce.
    std::uint32_t nonce{};
    /// Header nTime.
    std::uint32_t ntime{};
    /// Network target, compact form.
    std::uint32_t nbits{};
    /// Header version.
    std::uint32_t version{};
    static constexpr std::size_t field_count = 6; ///< How many fields (see "Records").
};

// ---- Template Distribution Protocol ----

/// Room the client needs in the coinbase for its outputs.
struct CoinbaseOutputConstraints {
    /// Serialized bytes of outputs the client adds.
    std::uint32_t coinbase_output_max_additional_size{};
    /// Sigops of outputs the client adds.
    std::uint16_t coinbase_output_max_additional_sigops{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A block template.
struct NewTemplate {
    /// Strictly increasing id.
    std::uint64_t template_id{};
    /// True: for the next block, activated by a later SetNewPrevHash.
    bool future_template{};
    /// Block header version.
    std::uint32_t version{};
    /// Coinbase transaction version.
    std::uint32_t coinbase_tx_version{};
    /// Start of the coinbase scriptSig (at most 255 bytes).
    std::vector<std::uint8_t> coinbase_prefix{};
    /// Coinbase input nSequence.
    std::uint32_t coinbase_tx_input_sequence{};
    /// Satoshis available to the client's outputs.
    std::uint64_t coinbase_tx_value_remaining{};
    /// Number of outputs in coinbase_tx_outputs.
    std::uint32_t coinbase_tx_outputs_count{};
    /// Serialized outputs that end the coinbase (at most 65 535 bytes).
    std::vector<std::uint8_t> coinbase_tx_outputs{};
    /// Coinbase lock time.
    std::uint32_t coinbase_tx_locktime{};
    /// Merkle path, leaf level first (at most 255).
    std::vector<Bytes32> merkle_path{};
    static constexpr std::size_t field_count = 11; ///< How many fields (see "Records").
};

/// A new tip and the template to mine on it.
struct SetNewPrevHashTdp {
    /// A future template built for this tip.
    std::uint64_t template_id{};
    /// New previous block hash.
    Bytes32 prev_hash{};
    /// Suggested nTime.
    std::uint32_t header_timestamp{};
    /// Network target, compact form.
    std::uint32_t nbits{};
    /// Solution target.
    Bytes32 target{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

/// Asks for the template's transactions.
struct RequestTransactionData {
    /// The template.
    std::uint64_t template_id{};
    static constexpr std::size_t field_count = 1; ///< How many fields (see "Records").
};

/// The template's transactions.
struct RequestTransactionDataSuccess {
    /// The template.
    std::uint64_t template_id{};
    /// Opaque extra data (at most 65 535 bytes).
    std::vector<std::uint8_t> excess_data{};
    /// Every non-coinbase transaction (at most 65 535).
    std::vector<std::vector<std::uint8_t>> transaction_list{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// Transactions are not available.
struct RequestTransactionDataError {
    /// The template.
    std::uint64_t template_id{};
    /// Printable error code.
    std::string error_code{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// A block solution on a template.
struct SubmitSolution {
    /// The template.
    std::uint64_t template_id{};
    /// Header version.
    std::uint32_t version{};
    /// Header nTime.
    std::uint32_t header_timestamp{};
    /// Header nonce.
    std::uint32_t header_nonce{};
    /// Full serialized coinbase (at most 65 535 bytes).
    std::vector<std::uint8_t> coinbase_tx{};
    static constexpr std::size_t field_count = 5; ///< How many fields (see "Records").
};

// ---- Extension 0x0001, Extensions Negotiation ----

/// Asks for extensions.
struct RequestExtensions {
    /// Client-chosen id.
    std::uint16_t request_id{};
    /// Extension ids wanted (at most 65 535).
    std::vector<std::uint16_t> requested_extensions{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The extensions both sides will use.
struct RequestExtensionsSuccess {
    /// Echoed request id.
    std::uint16_t request_id{};
    /// Extensions in use (at most 65 535).
    std::vector<std::uint16_t> supported_extensions{};
    static constexpr std::size_t field_count = 2; ///< How many fields (see "Records").
};

/// The server cannot use the requested extensions.
struct RequestExtensionsError {
    /// Echoed request id.
    std::uint16_t request_id{};
    /// Requested extensions not supported (at most 65 535).
    std::vector<std::uint16_t> unsupported_extensions{};
    /// Extensions the server requires (at most 65 535).
    std::vector<std::uint16_t> required_extensions{};
    static constexpr std::size_t field_count = 3; ///< How many fields (see "Records").
};

/// Any message. The alternatives are in the order of sv2::MessageType, so that
/// `static_cast<MessageType>(m.index())` names the one held.
using Message =
    std::variant<SetupConnection, SetupConnectionSuccess, SetupConnectionError, ChannelEndpointChanged, Reconnect,
                 OpenStandardMiningChannel, OpenStandardMiningChannelSuccess, OpenMiningChannelError,
                 OpenExtendedMiningChannel, OpenExtendedMiningChannelSuccess, NewMiningJob, UpdateChannel,
                 UpdateChannelError, CloseChannel, SetExtranoncePrefix, SubmitSharesStandard, SubmitSharesExtended,
                 SubmitSharesSuccess, SubmitSharesError, NewExtendedMiningJob, SetNewPrevHash, SetTarget,
                 SetCustomMiningJob, SetCustomMiningJobSuccess, SetCustomMiningJobError, SetGroupChannel,
                 AllocateMiningJobToken, AllocateMiningJobTokenSuccess, ProvideMissingTransactions,
                 ProvideMissingTransactionsSuccess, DeclareMiningJob, DeclareMiningJobSuccess, DeclareMiningJobError,
                 PushSolution, CoinbaseOutputConstraints, NewTemplate, SetNewPrevHashTdp, RequestTransactionData,
                 RequestTransactionDataSuccess, RequestTransactionDataError, SubmitSolution, RequestExtensions,
                 RequestExtensionsSuccess, RequestExtensionsError>;

static_assert(std::variant_size_v<Message> == static_cast<std::size_t>(MessageType::RequestExtensionsError) + 1,
              "sv2::Message has one alternative per sv2::MessageType, in order");

/// Which message `m` holds.
inline MessageType message_type(const Message &m) noexcept { return static_cast<MessageType>(m.index()); }

} // namespace sv2

#endif // SV2_MESSAGES_HPP
